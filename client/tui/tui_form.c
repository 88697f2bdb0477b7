/* Forms: add or edit a customer, add a contact, follow-up, ticket or
 * reminder. The form builds the same request the CLI sends; the server
 * checks it. A refusal that names a field is shown next to that field and
 * the form stays open with the input as typed: nothing was saved. */
#include <curses.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "args.h"
#include "i18n.h"
#include "records.h"
#include "reflect.h"
#include "tui.h"

typedef enum { F_TEXT, F_LIST, F_TIME } field_type;

typedef struct {
  const char *field;   /* the message's field, as the server names it in errors */
  const char *label;
  const char *hint;
  field_type type;
  int required;
} field_spec;

#define MAX_FIELDS 12

static const field_spec customer_fields[] = {
  {"name", N_("Name"), N_("the company's full name"), F_TEXT, 1},
  {"stage", N_("Stage"), N_("potential | intent | closed | lost"), F_TEXT, 0},
  {"industry", N_("Industry"), "", F_TEXT, 0},
  {"size", N_("Size"), N_("e.g. 100-500"), F_TEXT, 0},
  {"region", N_("Region"), "", F_TEXT, 0},
  {"source", N_("Source"), "", F_TEXT, 0},
  {"owner", N_("Owner"), N_("a username (empty: you)"), F_TEXT, 0},
  {"tags", N_("Tags"), N_("separated by commas"), F_LIST, 0},
  {"address", N_("Address"), "", F_TEXT, 0},
  {"notes", N_("Notes"), "", F_TEXT, 0},
};
static const field_spec contact_fields[] = {
  {"name", N_("Name"), "", F_TEXT, 1},
  {"title", N_("Title"), "", F_TEXT, 0},
  {"phones", N_("Phones"), N_("mobile or landline, separated by commas"), F_LIST, 0},
  {"email", N_("Email"), "", F_TEXT, 0},
  {"wechat", N_("WeChat"), "", F_TEXT, 0},
  {"birthday", N_("Birthday"), N_("YYYY-MM-DD"), F_TEXT, 0},
  {"notes", N_("Notes"), "", F_TEXT, 0},
};
static const field_spec followup_fields[] = {
  {"method", N_("Method"), N_("phone | visit | email | meeting | im | other"), F_TEXT, 1},
  {"summary", N_("Summary"), "", F_TEXT, 1},
  {"feedback", N_("Feedback"), "", F_TEXT, 0},
  {"next_action", N_("Next step"), "", F_TEXT, 0},
  {"next_action_due", N_("Next step due"), N_("YYYY-MM-DD or YYYY-MM-DD HH:MM"), F_TIME, 0},
  {"at", N_("When"), N_("empty: now"), F_TIME, 0},
};
static const field_spec ticket_fields[] = {
  {"subject", N_("Subject"), "", F_TEXT, 1},
  {"description", N_("Description"), "", F_TEXT, 0},
  {"priority", N_("Priority"), N_("high | medium | low"), F_TEXT, 0},
  {"assignee", N_("Assignee"), N_("a username"), F_TEXT, 0},
  {"response_due", N_("Response due"), N_("YYYY-MM-DD HH:MM"), F_TIME, 0},
};
static const field_spec reminder_fields[] = {
  {"at", N_("When"), N_("YYYY-MM-DD HH:MM"), F_TIME, 1},
  {"message", N_("Message"), "", F_TEXT, 1},
};

typedef struct {
  tui_screen base;
  tui *ui;
  tui_form_kind kind;
  const field_spec *spec;
  size_t n;
  char value[MAX_FIELDS][512];
  char original[MAX_FIELDS][512];
  char error[MAX_FIELDS][400];
  char general[400];
  int field;
  int saving;
  char customer_id[32];
  uint32_t version;
  tui_form_done done;
  void *arg;
} form_screen;

static const char *title_of(tui_form_kind k)
{
  switch (k) {
  case TUI_FORM_CUSTOMER_ADD:
    return _("New customer");
  case TUI_FORM_CUSTOMER_EDIT:
    return _("Edit customer");
  case TUI_FORM_CONTACT:
    return _("New contact");
  case TUI_FORM_FOLLOWUP:
    return _("New follow-up");
  case TUI_FORM_TICKET:
    return _("New ticket");
  case TUI_FORM_REMINDER:
    return _("New reminder");
  }
  return "";
}

