#include "i18n.h"

#include <errno.h>
#include <limits.h>
#include <locale.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define DOMAIN "kehu"
#define CATALOGUE "zh_CN/LC_MESSAGES/" DOMAIN ".mo"

/* CMake passes the install's directories (CMakeLists.txt); these are the
 * defaults of GNUInstallDirs for anything built without them. */
#ifndef KEHU_LOCALEDIR_INSTALLED
#define KEHU_LOCALEDIR_INSTALLED "/usr/local/share/locale"
#endif
#ifndef KEHU_LOCALEDIR_FROM_BINDIR
#define KEHU_LOCALEDIR_FROM_BINDIR "../share/locale"
#endif

static char localedir[PATH_MAX];

static int has_catalogue(const char *dir)
{
  char path[PATH_MAX];
  int n = snprintf(path, sizeof path, "%s/%s", dir, CATALOGUE);
  return n > 0 && (size_t)n < sizeof path && access(path, R_OK) == 0;
}

/* The directory of the running executable, into out. */
static int exe_dir(char *out, size_t size)
{
  char exe[PATH_MAX];
  ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
  if (n <= 0)
    return -1;
  exe[n] = '\0';
  char *slash = strrchr(exe, '/');
  if (!slash)
    return -1;
  *slash = '\0';
  return snprintf(out, size, "%s", exe[0] ? exe : "/") < (int)size ? 0 : -1;
}

static void find_localedir(void)
{
  const char *env = getenv("KEHU_LOCALEDIR");
  char dir[PATH_MAX], candidate[PATH_MAX];
  if (env && env[0]) {
    snprintf(localedir, sizeof localedir, "%s", env);
    return;
  }
  if (exe_dir(dir, sizeof dir) == 0) {
    /* the build tree: kehu beside locale/ (CMakeLists.txt) */
    if (snprintf(candidate, sizeof candidate, "%s/locale", dir) < (int)sizeof candidate &&
        has_catalogue(candidate)) {
      snprintf(localedir, sizeof localedir, "%s", candidate);
      return;
    }
    /* an install under any prefix (a package unpacked elsewhere too) */
    if (snprintf(candidate, sizeof candidate, "%s/%s", dir, KEHU_LOCALEDIR_FROM_BINDIR) <
            (int)sizeof candidate &&
        has_catalogue(candidate)) {
      snprintf(localedir, sizeof localedir, "%s", candidate);
      return;
    }
  }
  snprintf(localedir, sizeof localedir, "%s", KEHU_LOCALEDIR_INSTALLED);
}

void kehu_i18n_init(void)
{
  /* A locale that is not installed leaves everything at "C": English. */
  setlocale(LC_ALL, "");
  setlocale(LC_NUMERIC, "C");
  setlocale(LC_TIME, "C");
  setlocale(LC_COLLATE, "C");
  setlocale(LC_MONETARY, "C");
  find_localedir();
  bindtextdomain(DOMAIN, localedir);
  bind_textdomain_codeset(DOMAIN, "UTF-8");
  textdomain(DOMAIN);
}

const char *kehu_pgettext(const char *ctx, const char *msgid)
{
  char key[256];
  int n = snprintf(key, sizeof key, "%s\004%s", ctx, msgid);
  if (n < 0 || (size_t)n >= sizeof key)
    return msgid;
  const char *t = gettext(key);
  return t == key ? msgid : t;
}

const char *kehu_strerror_en(int errnum)
{
  static locale_t c_locale;
  if (!c_locale)
    c_locale = newlocale(LC_ALL_MASK, "C", (locale_t)0);
  return c_locale ? strerror_l(errnum, c_locale) : strerror(errnum);
}

/* ---- errors in two languages ---- */

/* snprintf that cuts what does not fit without a word (messages are
 * bounded; a cut one is still a message). */
__attribute__((format(printf, 3, 4))) static void put(char *out, size_t size, const char *fmt,
                                                      ...)
{
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(out, size, fmt, ap);
  va_end(ap);
}

/* The human messages of the last few errors, each under its English
 * message: an error may be copied (it is a plain struct), and whatever
 * changes its message afterwards leaves the English text alone. */
#define SLOTS 8
static struct {
  char english[sizeof ((kehu_error *)0)->message];
  char human[512];
} slots[SLOTS];
static unsigned next_slot;
static pthread_mutex_t slots_lock = PTHREAD_MUTEX_INITIALIZER;

static void remember(const char *english, const char *human)
{
  pthread_mutex_lock(&slots_lock);
  unsigned i = next_slot++ % SLOTS;
  snprintf(slots[i].english, sizeof slots[i].english, "%s", english);
  snprintf(slots[i].human, sizeof slots[i].human, "%s", human);
  pthread_mutex_unlock(&slots_lock);
}

