/* kehu import customers: a CSV or .xlsx file arriving in chunks
 * (docs/architecture.md#import). The import belongs to the client's
 * session between chunks, like an upload. Parsing runs on the thread pool
 * through the read gate; accepted rows are written through the writer in
 * batches, one transaction each, with the same checks, records, reminder
 * rules and audit entries as customer add and contact add. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "access.h"
#include "audit.h"
#include "buf.h"
#include "complete.h"
#include "handlers.h"
#include "writes.h"
#include "import_map.h"
#include "pool_work.h"
#include "records.h"
#include "sheet.h"
#include "validate.h"

/* Rows per write transaction: at most BATCH_ROWS, and no more rows once
 * [import] batch_ms (kehud.conf, default 1000) of the writer's time went
 * into them, checked every BATCH_CHECK rows (their search postings, written
 * at the end, take about as long again): other clients' writes wait behind
 * an import for about that long at most. Large batches matter at scale:
 * each commit rewrites every index page its rows touched, and the
 * keyed-hash indexes (phones, their tails) touch pages all over. Measured
 * with tools/kehu-bench/import.sh, 1,000,000 rows: 10,000 rows a batch
 * wrote 40 GiB and took 63 s; 40,000 wrote 9.7 GiB and took 53 s. */
#define BATCH_ROWS 40000
#define BATCH_CHECK 256
#define MAX_ERRORS 1000     /* errors kept in the result; all are counted */
#define MAX_CHUNK (1024 * 1024)

enum { DUP_SKIP, DUP_UPDATE, DUP_ERROR };

/* A row that passed validation, waiting for its batch: the customer and
 * its contact (if any) packed. */
typedef struct {
  uint32_t line;
  uint8_t *cust;
  size_t cust_len;
  uint8_t *contact;
  size_t contact_len;
  unsigned missing;      /* --incomplete accept: the complete fields it leaves empty */
} prepared_row;

typedef struct {
  uint32_t line;
  char *column;
  char *reason;
} row_error;

typedef struct {
  row_error *items;
  size_t n, cap;
} error_list;

typedef struct {
  uint32_t accepted, updated, duplicates, incomplete, rejected;
} import_counts;

typedef struct {
  char *username;
  char *display_name;
} known_user;

typedef struct kehu_import {
  kehu_server *srv;
  kehu_caller caller;
  int xlsx, dry_run, on_duplicate;
  int accept_incomplete;        /* --incomplete accept */
  kehu_csv *csv;
  kehu_buf bytes;               /* .xlsx: the whole file, read at the end */
  int have_header;
  kehu_import_header header;
  char **header_text;           /* the header cells as written */
  size_t n_header;
  known_user *users;            /* loaded at the first owner cell */
  size_t n_users;
  int users_loaded;
  prepared_row *rows;           /* validated, not yet written */
  size_t n_rows, cap_rows;
  import_counts counts;
  error_list errors;
  /* the chunk being handled */
  kehu_call *call;
  kehu_pool_work work;
  const uint8_t *data;
  size_t len;
  int last;
  kehu_txn *txn;                /* the pool's read transaction while parsing */
  int status;                   /* what ended the parse (not OK: the import fails) */
  kehu_error err;
  int audited;
} kehu_import;

static void rows_free_from(kehu_import *im, size_t from)
{
  for (size_t i = from; i < im->n_rows; i++) {
    free(im->rows[i].cust);
    free(im->rows[i].contact);
  }
  im->n_rows = from;
}

static void errors_free(error_list *l)
{
  for (size_t i = 0; i < l->n; i++) {
    free(l->items[i].column);
    free(l->items[i].reason);
  }
  free(l->items);
  memset(l, 0, sizeof *l);
}

static void import_free(void *arg)
{
  kehu_import *im = arg;
  if (!im)
    return;
  kehu_csv_free(im->csv);
  kehu_buf_free(&im->bytes);
  for (size_t i = 0; i < im->n_header; i++)
    free(im->header_text[i]);
  free(im->header_text);
  for (size_t i = 0; i < im->n_users; i++) {
    free(im->users[i].username);
    free(im->users[i].display_name);
  }
  free(im->users);
  rows_free_from(im, 0);
  free(im->rows);
  errors_free(&im->errors);
  free(im);
}

