/* kehud.conf: INI, every limit of docs/protocol.md#limits configurable. */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <ini.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core.h"
#include "import_map.h"

static void defaults(kehu_config *cfg)
{
  memset(cfg, 0, sizeof *cfg);
  snprintf(cfg->listen, sizeof cfg->listen, "127.0.0.1:7443");
  cfg->max_frame = 4u << 20;
  cfg->handshake_timeout_ms = 10 * 1000;
  cfg->login_timeout_ms = 30 * 1000;
  cfg->idle_timeout_ms = 30 * 60 * 1000;
  cfg->max_inflight = 64;
  cfg->max_connections = 10000;
  cfg->max_write_queue = 64u << 20;
  cfg->handshake_budget_us = 2000;
  cfg->map_size = (size_t)1 << 30;
  cfg->session_idle_s = 12 * 3600;
  cfg->max_login_work = 4;
  cfg->max_read_work = 2;
  cfg->max_attachment = 16u << 20;
  cfg->contract_days_first = 30;
  cfg->contract_days_second = 7;
  cfg->dormant_days = 180;
  cfg->remind_hour = 9;
  cfg->ticket_sla_hours = 24;
  cfg->max_failed_logins = 5;
  cfg->lock_s = 15 * 60;
  cfg->import_batch_ms = 1000;
  cfg->bin_days = 30;
  cfg->audit_retention_days = 730;
  cfg->backup_minute = 2 * 60;
  cfg->backup_weekday = 0;   /* a full backup on Sundays, incrementals between */
  cfg->backup_keep = 7;
  cfg->tier_high_orders = 2;
  cfg->tier_high_window_days = 90;
  cfg->tier_high_amount = 100000;
  cfg->tier_high_amount_days = 365;
  cfg->tier_potential_days = 180;
  cfg->tier_churn_days = 90;
  cfg->tier_negative_rating = 2;
  cfg->tier_negative_days = 90;
}

typedef struct {
  const char *section, *key;
  char kind;        /* 's' string, 'z' size_t, 'u' unsigned, 'l' int64, 'm' seconds->ms */
  size_t offset;
  size_t size;
  unsigned long long min, max;   /* numbers: the values accepted */
} option;

#define OPT_RANGE(sec, key, kind, field, lo, hi) \
  {sec, key, kind, offsetof(kehu_config, field), sizeof(((kehu_config *)0)->field), lo, hi}
/* Numbers are positive and fit what they are stored in (seconds must fit
 * in unsigned milliseconds). */
#define OPT(sec, key, kind, field) \
  OPT_RANGE(sec, key, kind, field, 1, (kind) == 'm' ? UINT_MAX / 1000 : (kind) == 'u' ? UINT_MAX : LLONG_MAX)
static const option options[] = {
  OPT("server", "listen", 's', listen),
  OPT("server", "max_frame", 'z', max_frame),
  OPT("server", "handshake_timeout", 'm', handshake_timeout_ms),
  OPT("server", "idle_timeout", 'm', idle_timeout_ms),
  OPT("server", "max_inflight", 'u', max_inflight),
  OPT("server", "max_connections", 'u', max_connections),
  OPT("server", "login_timeout", 'm', login_timeout_ms),
  OPT("server", "max_unauthenticated", 'u', max_unauthenticated),
  OPT("server", "max_write_queue", 'z', max_write_queue),
  OPT_RANGE("server", "handshake_budget_us", 'u', handshake_budget_us, 0, 1000000),
  OPT("server", "max_read_work", 'u', max_read_work),
  OPT("storage", "map_size", 'z', map_size),
  OPT("storage", "max_attachment", 'z', max_attachment),
  OPT("auth", "session_idle", 'u', session_idle_s),
  OPT("auth", "max_login_work", 'u', max_login_work),
  OPT("reminders", "contract_days_first", 'u', contract_days_first),
  OPT("reminders", "contract_days_second", 'u', contract_days_second),
  OPT("reminders", "dormant_days", 'u', dormant_days),
  OPT_RANGE("reminders", "remind_hour", 'u', remind_hour, 0, 23),
  OPT("reminders", "ticket_sla_hours", 'u', ticket_sla_hours),
  OPT("auth", "max_failed_logins", 'u', max_failed_logins),
  OPT("auth", "lock_time", 'l', lock_s),
  OPT_RANGE("import", "batch_ms", 'u', import_batch_ms, 0, 60000),
  OPT_RANGE("recycle_bin", "days", 'u', bin_days, 1, 3650),
  /* the guides keep operation logs 2 years at least: nothing shorter */
  OPT_RANGE("audit", "retention_days", 'u', audit_retention_days, 730, 36500),
  OPT("backup", "dir", 's', backup_dir),
  OPT_RANGE("backup", "keep", 'u', backup_keep, 1, 1000),
  OPT_RANGE("tiers", "high_orders", 'u', tier_high_orders, 1, 1000),
  OPT_RANGE("tiers", "high_window_days", 'u', tier_high_window_days, 1, 3650),
  OPT_RANGE("tiers", "high_amount", 'u', tier_high_amount, 0, 1000000000),
  OPT_RANGE("tiers", "high_amount_days", 'u', tier_high_amount_days, 1, 3650),
  OPT_RANGE("tiers", "potential_days", 'u', tier_potential_days, 1, 3650),
  OPT_RANGE("tiers", "churn_days", 'u', tier_churn_days, 1, 3650),
  /* ratings are 1..5: 5 would make every rating negative */
  OPT_RANGE("tiers", "negative_rating", 'u', tier_negative_rating, 1, 4),
  OPT_RANGE("tiers", "negative_days", 'u', tier_negative_days, 1, 3650),
};
#undef OPT

