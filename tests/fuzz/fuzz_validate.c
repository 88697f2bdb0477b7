/* Every validator on arbitrary text: phones, emails, names, dates, times,
 * money, company-name normalisation. None may crash or overrun. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "normalize.h"
#include "timefmt.h"
#include "validate.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
  char *s = malloc(size + 1);
  if (!s)
    return 0;
  memcpy(s, data, size);
  s[size] = '\0';
  kehu_error err;
  char out[512];
  int64_t v;
  int y, m, d;
  kehu_check_phone("phone", s, out, &err);
  kehu_check_email("email", s, &err);
  kehu_check_text("notes", s, 10000, &err);
  kehu_check_username("owner", s, &err);
  kehu_date_parse(s, &y, &m, &d);
  kehu_time_parse(s, &v);
  if (kehu_money_parse(s, &v) == 0)
    kehu_money_format(v, out);
  kehu_normalize_company(s, out, sizeof out);
  kehu_stage_canonical(s);
  kehu_utf8_chars(s, size);
  kehu_check_name("name", s, 200, &err);   /* trims in place: last */
  free(s);
  return 0;
}