/* Counts a rejected row; keeps its error while fewer than MAX_ERRORS are kept. */
static void reject(import_counts *c, error_list *l, uint32_t line, const char *column,
                   const char *reason)
{
  c->rejected++;
  if (l->n >= MAX_ERRORS)
    return;
  if (l->n == l->cap) {
    size_t cap = l->cap ? l->cap * 2 : 16;
    row_error *items = realloc(l->items, cap * sizeof *items);
    if (!items)
      return;
    l->items = items;
    l->cap = cap;
  }
  row_error *e = &l->items[l->n];
  e->line = line;
  e->column = strdup(column ? column : "");
  e->reason = strdup(reason ? reason : "");
  if (e->column && e->reason)
    l->n++;
  else {
    free(e->column);
    free(e->reason);
  }
}

/* The column a field was read from, as written in the file ("" if none). */
static const char *column_of(const kehu_import *im, int field)
{
  int col = field >= 0 ? im->header.column[field] : -1;
  return col >= 0 && (size_t)col < im->n_header ? im->header_text[col] : "";
}

/* The import field a validation error's field means. */
static int field_of_error(const char *field, int contact)
{
  static const struct {
    const char *name;
    int field;
  } contact_fields[] = {
    {"name", KEHU_IMPORT_CONTACT_NAME},
    {"phones", KEHU_IMPORT_CONTACT_PHONE},
    {"phone", KEHU_IMPORT_CONTACT_PHONE},
    {"title", KEHU_IMPORT_CONTACT_TITLE},
    {"email", KEHU_IMPORT_CONTACT_EMAIL},
  };
  if (contact) {
    for (size_t i = 0; i < sizeof contact_fields / sizeof *contact_fields; i++)
      if (strcmp(field, contact_fields[i].name) == 0)
        return contact_fields[i].field;
    return -1;
  }
  return kehu_import_field_of(field);
}

static void collect_user(const Kehu__UserRecord *u, void *arg)
{
  kehu_import *im = arg;
  known_user *users = realloc(im->users, (im->n_users + 1) * sizeof *users);
  if (!users)
    return;
  im->users = users;
  users[im->n_users].username = strdup(u->username);
  users[im->n_users].display_name = u->display_name ? strdup(u->display_name) : NULL;
  if (users[im->n_users].username)
    im->n_users++;
  else
    free(users[im->n_users].display_name);
}

/* A 跟进人 cell: a username, or the display name of exactly one user. */
static const char *owner_of(kehu_import *im, const char *cell)
{
  if (!im->users_loaded) {
    im->users_loaded = 1;
    kehu_store_user_each(im->txn, collect_user, im);
  }
  for (size_t i = 0; i < im->n_users; i++)
    if (strcmp(im->users[i].username, cell) == 0)
      return im->users[i].username;
  const char *found = NULL;
  for (size_t i = 0; i < im->n_users; i++)
    if (im->users[i].display_name && strcmp(im->users[i].display_name, cell) == 0) {
      if (found)
        return NULL;   /* two people of that name: say which by username */
      found = im->users[i].username;
    }
  return found;
}

static int keep_row(kehu_import *im, uint32_t line, const Kehu__Customer *c,
                    const Kehu__Contact *ct, unsigned missing)
{
  if (im->n_rows == im->cap_rows) {
    size_t cap = im->cap_rows ? im->cap_rows * 2 : 256;
    prepared_row *rows = realloc(im->rows, cap * sizeof *rows);
    if (!rows)
      return KEHU_EXHAUSTED;
    im->rows = rows;
    im->cap_rows = cap;
  }
  prepared_row r = {line, NULL, 0, NULL, 0, missing};
  r.cust_len = kehu__customer__get_packed_size(c);
  r.cust = malloc(r.cust_len ? r.cust_len : 1);
  if (ct) {
    r.contact_len = kehu__contact__get_packed_size(ct);
    r.contact = malloc(r.contact_len ? r.contact_len : 1);
  }
  if (!r.cust || (ct && !r.contact)) {
    free(r.cust);
    free(r.contact);
    return KEHU_EXHAUSTED;
  }
  kehu__customer__pack(c, r.cust);
  if (ct)
    kehu__contact__pack(ct, r.contact);
  im->rows[im->n_rows++] = r;
  return KEHU_OK;
}

#define ROW_STRINGS 16

/* One data row: mapped, its values read as people type them, then checked
 * with the rules of customer add and contact add. A bad row is counted
 * and listed; only a failure of the server stops the import. */
