/* What the business rules share, with no event loop and no sockets: the
 * configuration read from kehud.conf and who is calling. core/ holds the
 * rules themselves (access.c, audit_entry.c, rules.c, config.c); kehud and
 * kehu-admin both build on it (docs/architecture.md). */
#ifndef KEHU_CORE_H
#define KEHU_CORE_H

#include <stddef.h>
#include <stdint.h>

#include "kehu.pb-c.h"
#include "status.h"
#include "store.h"

typedef struct {
  char data_dir[512];
  char listen[128];              /* HOST:PORT */
  size_t max_frame;              /* bytes; larger frames close the connection */
  unsigned handshake_timeout_ms; /* from connect to the client's Hello */
  unsigned login_timeout_ms;     /* from Hello (or logout) to a successful login */
  unsigned idle_timeout_ms;
  unsigned max_inflight;         /* requests per connection being served at once */
  unsigned max_connections;
  unsigned max_unauthenticated;  /* of those, not logged in yet; 0: a quarter of max_connections */
  size_t max_write_queue;        /* bytes of replies queued or being built for one client */
  unsigned handshake_budget_us;  /* TLS handshake work per loop turn; 0: unbounded */
  size_t map_size;               /* initial LMDB map size */
  unsigned session_idle_s;       /* a session token expires after this long unused */
  unsigned max_login_work;       /* password hashes running at once */
  unsigned max_read_work;        /* searches, sorted lists, reports running at once */
  unsigned max_failed_logins;    /* then the user is locked ... */
  int64_t lock_s;                /* ... for this long */
  int64_t clock_offset_s;        /* tests run the server "in the future" */
  size_t max_attachment;         /* bytes of one attachment */
  unsigned contract_days_first;  /* contract_expiry: this many days before ends_on ... */
  unsigned contract_days_second; /* ... and this many, and on the day */
  unsigned dormant_days;         /* no follow-up for this long: dormant */
  unsigned remind_hour;          /* dated reminders fall due at this local hour */
  unsigned ticket_sla_hours;     /* a ticket's response_due after creation */
  unsigned complete_fields;      /* [import]: 1u << kehu_import_field of each required field */
  char backup_dir[512];           /* [backup] dir: scheduled backups go here ("" none) */
  unsigned backup_minute;        /* [backup] time, as minutes after local midnight */
  int backup_weekday;            /* [backup] full: -1 daily, else 0 (Sunday) .. 6 */
  unsigned backup_keep;          /* [backup] keep: full backups kept in backup_dir */
  unsigned audit_retention_days; /* [audit] retention_days: then entries go to the archive */
  unsigned bin_days;             /* [recycle_bin] days: a binned customer is purged after */
  unsigned tier_high_orders;      /* [tiers] (docs/architecture.md#value-tiers): high is this */
  unsigned tier_high_window_days; /* many orders in this many days ... */
  unsigned tier_high_amount;      /* ... and this many yuan of orders ... */
  unsigned tier_high_amount_days; /* ... in this many days */
  unsigned tier_potential_days;   /* potential: an order in this many days */
  unsigned tier_churn_days;       /* churn_risk: no order for this long, after ordering ... */
  unsigned tier_negative_rating;  /* ... or a ticket rated this or lower ... */
  unsigned tier_negative_days;    /* ... in this many days */
  unsigned import_batch_ms;      /* [import] batch_ms: rows of one import batch take this long
                                    at most (checked every 256 rows) */
} kehu_config;

/* Fills cfg with defaults, then reads data_dir/kehud.conf if present. */
int kehu_config_load(kehu_config *cfg, const char *data_dir, kehu_error *err);
/* A listen address as kehud takes it: HOST:PORT with HOST an IPv4 or IPv6
 * literal ([::1]:7443 or ::1:7443) and PORT 0-65535. KEHU_OK or
 * KEHU_INVALID naming the problem (field "listen"). */
int kehu_listen_check(const char *listen, kehu_error *err);
/* Writes a kehud.conf with the defaults and the given listen address. */
int kehu_config_write_default(const char *path, const char *listen, kehu_error *err);

/* Who is calling: set by login, read by every handler. */
typedef struct {
  char username[65];
  char role[16];
  char team[65];
  char address[64];              /* the client's IP address */
} kehu_caller;

#endif