static void draw(tui *ui, tui_screen *s, int top, int rows, int cols)
{
  (void)rows;
  form_screen *f = (form_screen *)s;
  attrset(tui_attr(ui, TUI_C_TITLE));
  char title[256];
  snprintf(title, sizeof title, "%s%s%s", title_of(f->kind), f->customer_id[0] ? "  " : "",
           f->customer_id);
  tui_put(top, 1, title, cols - 2, 0);
  attrset(A_NORMAL);
  int y = top + 1;
  if (f->general[0] || f->saving) {
    attrset(f->saving ? tui_attr(ui, TUI_C_DIM) : tui_attr(ui, TUI_C_ERROR));
    tui_put(y, 1, f->saving ? _("saving…") : f->general, cols - 2, 0);
    attrset(A_NORMAL);
  }
  int label_w = 14, value_w = 34, cy = top + 2, cx = 0;
  for (size_t i = 0; i < f->n; i++) {
    y = top + 2 + (int)i * 2;
    char label[64];
    snprintf(label, sizeof label, "%s%s", _(f->spec[i].label), f->spec[i].required ? " *" : "");
    tui_put(y, 2, label, label_w, 1);
    attrset((int)i == f->field ? A_UNDERLINE | A_BOLD : A_UNDERLINE);
    /* the end of a long value stays in view while typing */
    const char *v = f->value[i];
    while (tui_width(v) > value_w - 1) {
      v++;
      while (((unsigned char)*v & 0xc0) == 0x80)
        v++;
    }
    tui_put(y, 2 + label_w + 1, v, value_w, 1);
    attrset(A_NORMAL);
    int ex = 2 + label_w + 1 + value_w + 2;
    attrset(tui_attr(ui, TUI_C_DIM));
    if (f->spec[i].hint[0])   /* gettext("") is the catalogue's header */
      tui_put(y, ex, _(f->spec[i].hint), cols - ex - 1, 0);
    if (f->error[i][0]) {
      /* the server's reason, on the line under the field */
      char line[512];
      snprintf(line, sizeof line, "^ %s", f->error[i]);
      attrset(tui_attr(ui, TUI_C_ERROR));
      tui_put(y + 1, 2 + label_w + 1, line, cols - label_w - 4, 0);
    }
    attrset(A_NORMAL);
    if ((int)i == f->field) {
      cy = y;
      cx = 2 + label_w + 1 + tui_width(v);
    }
  }
  move(cy, cx);
}

/* The index of the field the server named ("phones", "phones[0]",
 * "contact.phones"), or -1. */
static int field_index(const form_screen *f, const char *name)
{
  if (!name || !*name)
    return -1;
  const char *dot = strrchr(name, '.');
  if (dot)
    name = dot + 1;
  size_t len = strcspn(name, "[");
  for (size_t i = 0; i < f->n; i++) {
    size_t fl = strlen(f->spec[i].field);
    /* a list is named by one of its entries too: "phone" for phones */
    if ((fl == len || (fl == len + 1 && f->spec[i].field[len] == 's')) &&
        strncmp(f->spec[i].field, name, len) == 0)
      return (int)i;
  }
  return -1;
}

static void clear_errors(form_screen *f)
{
  f->general[0] = '\0';
  for (size_t i = 0; i < f->n; i++)
    f->error[i][0] = '\0';
}

static void show_error(form_screen *f, const char *field, const char *message)
{
  int i = field_index(f, field);
  if (i >= 0) {
    snprintf(f->error[i], sizeof f->error[0], "%s", message);
    f->field = i;
    snprintf(f->general, sizeof f->general, "%s", _("not saved: see the field marked"));
  } else {
    snprintf(f->general, sizeof f->general, "%s", message);
  }
}

static void reply(tui *ui, const Kehu__Response *r, const kehu_error *err, void *arg)
{
  form_screen *f = arg;
  f->saving = 0;
  char why[640];
  if (!r) {
    snprintf(f->general, sizeof f->general,
             _("not saved (%s): your input is kept, Ctrl-S to try again"),
             tui_why(NULL, err, why, sizeof why));
  } else if (r->status != KEHU__STATUS__OK) {
    show_error(f, r->field, tui_why(r, NULL, why, sizeof why));
  } else {
    tui_form_done done = f->done;
    void *darg = f->arg;
    tui_pop(ui);   /* f is gone */
    if (done)
      done(ui, r, darg);
    return;
  }
  tui_redraw(ui);
}

/* "a, b , c" as a repeated string field of m. */
static int set_list(ProtobufCMessage *m, const char *field, const char *value)
{
  const ProtobufCFieldDescriptor *fd = kehu_msg_field(m, field);
  if (!fd)
    return -1;
  char *copy = strdup(value);
  if (!copy)
    return -1;
  size_t cap = 8, n = 0;
  char **arr = calloc(cap, sizeof *arr);
  for (char *save = NULL, *w = strtok_r(copy, ",，; ", &save); arr && w;
       w = strtok_r(NULL, ",，; ", &save)) {
    if (n == cap)
      break;
    arr[n++] = strdup(w);
  }
  free(copy);
  if (!arr)
    return -1;
  *(char ***)((char *)m + fd->offset) = arr;
  *(size_t *)((char *)m + fd->quantifier_offset) = n;
  return 0;
}