static int take_data_row(kehu_import *im, const kehu_sheet_row *row)
{
  const char *cell[KEHU_IMPORT_FIELDS];
  for (int f = 0; f < KEHU_IMPORT_FIELDS; f++) {
    int col = im->header.column[f];
    cell[f] = col >= 0 && (size_t)col < row->n ? kehu_import_cell(row->cells[col]) : "";
  }
  int blank = 1;
  for (size_t i = 0; i < row->n && blank; i++)
    blank = row->cells[i][strspn(row->cells[i], " \t")] == '\0';
  if (blank)
    return KEHU_OK;
  uint32_t line = (uint32_t)row->line;
  char *own[ROW_STRINGS] = {0};   /* copies the checks may trim in place */
  size_t n_own = 0;
  char size[64], date[11];
  const char *stage = "";
  char **tags = NULL;
  size_t n_tags = 0;
  kehu_error err = {0};
  int bad = -1, rc = KEHU_OK;
  Kehu__Customer c = KEHU__CUSTOMER__INIT;
  Kehu__Contact ct = KEHU__CONTACT__INIT;
  char *phones[1] = {NULL};
#define COPY(dst, f)                                                   \
  do {                                                                 \
    if (*cell[f] && n_own < ROW_STRINGS && (own[n_own] = strdup(cell[f]))) \
      dst = own[n_own++];                                              \
  } while (0)
  if (kehu_import_size(line, column_of(im, KEHU_IMPORT_SIZE), cell[KEHU_IMPORT_SIZE], size,
                       sizeof size, &err) != KEHU_OK)
    bad = KEHU_IMPORT_SIZE;
  else if (kehu_import_stage(line, column_of(im, KEHU_IMPORT_STAGE), cell[KEHU_IMPORT_STAGE],
                             &stage, &err) != KEHU_OK)
    bad = KEHU_IMPORT_STAGE;
  else if (kehu_import_date(line, column_of(im, KEHU_IMPORT_FIRST_CONTACT_AT),
                            cell[KEHU_IMPORT_FIRST_CONTACT_AT], date, &err) != KEHU_OK)
    bad = KEHU_IMPORT_FIRST_CONTACT_AT;
  else if (kehu_import_tags(line, column_of(im, KEHU_IMPORT_TAGS), cell[KEHU_IMPORT_TAGS], &tags,
                            &n_tags, &err) != KEHU_OK)
    bad = KEHU_IMPORT_TAGS;
  if (bad < 0) {
    COPY(c.name, KEHU_IMPORT_NAME);
    COPY(c.external_code, KEHU_IMPORT_EXTERNAL_CODE);
    COPY(c.industry, KEHU_IMPORT_INDUSTRY);
    COPY(c.source, KEHU_IMPORT_SOURCE);
    COPY(c.address, KEHU_IMPORT_ADDRESS);
    COPY(c.region, KEHU_IMPORT_REGION);
    COPY(c.notes, KEHU_IMPORT_NOTES);
    COPY(c.short_name, KEHU_IMPORT_SHORT_NAME);
    COPY(c.kind, KEHU_IMPORT_KIND);
    c.size = *size ? size : NULL;
    c.stage = *stage ? (char *)stage : NULL;
    c.first_contact_at = *date ? date : NULL;
    c.tags = tags;
    c.n_tags = n_tags;
    const char *owner = cell[KEHU_IMPORT_OWNER];
    owner += strspn(owner, " ");
    if (!c.name)
      kehu_fail(&err, KEHU_INVALID, "name", "name: must not be empty"), bad = KEHU_IMPORT_NAME;
    else if (*owner && !(c.owner = (char *)owner_of(im, owner)))
      kehu_fail(&err, KEHU_INVALID, "owner", "owner: no user is named or called '%s'", owner),
          bad = KEHU_IMPORT_OWNER;
    else if (kehu_check_customer(&c, 1, &err) != KEHU_OK)
      bad = field_of_error(err.field, 0);
    else if (kehu_access_customer_create(im->txn, &im->caller,
                                         c.owner ? c.owner : im->caller.username,
                                         &err) != KEHU_OK)
      bad = *cell[KEHU_IMPORT_OWNER] ? KEHU_IMPORT_OWNER : -2;
  }
  int has_contact = *cell[KEHU_IMPORT_CONTACT_NAME] || *cell[KEHU_IMPORT_CONTACT_PHONE];
  if (bad == -1 && has_contact) {
    COPY(ct.name, KEHU_IMPORT_CONTACT_NAME);
    COPY(ct.title, KEHU_IMPORT_CONTACT_TITLE);
    COPY(ct.email, KEHU_IMPORT_CONTACT_EMAIL);
    if (*cell[KEHU_IMPORT_CONTACT_PHONE] && (phones[0] = strdup(cell[KEHU_IMPORT_CONTACT_PHONE]))) {
      ct.phones = phones;
      ct.n_phones = 1;
    }
    if (kehu_record_check(kehu_kind_get(KEHU_KIND_CONTACT), &ct.base, &err) != KEHU_OK) {
      bad = field_of_error(err.field, 1);
      if (bad < 0)
        bad = KEHU_IMPORT_CONTACT_NAME;
    }
  }
#undef COPY
  /* A row that passes every check but leaves a field of [import]
   * complete_fields empty (docs/architecture.md#import). */
  unsigned missing = 0;
  if (bad == -1) {
    const Kehu__Contact *contacts[1] = {&ct};
    missing = kehu_complete_missing(&im->srv->cfg, &c, contacts, has_contact ? 1 : 0);
    if (missing && !im->accept_incomplete) {
      int f = 0;
      while (!(missing & (1u << f)))
        f++;
      const char *col = column_of(im, f);
      if (!*col)
        col = kehu_import_field_name((kehu_import_field)f);
      char reason[512];
      snprintf(reason, sizeof reason,
               "%s: needed for a complete record (--incomplete accept takes the row as "
               KEHU_INCOMPLETE_TAG ")",
               col);
      reject(&im->counts, &im->errors, line, col, reason);
      bad = -3;
    }
  }
  if (bad == -3)
    ;
  else if (bad != -1)
    reject(&im->counts, &im->errors, line, bad >= 0 ? column_of(im, bad) : "", err.message);
  else
    rc = keep_row(im, line, &c, has_contact ? &ct : NULL, missing);
  for (size_t i = 0; i < n_own; i++)
    free(own[i]);
  free(phones[0]);
  free(tags);
  return rc;
}

