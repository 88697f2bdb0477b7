/* Human messages in the user's language (gettext, domain "kehu"). */
#ifndef KEHU_CLIENT_I18N_H
#define KEHU_CLIENT_I18N_H

#include <libintl.h>

#define _(s) gettext(s)
#define N_(s) (s)

#endif
