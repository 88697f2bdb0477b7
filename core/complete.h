/* Complete records (docs/architecture.md#import): the fields an admin
 * requires of a customer ([import] complete_fields), the tag 待补充 an
 * import with --incomplete accept gives a customer missing some of them,
 * and the owner's reminder to fill them in, both cleared in the write that
 * completes the customer. */
#ifndef KEHU_COMPLETE_H
#define KEHU_COMPLETE_H

#include "import_map.h"
#include "rules.h"

#define KEHU_INCOMPLETE_TAG "待补充"
#define KEHU_INCOMPLETE_KIND "incomplete"
/* working days from the import to the reminder */
#define KEHU_INCOMPLETE_WORKING_DAYS 2

/* Which of cfg->complete_fields c leaves empty: a bitmask of
 * 1u << kehu_import_field. A contact field counts as present when one of
 * the n contacts has it (contact_name: a name; contact_phone: a phone). */
unsigned kehu_complete_missing(const kehu_config *cfg, const Kehu__Customer *c,
                               const Kehu__Contact *const *contacts, size_t n);

/* "contact_name, contact_phone": the fields of a mask. */
void kehu_complete_fields_text(unsigned mask, char *out, size_t cap);

/* remind_hour local time, days working days after the local date of now:
 * each day added skips Saturdays and Sundays (Friday + 2 -> Tuesday,
 * Saturday + 2 -> Tuesday, Sunday + 2 -> Tuesday). UTC seconds. */
int64_t kehu_working_days_later(int64_t now, unsigned days, unsigned hour);

int kehu_has_incomplete_tag(const Kehu__Customer *c);

/* The reminder of an imported customer key (stored as c) missing the
 * fields of mask: to its owner, kind incomplete, source
 * incomplete:<id>:<owner>. */
int kehu_complete_remind(kehu_rule_ctx *rc, const Kehu__Customer *c, unsigned mask);

/* In a write that changes customer c (key) or its contacts: when c carries
 * 待补充 and its stored contacts (and extra, when not NULL: a contact not
 * stored yet) now give every complete field, the owner's reminder goes
 * (deleted, even when already due) and *untag is 1: the caller stores c
 * without the tag (kehu_complete_untag). Else *untag is 0. */
int kehu_complete_settle(kehu_rule_ctx *rc, uint64_t key, const Kehu__Customer *c,
                         const Kehu__Contact *extra, int *untag);
/* c's tags without 待补充, into out (room for c->n_tags); their count. */
size_t kehu_complete_untag(const Kehu__Customer *c, char **out);

#endif