static int take_row(void *ctx, const kehu_sheet_row *row, kehu_error *err)
{
  kehu_import *im = ctx;
  if (im->have_header)
    return take_data_row(im, row) == KEHU_OK
               ? KEHU_OK
               : kehu_fail(err, KEHU_EXHAUSTED, NULL, "server out of memory for the import");
  int rc = kehu_import_map_header(row, &im->header, err);
  if (rc != KEHU_OK)
    return rc;
  im->have_header = 1;
  im->header_text = calloc(im->header.ncols ? im->header.ncols : 1, sizeof *im->header_text);
  if (!im->header_text)
    return kehu_fail(err, KEHU_EXHAUSTED, NULL, "server out of memory for the import");
  for (; im->n_header < im->header.ncols; im->n_header++)
    if (!(im->header_text[im->n_header] = strdup(row->cells[im->n_header])))
      return kehu_fail(err, KEHU_EXHAUSTED, NULL, "server out of memory for the import");
  return KEHU_OK;
}

/* ---- on the pool: the chunk's bytes through the reader ---- */

static void parse_chunk(uv_work_t *req)
{
  kehu_import *im = req->data;
  kehu_txn t;
  if (kehu_store_read_begin(im->srv->store, &t) != KEHU_OK) {
    im->status = kehu_fail(&im->err, KEHU_INTERNAL, NULL, "storage unavailable");
    return;
  }
  im->txn = &t;
  kehu_error_clear(&im->err);
  int rc = KEHU_OK;
  if (im->xlsx) {
    if (im->last)
      rc = kehu_xlsx_read(kehu_buf_head(&im->bytes), kehu_buf_size(&im->bytes), take_row, im,
                          &im->err);
  } else {
    if (im->len)
      rc = kehu_csv_feed(im->csv, im->data, im->len, &im->err);
    if (rc == KEHU_OK && im->last)
      rc = kehu_csv_finish(im->csv, &im->err);
  }
  if (rc == KEHU_OK && im->last && !im->have_header)
    rc = kehu_fail(&im->err, KEHU_INVALID, "file", "the file holds no rows, not even a header");
  if (rc != KEHU_OK && im->err.status != rc)
    kehu_fail(&im->err, rc, NULL, "the file cannot be read: %s", kehu_status_name(rc));
  im->status = rc;
  im->txn = NULL;
  kehu_store_read_end(&t);
}

/* ---- writing a batch ---- */

typedef struct {
  kehu_import *im;
  int64_t now;
  size_t n;                /* rows im->rows[0..n) offered */
  size_t done;             /* of which written, when batch_ms ran out first */
  int audit;               /* the last batch: the import's own audit entry */
  int audited;             /* ... written (all n rows were) */
  int undone;              /* a dry run's batch, undone on purpose */
  import_counts counts;    /* of this batch; an apply may run twice */
  error_list errors;
} import_batch;