/* The human message remembered for english, copied into out: 1, or 0. */
static int recall(const char *english, char *out, size_t size)
{
  int found = 0;
  pthread_mutex_lock(&slots_lock);
  for (unsigned k = 1; k <= SLOTS && !found; k++) {
    unsigned i = (next_slot - k) % SLOTS;
    if (slots[i].english[0] && strcmp(slots[i].english, english) == 0) {
      snprintf(out, size, "%s", slots[i].human);
      found = 1;
    }
  }
  pthread_mutex_unlock(&slots_lock);
  return found;
}

int kehu_fail_tr(kehu_error *err, int status, const char *field, const char *fmt, ...)
{
  if (!err)
    return status;
  kehu_error_clear(err);
  err->status = status;
  snprintf(err->field, sizeof err->field, "%s", field ? field : "");
  char human[512];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(err->message, sizeof err->message, fmt, ap);
  va_end(ap);
  va_start(ap, fmt);
  vsnprintf(human, sizeof human, _(fmt), ap);
  va_end(ap);
  remember(err->message, human);
  return status;
}

int kehu_fail_errno(kehu_error *err, int status, const char *field, int errnum, const char *fmt,
                    ...)
{
  if (!err)
    return status;
  kehu_error_clear(err);
  err->status = status;
  snprintf(err->field, sizeof err->field, "%s", field ? field : "");
  char what[320], human_what[512], human[512];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(what, sizeof what, fmt, ap);
  va_end(ap);
  va_start(ap, fmt);
  vsnprintf(human_what, sizeof human_what, _(fmt), ap);
  va_end(ap);
  put(err->message, sizeof err->message, "%s: %s", what, kehu_strerror_en(errnum));
  /* TRANSLATORS: what failed, then the system's reason (strerror). */
  put(human, sizeof human, _("%s: %s"), human_what, strerror(errnum));
  remember(err->message, human);
  return status;
}

void kehu_error_set_human(const kehu_error *err, const char *fmt, ...)
{
  char human[512];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(human, sizeof human, fmt, ap);
  va_end(ap);
  remember(err->message, human);
}

void kehu_error_append_tr(kehu_error *err, const char *fmt, ...)
{
  char human[512];
  kehu_error_human(err, human, sizeof human);
  size_t used = strlen(err->message), hused = strlen(human);
  va_list ap;
  if (used + 1 < sizeof err->message) {
    va_start(ap, fmt);
    vsnprintf(err->message + used, sizeof err->message - used, fmt, ap);
    va_end(ap);
  }
  if (hused + 1 < sizeof human) {
    va_start(ap, fmt);
    vsnprintf(human + hused, sizeof human - hused, _(fmt), ap);
    va_end(ap);
  }
  remember(err->message, human);
}

const char *kehu_error_human(const kehu_error *err, char *buf, size_t size)
{
  const char *message = err->message;
  if (!message[0] || strcmp(message, kehu_status_name(err->status)) == 0) {
    snprintf(buf, size, "%s", kehu_status_label(err->status));
    return buf;
  }
  if (recall(message, buf, size))
    return buf;
  if (err->field[0]) {
    /* TRANSLATORS: the server's message (in English) about one field: %1$s
     * is the field's label, %2$s its name, %3$s the message; the first
     * when the value is refused, the second for anything else (a record
     * not found, a conflict). English output shows the message alone,
     * which names the field already. */
    static const char invalid[] = N_("field %s (%s) is invalid: %s");
    static const char other[] = N_("field %s (%s): %s");
    const char *frame = err->status == KEHU_INVALID ? invalid : other;
    const char *t = gettext(frame);
    if (t != frame) {
      snprintf(buf, size, t, kehu_field_label(NULL, err->field), err->field, message);
      return buf;
    }
  }
  snprintf(buf, size, "%s", message);
  return buf;
}

/* ---- labels ---- */

/* Every field a message or a record display may name, for the catalogue
 * (msgctxt "field"); "kind.field" where a kind calls it differently. The
 * English of each is the field's own name. */