typedef struct {
  kehu_config *cfg;
  kehu_error *err;
  int failed;
} parse_state;

/* [import] complete_fields: a comma list of import field names (as
 * common/import_map.h names them), name excepted: it is always required
 * (docs/architecture.md#import). */
static int complete_fields(parse_state *ps, const char *value)
{
  unsigned mask = 0;
  const char *p = value;
  while (*p) {
    p += strspn(p, " \t,");
    size_t n = strcspn(p, ",");
    while (n && (p[n - 1] == ' ' || p[n - 1] == '\t'))
      n--;
    if (!n)
      break;
    int found = -1;
    for (int f = 0; f < KEHU_IMPORT_FIELDS && found < 0; f++) {
      const char *fname = kehu_import_field_name((kehu_import_field)f);
      if (f != KEHU_IMPORT_NAME && strlen(fname) == n && strncmp(fname, p, n) == 0)
        found = f;
    }
    if (found < 0) {
      kehu_fail(ps->err, KEHU_INVALID, "complete_fields",
                "kehud.conf: [import] complete_fields: '%.*s' is not an import field other "
                "than name (external_code, industry, size, stage, source, address, region, "
                "owner, tags, notes, first_contact_at, contact_name, contact_phone, "
                "contact_title, contact_email)",
                (int)n, p);
      ps->failed = 1;
      return 0;
    }
    mask |= 1u << found;
    p += n;
    p += strspn(p, " \t");
  }
  ps->cfg->complete_fields = mask;
  return 1;
}

/* [backup] time = HH:MM (local) and full = daily | sun | mon ... | sat. */
static int backup_when(parse_state *ps, const char *name, const char *value)
{
  static const char *const days[] = {"sun", "mon", "tue", "wed", "thu", "fri", "sat"};
  if (strcmp(name, "time") == 0) {
    unsigned h, m;
    char end;
    if (sscanf(value, "%u:%u%c", &h, &m, &end) == 2 && h < 24 && m < 60) {
      ps->cfg->backup_minute = h * 60 + m;
      return 1;
    }
    kehu_fail(ps->err, KEHU_INVALID, "time",
              "kehud.conf: [backup] time = '%s' is not a local time HH:MM", value);
  } else {
    if (strcmp(value, "daily") == 0) {
      ps->cfg->backup_weekday = -1;
      return 1;
    }
    for (int d = 0; d < 7; d++)
      if (strcmp(value, days[d]) == 0) {
        ps->cfg->backup_weekday = d;
        return 1;
      }
    kehu_fail(ps->err, KEHU_INVALID, "full",
              "kehud.conf: [backup] full = '%s' is not daily or a weekday (sun, mon, ... sat)",
              value);
  }
  ps->failed = 1;
  return 0;
}