typedef struct {
  kehu_txn *t;
  uint64_t found;
} first_live;

static void note_live(uint64_t key, void *arg)
{
  first_live *d = arg;
  Kehu__Customer *c;
  if (d->found || kehu_store_customer_get(d->t, key, &c) != KEHU_OK)
    return;
  if (!(c->has_deleted && c->deleted))
    d->found = key;
  kehu__customer__free_unpacked(c, NULL);
}

/* docs/architecture.md#import: the natural key of a row, its external code
 * when it has one, else the duplicate rules (normalised name, then the
 * contact's phone). *field says which matched. */
static uint64_t existing_customer(kehu_txn *t, const Kehu__Customer *c, const Kehu__Contact *ct,
                                  int *field)
{
  if (c->external_code) {
    *field = KEHU_IMPORT_EXTERNAL_CODE;
    return kehu_store_customer_by_external_code(t, c->external_code);
  }
  first_live d = {t, 0};
  *field = KEHU_IMPORT_NAME;
  kehu_store_customers_by_name(t, c->name, note_live, &d);
  if (!d.found && ct && ct->n_phones) {
    *field = KEHU_IMPORT_CONTACT_PHONE;
    kehu_store_customers_by_phone(t, ct->phones[0], note_live, &d);
  }
  return d.found;
}

typedef struct {
  uint64_t key;
  int has;
} holder_search;

static void note_holder(uint64_t key, void *arg)
{
  holder_search *h = arg;
  h->has |= key == h->key;
}

static int batch_row(kehu_txn *t, import_batch *b, const prepared_row *row)
{
  kehu_import *im = b->im;
  const kehu_config *cfg = &im->srv->cfg;
  const kehu_kind_info *contact_kind = kehu_kind_get(KEHU_KIND_CONTACT);
  Kehu__Customer *c = kehu__customer__unpack(NULL, row->cust_len, row->cust);
  Kehu__Contact *ct = row->contact ? kehu__contact__unpack(NULL, row->contact_len, row->contact)
                                   : NULL;
  kehu_error err = {0};
  int rc = KEHU_OK, field = KEHU_IMPORT_NAME;
  if (!c || (row->contact && !ct)) {
    rc = KEHU_INTERNAL;
    goto out;
  }
  uint64_t key = existing_customer(t, c, ct, &field);
  if (key) {
    char id[24];
    kehu_customer_id_format(key, id);
    if (im->on_duplicate == DUP_SKIP) {
      b->counts.duplicates++;
    } else if (im->on_duplicate == DUP_ERROR) {
      char reason[320];
      snprintf(reason, sizeof reason, "%s: '%s' duplicates customer %s",
               kehu_import_field_name(field),
               field == KEHU_IMPORT_EXTERNAL_CODE ? c->external_code
               : field == KEHU_IMPORT_NAME        ? c->name
                                                  : ct->phones[0],
               id);
      reject(&b->counts, &b->errors, row->line, column_of(im, field), reason);
    } else {
      int changed = 0;
      rc = kehu_customer_update_in(t, &im->caller, b->now, cfg, key, c, &changed, &err);
      if (rc == KEHU_OK && ct && ct->n_phones) {
        holder_search h = {key, 0};
        rc = kehu_store_customers_by_phone(t, ct->phones[0], note_holder, &h);
        if (rc == KEHU_OK && !h.has) {
          rc = kehu_child_create_in(t, &im->caller, b->now, cfg, contact_kind, key, &ct->base,
                                    &err);
          changed = rc == KEHU_OK || changed;
        }
      }
      if (rc == KEHU_OK) {
        if (changed)
          b->counts.updated++;
        else
          b->counts.duplicates++;
      }
    }
  } else {
    /* --incomplete accept: a new customer missing complete fields is
     * tagged 待补充 and its owner reminded (docs/architecture.md#import) */
    char **tags = c->tags, *tagged[KEHU_MAX_TAGS + 1];
    size_t n_tags = c->n_tags;
    if (row->missing && !kehu_has_incomplete_tag(c) && n_tags < KEHU_MAX_TAGS) {
      if (n_tags)
        memcpy(tagged, tags, n_tags * sizeof *tagged);
      tagged[n_tags] = KEHU_INCOMPLETE_TAG;
      c->tags = tagged;
      c->n_tags = n_tags + 1;
    }
    rc = kehu_customer_create_in(t, &im->caller, b->now, cfg, c, &key, &err);
    c->tags = tags;
    c->n_tags = n_tags;
    if (rc == KEHU_OK && ct)
      rc = kehu_child_create_in(t, &im->caller, b->now, cfg, contact_kind, key, &ct->base, &err);
    if (rc == KEHU_OK && row->missing) {
      Kehu__Customer *stored = NULL;
      rc = kehu_store_customer_get(t, key, &stored);
      if (rc == KEHU_OK) {
        kehu_rule_ctx rules = {t, b->now, cfg};
        rc = kehu_complete_remind(&rules, stored, row->missing);
        kehu__customer__free_unpacked(stored, NULL);
      }
      if (rc == KEHU_OK)
        b->counts.incomplete++;
    } else if (rc == KEHU_OK) {
      b->counts.accepted++;
    }
  }
  /* A refusal of this row (its owner, a custom field required, a code
   * taken) rejects the row; anything else fails the whole batch. */
  if (rc != KEHU_OK && err.status == rc && rc != KEHU_INTERNAL && rc != KEHU_EXHAUSTED) {
    int f = field_of_error(err.field, 0);
    reject(&b->counts, &b->errors, row->line, f >= 0 ? column_of(im, f) : err.field, err.message);
    rc = KEHU_OK;
  }
out:
  if (c)
    kehu__customer__free_unpacked(c, NULL);
  if (ct)
    kehu__contact__free_unpacked(ct, NULL);
  return rc;
}