static const char *const field_names[] = {
  /* customers */
  NC_("field", "id"), NC_("field", "name"), NC_("field", "short_name"), NC_("field", "kind"),
  NC_("field", "stage"), NC_("field", "tier"), NC_("field", "industry"), NC_("field", "size"),
  NC_("field", "region"), NC_("field", "address"), NC_("field", "source"), NC_("field", "owner"),
  NC_("field", "tags"), NC_("field", "notes"), NC_("field", "external_code"),
  NC_("field", "first_contact_at"), NC_("field", "last_contact_at"), NC_("field", "fields"),
  NC_("field", "field"), NC_("field", "created_at"), NC_("field", "created_by"),
  NC_("field", "updated_at"), NC_("field", "version"), NC_("field", "deleted"),
  NC_("field", "deleted_at"), NC_("field", "merged_into"),
  /* contacts */
  NC_("field", "contact.name"), NC_("field", "title"), NC_("field", "phones"),
  NC_("field", "phone"), NC_("field", "email"), NC_("field", "wechat"), NC_("field", "birthday"),
  NC_("field", "is_decision_maker"),
  /* records under a customer */
  NC_("field", "customer_id"), NC_("field", "contact_id"), NC_("field", "author"),
  NC_("field", "method"), NC_("field", "summary"), NC_("field", "feedback"),
  NC_("field", "next_action"), NC_("field", "next_action_due"), NC_("field", "at"),
  NC_("field", "followup.at"), NC_("field", "order.at"), NC_("field", "need.kind"),
  NC_("field", "description"), NC_("field", "budget"), NC_("field", "priority"),
  NC_("field", "status"), NC_("field", "number"), NC_("field", "amount"),
  NC_("field", "signed_on"), NC_("field", "starts_on"), NC_("field", "ends_on"),
  NC_("field", "fulfilment"), NC_("field", "product"), NC_("field", "quantity"),
  NC_("field", "subject"), NC_("field", "assignee"), NC_("field", "resolution"),
  NC_("field", "satisfaction"), NC_("field", "response_due"),
  /* attachments */
  NC_("field", "file_name"), NC_("field", "media_type"), NC_("field", "attachment.size"),
  NC_("field", "sha256"),
  /* reminders, custom fields, the audit log */
  NC_("field", "due_at"), NC_("field", "state"), NC_("field", "message"),
  NC_("field", "snoozed_until"), NC_("field", "acked_at"), NC_("field", "user"),
  NC_("field", "entity"), NC_("field", "key"), NC_("field", "label"), NC_("field", "type"),
  NC_("field", "required"), NC_("field", "options"), NC_("field", "seq"),
  NC_("field", "action"), NC_("field", "entity_id"), NC_("field", "details"),
  /* the command line and the client's files */
  NC_("field", "server"), NC_("field", "ca"), NC_("field", "password"),
  NC_("field", "username"), NC_("field", "file"), NC_("field", "output"),
  NC_("field", "encoding"), NC_("field", "format"), NC_("field", "svg"), NC_("field", "since"),
  NC_("field", "until"), NC_("field", "limit"), NC_("field", "cursor"), NC_("field", "sort"),
  NC_("field", "time"),
};

static int known_field(const char *key)
{
  for (size_t i = 0; i < sizeof field_names / sizeof *field_names; i++)
    if (strcmp(field_names[i], key) == 0)
      return 1;
  return 0;
}

const char *kehu_field_label(const char *kind, const char *field)
{
  if (kind && kind[0]) {
    char key[128];
    int n = snprintf(key, sizeof key, "%s.%s", kind, field);
    if (n > 0 && (size_t)n < sizeof key && known_field(key)) {
      const char *t = kehu_pgettext("field", key);
      if (t != key)   /* else untranslated: the plain field's label */
        return t;
    }
  }
  return known_field(field) ? kehu_pgettext("field", field) : field;
}

const char *kehu_status_label(int status)
{
  static const struct {
    int status;
    const char *name;
  } labels[] = {
    {KEHU_OK, NC_("status", "OK")},
    {KEHU_INTERNAL, NC_("status", "INTERNAL")},
    {KEHU_USAGE, NC_("status", "USAGE")},
    {KEHU_UNAUTHENTICATED, NC_("status", "UNAUTHENTICATED")},
    {KEHU_PERMISSION_DENIED, NC_("status", "PERMISSION_DENIED")},
    {KEHU_NOT_FOUND, NC_("status", "NOT_FOUND")},
    {KEHU_CONFLICT, NC_("status", "CONFLICT")},
    {KEHU_INVALID, NC_("status", "INVALID_ARGUMENT")},
    {KEHU_UNAVAILABLE, NC_("status", "UNAVAILABLE")},
    {KEHU_EXHAUSTED, NC_("status", "RESOURCE_EXHAUSTED")},
  };
  const char *name = kehu_status_name(status);
  for (size_t i = 0; i < sizeof labels / sizeof *labels; i++)
    if (labels[i].status == status)
      return kehu_pgettext("status", labels[i].name);
  return name;
}

const char *kehu_kind_label(const char *kind)
{
  static const char *const kinds[] = {
    NC_("kind", "customer"), NC_("kind", "contact"), NC_("kind", "followup"),
    NC_("kind", "need"),     NC_("kind", "contract"), NC_("kind", "order"),
    NC_("kind", "ticket"),   NC_("kind", "attachment"), NC_("kind", "reminder"),
  };
  for (size_t i = 0; i < sizeof kinds / sizeof *kinds; i++)
    if (strcmp(kind, kinds[i]) == 0)
      return kehu_pgettext("kind", kind);
  return kind;
}

const char *kehu_stage_label(const char *stage)
{
  static const char *const stages[] = {
    NC_("stage", "potential"), NC_("stage", "intent"), NC_("stage", "closed"),
    NC_("stage", "lost"),
  };
  if (!stage)
    return NULL;
  for (size_t i = 0; i < sizeof stages / sizeof *stages; i++)
    if (strcmp(stage, stages[i]) == 0)
      return kehu_pgettext("stage", stage);
  return stage;
}