static int on_value(void *user, const char *section, const char *name, const char *value)
{
  parse_state *ps = user;
  if (strcmp(section, "backup") == 0 && (strcmp(name, "time") == 0 || strcmp(name, "full") == 0))
    return backup_when(ps, name, value);
  if (strcmp(section, "import") == 0 && strcmp(name, "complete_fields") == 0)
    return complete_fields(ps, value);
  for (size_t i = 0; i < sizeof options / sizeof *options; i++) {
    const option *o = &options[i];
    if (strcmp(o->section, section) != 0 || strcmp(o->key, name) != 0)
      continue;
    char *field = (char *)ps->cfg + o->offset;
    if (o->kind == 's') {
      if (field == ps->cfg->listen && kehu_listen_check(value, ps->err) != KEHU_OK) {
        ps->failed = 1;
        return 0;
      }
      snprintf(field, o->size, "%s", value);
      return 1;
    }
    char *end;
    errno = 0;
    unsigned long long v = strtoull(value, &end, 10);
    if (errno || end == value || *end || v < o->min || v > o->max) {
      kehu_fail(ps->err, KEHU_INVALID, name, "kehud.conf: [%s] %s = '%s' is not a whole number "
                "from %llu to %llu", section, name, value, o->min, o->max);
      ps->failed = 1;
      return 0;
    }
    if (o->kind == 'z')
      *(size_t *)field = (size_t)v;
    else if (o->kind == 'u')
      *(unsigned *)field = (unsigned)v;
    else if (o->kind == 'l')
      *(int64_t *)field = (int64_t)v;
    else
      *(unsigned *)field = (unsigned)(v * 1000);
    return 1;
  }
  return 1;   /* unknown keys are kept for newer versions */
}

int kehu_listen_check(const char *listen, kehu_error *err)
{
  const char *colon = strrchr(listen, ':');
  char host[128], end;
  unsigned port;
  if (!colon || colon == listen || (size_t)(colon - listen) >= sizeof host ||
      sscanf(colon + 1, "%u%c", &port, &end) != 1 || port > 65535 ||
      !(colon[1] >= '0' && colon[1] <= '9'))
    return kehu_fail(err, KEHU_INVALID, "listen",
                     "listen: '%s' is not HOST:PORT (an IP address and a port 0-65535)", listen);
  snprintf(host, sizeof host, "%.*s", (int)(colon - listen), listen);
  char *h = host;
  size_t n = strlen(h);
  if (h[0] == '[' && n > 2 && h[n - 1] == ']') {
    h[n - 1] = '\0';
    h++;
  }
  unsigned char addr[16];
  if (inet_pton(AF_INET, h, addr) != 1 && inet_pton(AF_INET6, h, addr) != 1)
    return kehu_fail(err, KEHU_INVALID, "listen",
                     "listen: '%s' in '%s' is not an IP address (kehud listens on an address, "
                     "not a name)", h, listen);
  return KEHU_OK;
}

int kehu_config_load(kehu_config *cfg, const char *data_dir, kehu_error *err)
{
  defaults(cfg);
  snprintf(cfg->data_dir, sizeof cfg->data_dir, "%s", data_dir);
  char path[600];
  snprintf(path, sizeof path, "%s/kehud.conf", data_dir);
  FILE *f = fopen(path, "r");
  if (!f)
    return errno == ENOENT ? KEHU_OK
                           : kehu_fail(err, KEHU_INTERNAL, NULL, "cannot read %s: %s", path,
                                       strerror(errno));
  parse_state ps = {cfg, err, 0};
  int line = ini_parse_file(f, on_value, &ps);
  fclose(f);
  if (ps.failed)
    return KEHU_INVALID;
  if (line != 0)
    return kehu_fail(err, KEHU_INVALID, NULL, "%s: syntax error on line %d", path, line);
  return KEHU_OK;
}