static void counts_add(import_counts *to, const import_counts *from)
{
  to->accepted += from->accepted;
  to->updated += from->updated;
  to->duplicates += from->duplicates;
  to->incomplete += from->incomplete;
  to->rejected += from->rejected;
}

static long elapsed_ms(const struct timespec *since)
{
  struct timespec now;
  clock_gettime(CLOCK_MONOTONIC, &now);
  return (now.tv_sec - since->tv_sec) * 1000L + (now.tv_nsec - since->tv_nsec) / 1000000L;
}

/* What a dry run's batch returns so that the writer undoes it: an error
 * status, which batch_written takes for success when b->undone says so. */
#define DRY_RUN_UNDONE KEHU_CONFLICT

static int apply_batch(kehu_txn *t, void *arg)
{
  import_batch *b = arg;
  b->undone = 0;
  memset(&b->counts, 0, sizeof b->counts);
  errors_free(&b->errors);
  /* each new customer is indexed for search once, with its contact, at
   * the end of the batch (docs/architecture.md#import) */
  /* the report counts of the batch's customers, written once per key */
  int rc = kehu_store_counts_batch_begin(t);
  if (rc != KEHU_OK)
    return rc;
  kehu_search_defer defer;
  kehu_store_search_defer(t, &defer);
  struct timespec start;
  clock_gettime(CLOCK_MONOTONIC, &start);
  b->done = 0;
  b->audited = 0;
  while (b->done < b->n && rc == KEHU_OK) {
    rc = batch_row(t, b, &b->im->rows[b->done++]);
    if (b->done % BATCH_CHECK == 0 && elapsed_ms(&start) >= b->im->srv->cfg.import_batch_ms)
      break;
  }
  int frc = kehu_store_search_flush(t);
  if (rc == KEHU_OK)
    rc = frc;
  frc = kehu_store_counts_batch_end(t, rc == KEHU_OK);
  if (rc == KEHU_OK)
    rc = frc;
  if (rc == KEHU_OK && b->im->dry_run) {
    /* --dry-run: every row went through the write as it would, and the
     * transaction is undone (DRY_RUN_UNDONE: batch_written knows it) */
    b->audited = b->audit && b->done == b->n;
    b->undone = 1;
    return DRY_RUN_UNDONE;
  }
  if (rc == KEHU_OK && b->audit && b->done == b->n) {
    b->audited = 1;
    import_counts all = b->im->counts;
    counts_add(&all, &b->counts);
    char details[256];
    snprintf(details, sizeof details,
             "%s: %u accepted, %u updated, %u duplicates, %u incomplete, %u rejected",
             b->im->xlsx ? "xlsx" : "csv", all.accepted, all.updated, all.duplicates,
             all.incomplete, all.rejected);
    rc = kehu_audit(t, &b->im->caller, b->now, "import", "customer", NULL, details);
  }
  return rc;
}

static void chunk_answer(kehu_call *call, kehu_import *im);

