/* kehu-admin reindex (docs/storage.md#derived-indexes): every derived
 * index emptied and rebuilt from the records, in one write transaction, so
 * readers see the old indexes until the new ones are whole. */
#include <string.h>

#include "store_internal.h"

int kehu_store_reindex(kehu_txn *t, kehu_reindex_counts *counts)
{
  kehu_store *st = t->st;
  const MDB_dbi derived[] = {
    st->cust_owner,  st->cust_stage, st->cust_extcode, st->cust_name,   st->child_parent,
    st->contract_number, st->contact_phone, st->rem_due, st->rem_user, st->rem_cust,
    st->rem_source,  st->search,     st->search_doc,   st->search_pend, st->cust_counts,
    st->cust_dormant, st->fu_time,     st->cust_churn,  st->cust_sort,
    st->contact_bday,
  };
  memset(counts, 0, sizeof *counts);
  for (size_t i = 0; i < sizeof derived / sizeof *derived; i++) {
    int rc = mdb_drop(t->txn, derived[i], 0);
    if (rc != 0)
      return kehu_store_status(rc);
  }
  counts->indexes = sizeof derived / sizeof *derived;
  /* search last, each customer once with its contacts */
  kehu_search_defer defer;
  kehu_store_search_defer(t, &defer);
  int rc = kehu_store_customers_reindex(t, &counts->customers);
  if (rc == KEHU_OK)
    rc = kehu_store_children_reindex(t, &counts->records);
  if (rc == KEHU_OK)
    rc = kehu_store_reminders_reindex(t, &counts->reminders);
  int frc = kehu_store_search_flush(t);
  return rc == KEHU_OK ? frc : rc;
}
