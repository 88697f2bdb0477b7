/* One page of customers: the reply of customer list, customer list --sort
 * and customer search alike (customers.c, customer_sort.c, search.c). */
#include "handlers.h"

void kehu_reply_customer_page(kehu_call *call, Kehu__Customer **items, size_t n,
                              const char *next_cursor)
{
  Kehu__CustomerPage pg = KEHU__CUSTOMER_PAGE__INIT;
  pg.items = items;
  pg.n_items = n;
  pg.next_cursor = (char *)next_cursor;
  Kehu__Response r = KEHU__RESPONSE__INIT;
  r.status = KEHU__STATUS__OK;
  r.result_case = KEHU__RESPONSE__RESULT_CUSTOMER_PAGE;
  r.customer_page = &pg;
  kehu_reply(call, &r);
}