static void batch_written(kehu_call *call, int status, void *arg)
{
  import_batch *b = arg;
  kehu_import *im = b->im;
  if (status == DRY_RUN_UNDONE && b->undone)
    status = KEHU_OK;
  if (status != KEHU_OK) {
    errors_free(&b->errors);
    free(b);
    kehu_reply_status(call, status, "the import's rows were not stored: %s",
                      kehu_status_name(status));
    import_free(im);
    return;
  }
  counts_add(&im->counts, &b->counts);
  for (size_t i = 0; i < b->errors.n; i++)
    reject(&(import_counts){0}, &im->errors, b->errors.items[i].line, b->errors.items[i].column,
           b->errors.items[i].reason);
  im->audited |= b->audited;
  /* the rows written leave the list */
  for (size_t i = 0; i < b->done; i++) {
    free(im->rows[i].cust);
    free(im->rows[i].contact);
  }
  memmove(im->rows, im->rows + b->done, (im->n_rows - b->done) * sizeof *im->rows);
  im->n_rows -= b->done;
  errors_free(&b->errors);
  free(b);
  chunk_answer(call, im);
}

static void reply_result(kehu_call *call, kehu_import *im)
{
  Kehu__ImportResult res = KEHU__IMPORT_RESULT__INIT;
  res.accepted = im->counts.accepted;
  res.updated = im->counts.updated;
  res.duplicates = im->counts.duplicates;
  res.incomplete = im->counts.incomplete;
  res.rejected = im->counts.rejected;
  res.has_dry_run = 1;
  res.dry_run = im->dry_run;
  res.ignored_columns = im->header.n_ignored ? im->header.ignored : NULL;
  Kehu__ImportError *errs = calloc(im->errors.n ? im->errors.n : 1, sizeof *errs);
  Kehu__ImportError **ptrs = calloc(im->errors.n ? im->errors.n : 1, sizeof *ptrs);
  if (!errs || !ptrs) {
    free(errs);
    free(ptrs);
    kehu_reply_status(call, KEHU_EXHAUSTED, "server out of memory for the import's report");
    return;
  }
  for (size_t i = 0; i < im->errors.n; i++) {
    kehu__import_error__init(&errs[i]);
    errs[i].line = im->errors.items[i].line;
    errs[i].column = im->errors.items[i].column;
    errs[i].reason = im->errors.items[i].reason;
    ptrs[i] = &errs[i];
  }
  res.errors = ptrs;
  res.n_errors = im->errors.n;
  Kehu__Response r = KEHU__RESPONSE__INIT;
  r.status = KEHU__STATUS__OK;
  r.result_case = KEHU__RESPONSE__RESULT_IMPORT_RESULT;
  r.import_result = &res;
  kehu_reply(call, &r);
  free(errs);
  free(ptrs);
}

/* After a chunk is parsed, and after each batch: write the next batch if
 * one is due, else answer the chunk. */
static void chunk_answer(kehu_call *call, kehu_import *im)
{
  int due = im->n_rows >= BATCH_ROWS || (im->last && !im->audited);
  if (due) {
    import_batch *b = calloc(1, sizeof *b);
    if (!b) {
      kehu_reply_status(call, KEHU_EXHAUSTED, "server out of memory for the import");
      import_free(im);
      return;
    }
    b->im = im;
    b->now = kehu_now(call->srv);
    b->n = im->n_rows < BATCH_ROWS ? im->n_rows : BATCH_ROWS;
    b->audit = im->last && b->n == im->n_rows;
    kehu_writes_submit_solo(call->srv, call, apply_batch, batch_written, b);
    return;
  }
  if (im->last) {
    reply_result(call, im);
    import_free(im);
    return;
  }
  im->call = NULL;
  kehu_session_import_keep(kehu_session_of(call), im, import_free);
  Kehu__Response r = KEHU__RESPONSE__INIT;
  r.status = KEHU__STATUS__OK;
  kehu_reply(call, &r);
}

static void chunk_parsed(uv_work_t *req, int status)
{
  kehu_import *im = req->data;
  kehu_call *call = im->call;
  if (status != 0 && im->status == KEHU_OK)
    im->status = kehu_fail(&im->err, KEHU_INTERNAL, NULL, "the import's work was cancelled");
  if (im->status != KEHU_OK) {
    kehu_reply_error(call, &im->err);
    import_free(im);
    return;
  }
  chunk_answer(call, im);
}

/* ---- the first chunk: options, permission ---- */