/* Fills m from the form; a value the client can already tell is wrong (a
 * time) is marked on its field. 0 when m is ready. */
static int fill(form_screen *f, ProtobufCMessage *m, int only_changed)
{
  for (size_t i = 0; i < f->n; i++) {
    const field_spec *sp = &f->spec[i];
    const char *v = f->value[i];
    if (only_changed && strcmp(v, f->original[i]) == 0)
      continue;
    if (!*v && !only_changed)
      continue;
    int rc = 0;
    if (sp->type == F_TIME) {
      int64_t t;
      kehu_error err = {0};
      if (!*v)
        continue;
      if (kehu_parse_time_flag(v, sp->field, &t, &err) != KEHU_OK) {
        tui_why(NULL, &err, f->error[i], sizeof f->error[0]);
        f->field = (int)i;
        return -1;
      }
      rc = kehu_msg_set_int(m, sp->field, t);
    } else if (sp->type == F_LIST) {
      rc = set_list(m, sp->field, v);
    } else {
      /* an edit that empties a field sends "" (the server clears it) */
      const ProtobufCFieldDescriptor *fd = kehu_msg_field(m, sp->field);
      char **p = fd ? (char **)((char *)m + fd->offset) : NULL;
      if (p) {
        free(*p);
        *p = strdup(v);
      }
      rc = p && *p ? 0 : -1;
    }
    if (rc != 0) {
      snprintf(f->general, sizeof f->general, _("cannot set %s"), sp->field);
      return -1;
    }
  }
  return 0;
}

static ProtobufCMessage *new_message(const ProtobufCMessageDescriptor *d)
{
  ProtobufCMessage *m = calloc(1, d->sizeof_message);
  if (m)
    protobuf_c_message_init(d, m);
  return m;
}

static void save(tui *ui, form_screen *f)
{
  if (f->saving)
    return;
  clear_errors(f);
  for (size_t i = 0; i < f->n; i++)
    if (f->spec[i].required && !f->value[i][0]) {
      snprintf(f->error[i], sizeof f->error[0], "%s", _("required"));
      f->field = (int)i;
      snprintf(f->general, sizeof f->general, "%s", _("not saved: see the field marked"));
      tui_redraw(ui);
      return;
    }
  Kehu__Request req = KEHU__REQUEST__INIT;
  ProtobufCMessage *m = NULL;
  Kehu__CustomerAdd add = KEHU__CUSTOMER_ADD__INIT;
  Kehu__CustomerUpdate upd = KEHU__CUSTOMER_UPDATE__INIT;
  Kehu__ChildAdd child_add = KEHU__CHILD_ADD__INIT;
  Kehu__Child child = KEHU__CHILD__INIT;
  Kehu__ReminderAdd radd = KEHU__REMINDER_ADD__INIT;
  const kehu_kind_info *kind = NULL;
  switch (f->kind) {
  case TUI_FORM_CUSTOMER_ADD:
  case TUI_FORM_CUSTOMER_EDIT:
    m = new_message(&kehu__customer__descriptor);
    break;
  case TUI_FORM_CONTACT:
    kind = kehu_kind_by_name("contact");
    break;
  case TUI_FORM_FOLLOWUP:
    kind = kehu_kind_by_name("followup");
    break;
  case TUI_FORM_TICKET:
    kind = kehu_kind_by_name("ticket");
    break;
  case TUI_FORM_REMINDER:
    m = new_message(&kehu__reminder_add__descriptor);
    break;
  }
  if (kind)
    m = new_message(kind->desc);
  if (!m || fill(f, m, f->kind == TUI_FORM_CUSTOMER_EDIT) != 0) {
    if (m)
      protobuf_c_message_free_unpacked(m, NULL);
    tui_redraw(ui);
    return;
  }
  switch (f->kind) {
  case TUI_FORM_CUSTOMER_ADD:
    add.customer = (Kehu__Customer *)m;
    req.op_case = KEHU__REQUEST__OP_CUSTOMER_ADD;
    req.customer_add = &add;
    break;
  case TUI_FORM_CUSTOMER_EDIT:
    upd.id = f->customer_id;
    upd.has_expected_version = 1;
    upd.expected_version = f->version;
    upd.changes = (Kehu__Customer *)m;
    upd.has_replace_tags = 1;
    upd.replace_tags = ((Kehu__Customer *)m)->n_tags > 0;
    req.op_case = KEHU__REQUEST__OP_CUSTOMER_UPDATE;
    req.customer_update = &upd;
    break;
  case TUI_FORM_REMINDER: {
    Kehu__ReminderAdd *r = (Kehu__ReminderAdd *)m;
    radd.at = r->at;
    radd.message = r->message;
    radd.customer_id = f->customer_id[0] ? f->customer_id : NULL;
    req.op_case = KEHU__REQUEST__OP_REMINDER_ADD;
    req.reminder_add = &radd;
    break;
  }
  default:
    kehu_child_wrap(&child, kind, m);
    child_add.customer_id = f->customer_id;
    child_add.child = &child;
    req.op_case = KEHU__REQUEST__OP_CHILD_ADD;
    req.child_add = &child_add;
    break;
  }
  f->saving = 1;
  tui_redraw(ui);
  tui_request(ui, &req, reply, f);
  protobuf_c_message_free_unpacked(m, NULL);
}