int kehu_config_write_default(const char *path, const char *listen, kehu_error *err)
{
  kehu_config d;
  defaults(&d);
  int fd = open(path, O_WRONLY | O_CREAT | O_EXCL, 0600);
  if (fd < 0)
    return kehu_fail(err, KEHU_INTERNAL, NULL, "cannot create %s: %s", path, strerror(errno));
  FILE *f = fdopen(fd, "w");
  fprintf(f,
          "# kehud configuration (see README.md)\n"
          "[server]\n"
          "listen = %s\n"
          "max_frame = %zu            ; bytes; a larger frame closes the connection\n"
          "handshake_timeout = %u     ; seconds from connecting to the client's Hello\n"
          "login_timeout = %u         ; seconds from Hello to a login\n"
          "idle_timeout = %u        ; seconds\n"
          "max_inflight = %u          ; requests per connection at once\n"
          "max_connections = %u\n"
          ";max_unauthenticated =     ; of those, not logged in yet (default: a quarter)\n"
          "max_write_queue = %zu     ; bytes of replies queued or being built for one client\n"
          "max_read_work = %u          ; searches, sorted lists and reports running at once\n"
          ";handshake_budget_us = 2000  ; TLS handshake work per event-loop turn (0: no bound)\n"
          "\n[storage]\n"
          "map_size = %zu          ; initial, grows when full\n"
          "max_attachment = %zu      ; bytes of one attachment\n"
          "\n[auth]\n"
          "session_idle = %u        ; seconds before an unused session token expires\n"
          "max_login_work = %u         ; password checks running at once\n"
          "max_failed_logins = %u      ; then the user is locked for\n"
          "lock_time = %lld            ; seconds\n"
          "\n[reminders]\n"
          "contract_days_first = %u     ; contract_expiry this many days before the end,\n"
          "contract_days_second = %u     ; this many, and on the day\n"
          "dormant_days = %u          ; no follow-up for this long raises 'dormant'\n"
          "remind_hour = %u              ; local hour when dated reminders fall due\n"
          "ticket_sla_hours = %u        ; response due this long after a ticket opens\n"
          "\n[backup]\n"
          ";dir = /mnt/backup/kehu      ; scheduled backups go here (another disk or a\n"
          "                             ; mounted share); none while unset\n"
          "time = 02:00                 ; local time they run, every day\n"
          "full = sun                   ; the day of the full backup (sun, mon, ... sat; the\n"
          "                             ; others get an incremental one), or daily\n"
          "keep = %u                     ; full backups kept, with the incrementals on them\n"
          "\n[audit]\n"
          "retention_days = %u         ; older entries move to DATADIR/audit-archive/ (730 at least)\n"
          "\n[recycle_bin]\n"
          "days = %u                    ; a deleted customer is purged this long after\n"
          "\n[tiers]                      ; value tiers (docs/architecture.md#value-tiers)\n"
          "high_orders = %u              ; high: this many orders ...\n"
          "high_window_days = %u        ; ... in this many days,\n"
          "high_amount = %u         ; and this many yuan of orders ...\n"
          "high_amount_days = %u       ; ... in this many days\n"
          "potential_days = %u         ; potential: an order in this many days\n"
          "churn_days = %u              ; churn_risk: no order for this long after ordering,\n"
          "negative_rating = %u          ; or a ticket rated this or lower ...\n"
          "negative_days = %u           ; ... in this many days\n"
          "\n[import]\n"
          "complete_fields =            ; import fields a complete record needs besides the\n"
          "                             ; name, e.g. contact_name, contact_phone\n"
          "batch_ms = %u               ; writer time an import batch's rows may take before\n"
          "                             ; it commits (other writes wait that long at most)\n",
          listen ? listen : d.listen, d.max_frame, d.handshake_timeout_ms / 1000,
          d.login_timeout_ms / 1000, d.idle_timeout_ms / 1000, d.max_inflight, d.max_connections,
          d.max_write_queue, d.max_read_work,
          d.map_size, d.max_attachment, d.session_idle_s, d.max_login_work, d.max_failed_logins,
          (long long)d.lock_s, d.contract_days_first, d.contract_days_second, d.dormant_days,
          d.remind_hour, d.ticket_sla_hours, d.backup_keep, d.audit_retention_days, d.bin_days,
          d.tier_high_orders, d.tier_high_window_days, d.tier_high_amount,
          d.tier_high_amount_days, d.tier_potential_days, d.tier_churn_days,
          d.tier_negative_rating, d.tier_negative_days, d.import_batch_ms);
  if (fclose(f) != 0)
    return kehu_fail(err, KEHU_INTERNAL, NULL, "cannot write %s", path);
  return KEHU_OK;
}