static kehu_import *begin_import(kehu_call *call, const Kehu__ImportChunk *ch)
{
  kehu_error err = {0};
  kehu_encoding enc = KEHU_ENC_AUTO;
  int xlsx = 0, dup = DUP_SKIP;
  if (ch->kind && *ch->kind && strcmp(ch->kind, "csv") != 0) {
    if (strcmp(ch->kind, "xlsx") != 0) {
      kehu_reply_status(call, KEHU_INVALID, "kind: '%s' is not csv or xlsx", ch->kind);
      return NULL;
    }
    xlsx = 1;
  }
  if (ch->encoding && *ch->encoding && kehu_encoding_parse(ch->encoding, &enc) != 0) {
    kehu_reply_status(call, KEHU_INVALID, "encoding: '%s' is not auto, utf-8 or gbk",
                      ch->encoding);
    return NULL;
  }
  if (ch->on_duplicate && *ch->on_duplicate) {
    if (strcmp(ch->on_duplicate, "update") == 0)
      dup = DUP_UPDATE;
    else if (strcmp(ch->on_duplicate, "error") == 0)
      dup = DUP_ERROR;
    else if (strcmp(ch->on_duplicate, "skip") != 0) {
      kehu_reply_status(call, KEHU_INVALID, "on_duplicate: '%s' is not skip, update or error",
                        ch->on_duplicate);
      return NULL;
    }
  }
  int accept = 0;
  if (ch->incomplete && *ch->incomplete) {
    if (strcmp(ch->incomplete, "accept") == 0)
      accept = 1;
    else if (strcmp(ch->incomplete, "reject") != 0) {
      kehu_reply_status(call, KEHU_INVALID, "incomplete: '%s' is not reject or accept",
                        ch->incomplete);
      return NULL;
    }
  }
  /* Permissions as customer add: who may create a customer they own may
   * import (docs/architecture.md#roles-and-permissions). */
  kehu_txn t;
  if (kehu_store_read_begin(call->srv->store, &t) != KEHU_OK) {
    kehu_reply_status(call, KEHU_INTERNAL, "storage unavailable");
    return NULL;
  }
  int rc = kehu_access_customer_create(&t, &call->caller, call->caller.username, &err);
  kehu_store_read_end(&t);
  if (rc != KEHU_OK) {
    kehu_reply_error(call, &err);
    return NULL;
  }
  kehu_import *im = calloc(1, sizeof *im);
  if (!im || (!xlsx && !(im->csv = kehu_csv_new(enc, take_row, im)))) {
    free(im);
    kehu_reply_status(call, KEHU_EXHAUSTED, "server out of memory for the import");
    return NULL;
  }
  im->srv = call->srv;
  im->caller = call->caller;
  im->xlsx = xlsx;
  im->dry_run = ch->has_dry_run && ch->dry_run;
  im->on_duplicate = dup;
  im->accept_incomplete = accept;
  return im;
}

void kehu_handle_import_chunk(kehu_call *call)
{
  const Kehu__ImportChunk *ch = call->req->import_chunk;
  kehu_session *s = kehu_session_of(call);
  if (ch->data.len > MAX_CHUNK) {
    import_free(kehu_session_import_take(s));
    kehu_reply_status(call, KEHU_INVALID, "data: a chunk holds at most %d bytes", MAX_CHUNK);
    return;
  }
  kehu_import *im = kehu_session_import_take(s);
  if (ch->has_first && ch->first) {
    import_free(im);   /* a new import replaces an unfinished one */
    if (!(im = begin_import(call, ch)))
      return;
  } else if (!im) {
    kehu_reply_status(call, KEHU_INVALID,
                      "first: no import in progress on this connection; its first chunk says "
                      "first = true");
    return;
  }
  im->call = call;
  im->last = ch->has_last && ch->last;
  im->data = ch->data.data;
  im->len = ch->data.len;
  if (im->xlsx) {
    size_t max = call->srv->cfg.max_attachment;
    if (kehu_buf_size(&im->bytes) + ch->data.len > max) {
      kehu_reply_status(call, KEHU_EXHAUSTED,
                        "import: an .xlsx file of more than %zu bytes (max_attachment) is "
                        "refused; save it as CSV, which has no size limit",
                        max);
      import_free(im);
      return;
    }
    if (kehu_buf_append(&im->bytes, ch->data.data, ch->data.len) != 0) {
      kehu_reply_status(call, KEHU_EXHAUSTED, "server out of memory for the import");
      import_free(im);
      return;
    }
    if (!im->last) {
      chunk_answer(call, im);
      return;
    }
  }
  kehu_read_work_queue(call->srv, &im->work, im, parse_chunk, chunk_parsed);
}