static int key(tui *ui, tui_screen *s, tui_key k)
{
  form_screen *f = (form_screen *)s;
  int n = (int)f->n;
  if (k.is_key) {
    switch (k.ch) {
    case KEY_DOWN:
      f->field = (f->field + 1) % n;
      break;
    case KEY_UP:
    case KEY_BTAB:
      f->field = (f->field + n - 1) % n;
      break;
    case KEY_BACKSPACE:
      tui_text_backspace(f->value[f->field]);
      f->error[f->field][0] = '\0';
      break;
    case KEY_F(2):
      save(ui, f);
      return 1;
    case KEY_ENTER:
      goto enter;
    default:
      return 0;
    }
    tui_redraw(ui);
    return 1;
  }
  switch (k.ch) {
  case 27:
    tui_pop(ui);
    tui_notice(ui, 0, "%s", _("cancelled: nothing saved"));
    return 1;
  case '\t':
    f->field = (f->field + 1) % n;
    break;
  case 127:
  case 8:
    tui_text_backspace(f->value[f->field]);
    f->error[f->field][0] = '\0';
    break;
  case 19:   /* Ctrl-S */
    save(ui, f);
    return 1;
  case 21:   /* Ctrl-U: clear the field */
    f->value[f->field][0] = '\0';
    break;
  case '\r':
  case '\n':
  enter:
    if (f->field + 1 < n) {
      f->field++;
      break;
    }
    save(ui, f);
    return 1;
  default:
    if (k.ch >= 0x20) {
      tui_text_append(f->value[f->field], sizeof f->value[0], k.ch);
      f->error[f->field][0] = '\0';
    }
    break;
  }
  tui_redraw(ui);
  return 1;
}

static void prefill(form_screen *f, const Kehu__Customer *c)
{
  for (size_t i = 0; i < f->n; i++) {
    const char *field = f->spec[i].field;
    if (strcmp(field, "tags") == 0) {
      size_t off = 0;
      for (size_t t = 0; t < c->n_tags && off < sizeof f->value[i]; t++)
        off += (size_t)snprintf(f->value[i] + off, sizeof f->value[i] - off, "%s%s",
                                t ? "," : "", c->tags[t]);
    } else {
      const char *v = kehu_msg_get_string(&c->base, field);
      snprintf(f->value[i], sizeof f->value[i], "%s", v ? v : "");
    }
    memcpy(f->original[i], f->value[i], sizeof f->value[i]);
  }
}

static void destroy(tui_screen *s)
{
  free(s);
}

tui_screen *tui_form_new(tui *ui, tui_form_kind kind, const Kehu__Customer *c,
                         tui_form_done done, void *arg)
{
  form_screen *f = calloc(1, sizeof *f);
  if (!f)
    return NULL;
  f->ui = ui;
  f->kind = kind;
  f->done = done;
  f->arg = arg;
  static const struct {
    const field_spec *spec;
    size_t n;
  } specs[] = {
#define SPEC(a) {a, sizeof a / sizeof *a}
    [TUI_FORM_CUSTOMER_ADD] = SPEC(customer_fields),
    [TUI_FORM_CUSTOMER_EDIT] = SPEC(customer_fields),
    [TUI_FORM_CONTACT] = SPEC(contact_fields),
    [TUI_FORM_FOLLOWUP] = SPEC(followup_fields),
    [TUI_FORM_TICKET] = SPEC(ticket_fields),
    [TUI_FORM_REMINDER] = SPEC(reminder_fields),
#undef SPEC
  };
  f->spec = specs[kind].spec;
  f->n = specs[kind].n;
  if (c) {
    snprintf(f->customer_id, sizeof f->customer_id, "%s", c->id);
    f->version = c->version;
  }
  if (kind == TUI_FORM_CUSTOMER_EDIT && c)
    prefill(f, c);
  f->base.draw = draw;
  f->base.key = key;
  f->base.destroy = destroy;
  f->base.takes_text = 1;
  f->base.footer = N_("Tab/↓ ↑:field  Enter:next (last: save)  Ctrl-S:save  Ctrl-U:clear  Esc:cancel");
  return &f->base;
}
