/* frame.c: the length prefix is read big-endian and checked against the
 * limit before anything else; packing round-trips; the decoder refuses
 * garbage, truncation, missing required fields and lying lengths without
 * crashing or leaking (run under ASan). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <malloc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "frame.h"

/* ---- helpers ---- */

static const uint8_t *const SENTINEL_PTR = (const uint8_t *)"sentinel";
#define SENTINEL_SIZE ((size_t)0xDEADBEEF)

static void put_be32(uint8_t *p, uint32_t n)
{
  p[0] = (uint8_t)(n >> 24);
  p[1] = (uint8_t)(n >> 16);
  p[2] = (uint8_t)(n >> 8);
  p[3] = (uint8_t)n;
}

/* A deterministic generator (xorshift64*), so a failure reproduces. */
static uint64_t rng_state = 0x9E3779B97F4A7C15ull;
static uint64_t rng_next(void)
{
  rng_state ^= rng_state >> 12;
  rng_state ^= rng_state << 25;
  rng_state ^= rng_state >> 27;
  return rng_state * 0x2545F4914F6CDD1Dull;
}

static const char CN_NAME[] = "北京字节跳动科技有限公司";

/* Envelope{id, request{customer_add{customer{name, owner, tags}, force}}}
 * built on the stack. */
typedef struct {
  Kehu__Envelope env;
  Kehu__Request req;
  Kehu__CustomerAdd add;
  Kehu__Customer cust;
  char *tags[2];
} add_msg;

static void build_add(add_msg *m, uint64_t id)
{
  kehu__envelope__init(&m->env);
  kehu__request__init(&m->req);
  kehu__customer_add__init(&m->add);
  kehu__customer__init(&m->cust);
  m->cust.name = (char *)CN_NAME;
  m->cust.owner = "zhangwei";
  m->cust.stage = "潜在";
  m->cust.has_last_contact_at = 1;
  m->cust.last_contact_at = -1;   /* negative int64 survives */
  m->tags[0] = "重点";
  m->tags[1] = "vip";
  m->cust.tags = m->tags;
  m->cust.n_tags = 2;
  m->add.customer = &m->cust;
  m->add.has_force = 1;
  m->add.force = 1;
  m->req.op_case = KEHU__REQUEST__OP_CUSTOMER_ADD;
  m->req.customer_add = &m->add;
  m->env.id = id;
  m->env.body_case = KEHU__ENVELOPE__BODY_REQUEST;
  m->env.request = &m->req;
}

/* Packs env without a frame header into a fresh malloc'd buffer. */
static uint8_t *pack_raw(const Kehu__Envelope *env, size_t *n)
{
  *n = kehu__envelope__get_packed_size(env);
  uint8_t *p = malloc(*n ? *n : 1);
  assert_non_null(p);
  assert_int_equal(kehu__envelope__pack(env, p), *n);
  return p;
}

/* A decoded envelope is usable: a body is set and every required field of
 * every nested message is present. */
static void assert_valid_envelope(const Kehu__Envelope *env)
{
  assert_non_null(env);
  assert_int_not_equal(env->body_case, KEHU__ENVELOPE__BODY__NOT_SET);
  assert_true(protobuf_c_message_check(&env->base));
  /* Re-encoding must work on whatever came out. */
  size_t n = kehu__envelope__get_packed_size(env);
  uint8_t *p = malloc(n ? n : 1);
  assert_non_null(p);
  assert_int_equal(kehu__envelope__pack(env, p), n);
  free(p);
}

/* ---- kehu_frame_next ---- */

static void test_next_fewer_than_header(void **state)
{
  (void)state;
  const uint8_t data[4] = {0, 0, 0, 1};
  for (size_t len = 0; len < KEHU_FRAME_HEADER; len++) {
    const uint8_t *payload = SENTINEL_PTR;
    size_t plen = SENTINEL_SIZE, consumed = SENTINEL_SIZE;
    assert_int_equal(kehu_frame_next(data, len, KEHU_FRAME_DEFAULT_MAX, &payload, &plen,
                                     &consumed),
                     KEHU_FRAME_NEED_MORE);
    /* Nothing was a frame: the caller's outputs are not touched. */
    assert_ptr_equal(payload, SENTINEL_PTR);
    assert_int_equal(consumed, SENTINEL_SIZE);
  }
}

static void test_next_partial_payload(void **state)
{
  (void)state;
  uint8_t data[4 + 10];
  memset(data, 'x', sizeof data);
  put_be32(data, 10);
  /* 5 payload bytes, then every length short of the whole frame. */
  for (size_t len = 4; len < sizeof data; len++) {
    const uint8_t *payload = SENTINEL_PTR;
    size_t plen = 0, consumed = SENTINEL_SIZE;
    assert_int_equal(kehu_frame_next(data, len, KEHU_FRAME_DEFAULT_MAX, &payload, &plen,
                                     &consumed),
                     KEHU_FRAME_NEED_MORE);
    assert_ptr_equal(payload, SENTINEL_PTR);
    assert_int_equal(consumed, SENTINEL_SIZE);
  }
  const uint8_t *payload;
  size_t plen, consumed;
  assert_int_equal(kehu_frame_next(data, 4 + 5, KEHU_FRAME_DEFAULT_MAX, &payload, &plen,
                                   &consumed),
                   KEHU_FRAME_NEED_MORE);
}

static void test_next_zero_length_is_empty(void **state)
{
  (void)state;
  const uint8_t data[8] = {0, 0, 0, 0, 0x08, 0x01, 0x12, 0x00};
  const uint8_t *payload;
  size_t plen = SENTINEL_SIZE, consumed = SENTINEL_SIZE;
  assert_int_equal(kehu_frame_next(data, 4, KEHU_FRAME_DEFAULT_MAX, &payload, &plen, &consumed),
                   KEHU_FRAME_EMPTY);
  /* Bytes after the empty frame do not make it acceptable. */
  assert_int_equal(kehu_frame_next(data, sizeof data, KEHU_FRAME_DEFAULT_MAX, &payload, &plen,
                                   &consumed),
                   KEHU_FRAME_EMPTY);
  assert_int_equal(consumed, SENTINEL_SIZE);
}

static void test_next_too_large_max_plus_one(void **state)
{
  (void)state;
  /* Only the header has arrived: the limit must be enforced now, not
   * after waiting for (and buffering) 4 MiB + 1 bytes. */
  uint8_t data[4];
  put_be32(data, KEHU_FRAME_DEFAULT_MAX + 1);
  const uint8_t *payload = SENTINEL_PTR;
  size_t plen = 0, consumed = SENTINEL_SIZE;
  assert_int_equal(kehu_frame_next(data, sizeof data, KEHU_FRAME_DEFAULT_MAX, &payload, &plen,
                                   &consumed),
                   KEHU_FRAME_TOO_LARGE);
  assert_int_equal(plen, (size_t)KEHU_FRAME_DEFAULT_MAX + 1);
  assert_ptr_equal(payload, SENTINEL_PTR);
  assert_int_equal(consumed, SENTINEL_SIZE);
}

static void test_next_too_large_ffffffff_allocates_nothing(void **state)
{
  (void)state;
  uint8_t data[4] = {0xFF, 0xFF, 0xFF, 0xFF};
  const uint8_t *payload = SENTINEL_PTR;
  size_t plen = 0, consumed = SENTINEL_SIZE;
  struct mallinfo2 before = mallinfo2();
  kehu_frame_result r = kehu_frame_next(data, sizeof data, KEHU_FRAME_DEFAULT_MAX, &payload,
                                        &plen, &consumed);
  struct mallinfo2 after = mallinfo2();
  assert_int_equal(r, KEHU_FRAME_TOO_LARGE);
  assert_int_equal(plen, (size_t)0xFFFFFFFFu);
  assert_ptr_equal(payload, SENTINEL_PTR);
  assert_int_equal(consumed, SENTINEL_SIZE);
  assert_int_equal(after.uordblks, before.uordblks);
  assert_int_equal(after.hblkhd, before.hblkhd);
  /* Also with the largest limit a 32-bit prefix can express minus one. */
  assert_int_equal(kehu_frame_next(data, sizeof data, 0xFFFFFFFEu, &payload, &plen, &consumed),
                   KEHU_FRAME_TOO_LARGE);
  assert_int_equal(plen, (size_t)0xFFFFFFFFu);
}

static void test_next_limit_boundary(void **state)
{
  (void)state;
  /* A small limit: length == limit is allowed, limit + 1 is not. */
  uint8_t data[4 + 16];
  memset(data, 0xAB, sizeof data);
  const uint8_t *payload;
  size_t plen, consumed;
  put_be32(data, 16);
  assert_int_equal(kehu_frame_next(data, sizeof data, 16, &payload, &plen, &consumed),
                   KEHU_FRAME_OK);
  assert_int_equal(plen, 16);
  assert_int_equal(consumed, 20);
  /* With only the header: still just "need more", not "too large". */
  assert_int_equal(kehu_frame_next(data, 4, 16, &payload, &plen, &consumed),
                   KEHU_FRAME_NEED_MORE);
  put_be32(data, 17);
  assert_int_equal(kehu_frame_next(data, sizeof data, 16, &payload, &plen, &consumed),
                   KEHU_FRAME_TOO_LARGE);
  assert_int_equal(plen, 17);
}

static void test_next_is_big_endian(void **state)
{
  (void)state;
  /* 00 00 01 02 is 258 bytes (little-endian would read 0x02010000). */
  uint8_t *data = calloc(1, 4 + 258 + 3);
  assert_non_null(data);
  data[2] = 0x01;
  data[3] = 0x02;
  const uint8_t *payload;
  size_t plen, consumed;
  assert_int_equal(kehu_frame_next(data, 4 + 257, KEHU_FRAME_DEFAULT_MAX, &payload, &plen,
                                   &consumed),
                   KEHU_FRAME_NEED_MORE);
  assert_int_equal(kehu_frame_next(data, 4 + 258 + 3, KEHU_FRAME_DEFAULT_MAX, &payload, &plen,
                                   &consumed),
                   KEHU_FRAME_OK);
  assert_int_equal(plen, 258);
  assert_int_equal(consumed, 262);
  assert_ptr_equal(payload, data + 4);
  free(data);
}

static void test_next_exact_whole_frame(void **state)
{
  (void)state;
  uint8_t data[4 + 5] = {0, 0, 0, 5, 'h', 'e', 'l', 'l', 'o'};
  const uint8_t *payload = NULL;
  size_t plen = 0, consumed = 0;
  assert_int_equal(kehu_frame_next(data, sizeof data, KEHU_FRAME_DEFAULT_MAX, &payload, &plen,
                                   &consumed),
                   KEHU_FRAME_OK);
  assert_ptr_equal(payload, data + 4);   /* no copy */
  assert_int_equal(plen, 5);
  assert_int_equal(consumed, 4 + 5);
  assert_memory_equal(payload, "hello", 5);
}

static void test_next_two_frames_back_to_back(void **state)
{
  (void)state;
  uint8_t data[] = {0, 0, 0, 3, 'a', 'b', 'c', 0, 0, 0, 1, 'z', 0, 0};
  const uint8_t *payload;
  size_t plen, consumed, off = 0;
  assert_int_equal(kehu_frame_next(data, sizeof data, KEHU_FRAME_DEFAULT_MAX, &payload, &plen,
                                   &consumed),
                   KEHU_FRAME_OK);
  assert_int_equal(consumed, 7);
  assert_int_equal(plen, 3);
  assert_memory_equal(payload, "abc", 3);
  off += consumed;
  assert_int_equal(kehu_frame_next(data + off, sizeof data - off, KEHU_FRAME_DEFAULT_MAX,
                                   &payload, &plen, &consumed),
                   KEHU_FRAME_OK);
  assert_int_equal(consumed, 5);
  assert_int_equal(plen, 1);
  assert_ptr_equal(payload, data + off + 4);
  assert_int_equal(payload[0], 'z');
  off += consumed;
  /* Two trailing bytes: the start of a third header. */
  assert_int_equal(sizeof data - off, 2);
  assert_int_equal(kehu_frame_next(data + off, sizeof data - off, KEHU_FRAME_DEFAULT_MAX,
                                   &payload, &plen, &consumed),
                   KEHU_FRAME_NEED_MORE);
}

/* ---- kehu_frame_pack + kehu_envelope_decode ---- */

static void test_pack_decode_customer_add(void **state)
{
  (void)state;
  add_msg m;
  build_add(&m, 0x0123456789ABCDEFull);
  kehu_buf out = {0};
  assert_int_equal(kehu_frame_pack(&out, &m.env, KEHU_FRAME_DEFAULT_MAX), 0);
  size_t n = kehu__envelope__get_packed_size(&m.env);
  assert_int_equal(kehu_buf_size(&out), 4 + n);

  const uint8_t *payload;
  size_t plen, consumed;
  assert_int_equal(kehu_frame_next(kehu_buf_head(&out), kehu_buf_size(&out),
                                   KEHU_FRAME_DEFAULT_MAX, &payload, &plen, &consumed),
                   KEHU_FRAME_OK);
  assert_int_equal(plen, n);
  assert_int_equal(consumed, 4 + n);

  Kehu__Envelope *env = kehu_envelope_decode(payload, plen);
  assert_valid_envelope(env);
  assert_true(env->id == 0x0123456789ABCDEFull);
  assert_int_equal(env->body_case, KEHU__ENVELOPE__BODY_REQUEST);
  assert_int_equal(env->request->op_case, KEHU__REQUEST__OP_CUSTOMER_ADD);
  const Kehu__CustomerAdd *add = env->request->customer_add;
  assert_true(add->has_force && add->force);
  assert_string_equal(add->customer->name, CN_NAME);
  assert_int_equal(strlen(add->customer->name), strlen(CN_NAME));
  assert_string_equal(add->customer->owner, "zhangwei");
  assert_string_equal(add->customer->stage, "潜在");
  assert_null(add->customer->industry);   /* not given stays not given */
  assert_false(add->customer->has_version);
  assert_true(add->customer->has_last_contact_at);
  assert_true(add->customer->last_contact_at == -1);
  assert_int_equal(add->customer->n_tags, 2);
  assert_string_equal(add->customer->tags[0], "重点");
  assert_string_equal(add->customer->tags[1], "vip");
  kehu_envelope_free(env);
  kehu_buf_free(&out);
}

static void test_pack_decode_response(void **state)
{
  (void)state;
  Kehu__Envelope env = KEHU__ENVELOPE__INIT;
  Kehu__Response resp = KEHU__RESPONSE__INIT;
  Kehu__Customer c = KEHU__CUSTOMER__INIT;
  c.id = "C20241120001";
  c.name = (char *)CN_NAME;
  c.has_version = 1;
  c.version = 3;
  resp.status = KEHU__STATUS__CONFLICT;
  resp.message = "客户已存在 (duplicate)";
  resp.field = "name";
  resp.existing_id = "C20241120001";
  resp.result_case = KEHU__RESPONSE__RESULT_CUSTOMER;
  resp.customer = &c;
  env.id = 77;
  env.body_case = KEHU__ENVELOPE__BODY_RESPONSE;
  env.response = &resp;

  /* Pack appends after what is already buffered. */
  kehu_buf out = {0};
  assert_int_equal(kehu_buf_append(&out, "XYZ", 3), 0);
  assert_int_equal(kehu_frame_pack(&out, &env, KEHU_FRAME_DEFAULT_MAX), 0);
  assert_memory_equal(out.data, "XYZ", 3);
  const uint8_t *payload;
  size_t plen, consumed;
  assert_int_equal(kehu_frame_next(out.data + 3, out.len - 3, KEHU_FRAME_DEFAULT_MAX, &payload,
                                   &plen, &consumed),
                   KEHU_FRAME_OK);
  assert_int_equal(consumed, out.len - 3);

  Kehu__Envelope *d = kehu_envelope_decode(payload, plen);
  assert_valid_envelope(d);
  assert_int_equal(d->id, 77);
  assert_int_equal(d->body_case, KEHU__ENVELOPE__BODY_RESPONSE);
  assert_int_equal(d->response->status, KEHU__STATUS__CONFLICT);
  assert_string_equal(d->response->message, "客户已存在 (duplicate)");
  assert_string_equal(d->response->field, "name");
  assert_string_equal(d->response->existing_id, "C20241120001");
  assert_int_equal(d->response->result_case, KEHU__RESPONSE__RESULT_CUSTOMER);
  assert_string_equal(d->response->customer->id, "C20241120001");
  assert_string_equal(d->response->customer->name, CN_NAME);
  assert_true(d->response->customer->has_version);
  assert_int_equal(d->response->customer->version, 3);
  kehu_envelope_free(d);
  kehu_buf_free(&out);
}

/* A realistic page, as the server stores customers (id, name, stage,
 * owner, kind, times, creator, version): the bounded allocator must still
 * let the client decode it. */
static void test_decode_page_of_customers(void **state)
{
  (void)state;
  enum { N = 100 };
  Kehu__Customer cs[N], *items[N];
  char ids[N][24], names[N][64];
  for (int i = 0; i < N; i++) {
    kehu__customer__init(&cs[i]);
    snprintf(ids[i], sizeof ids[i], "C20241120%03d", i + 1);
    snprintf(names[i], sizeof names[i], "客户%d有限公司", i);
    cs[i].id = ids[i];
    cs[i].name = names[i];
    cs[i].stage = "potential";
    cs[i].owner = "li";
    cs[i].kind = "company";
    cs[i].has_created_at = cs[i].has_updated_at = 1;
    cs[i].created_at = cs[i].updated_at = 1732089600;
    cs[i].created_by = "admin";
    cs[i].has_version = 1;
    cs[i].version = 1;
    items[i] = &cs[i];
  }
  Kehu__CustomerPage page = KEHU__CUSTOMER_PAGE__INIT;
  page.items = items;
  page.n_items = N;
  page.next_cursor = "C20241120001";
  Kehu__Response resp = KEHU__RESPONSE__INIT;
  resp.status = KEHU__STATUS__OK;
  resp.result_case = KEHU__RESPONSE__RESULT_CUSTOMER_PAGE;
  resp.customer_page = &page;
  Kehu__Envelope env = KEHU__ENVELOPE__INIT;
  env.id = 9;
  env.body_case = KEHU__ENVELOPE__BODY_RESPONSE;
  env.response = &resp;
  size_t n;
  uint8_t *p = pack_raw(&env, &n);
  Kehu__Envelope *d = kehu_envelope_decode(p, n);
  assert_valid_envelope(d);
  assert_int_equal(d->response->customer_page->n_items, N);
  assert_string_equal(d->response->customer_page->items[N - 1]->name, names[N - 1]);
  kehu_envelope_free(d);
  free(p);
}

static void test_pack_refuses_too_large(void **state)
{
  (void)state;
  add_msg m;
  build_add(&m, 1);
  size_t n = kehu__envelope__get_packed_size(&m.env);

  kehu_buf out = {0};
  assert_int_equal(kehu_buf_append(&out, "prefix", 6), 0);
  kehu_buf_consume(&out, 2);   /* a read offset must survive too */
  kehu_buf before = out;
  uint8_t copy[8];
  memcpy(copy, out.data, out.len);

  assert_int_equal(kehu_frame_pack(&out, &m.env, n - 1), -1);
  assert_ptr_equal(out.data, before.data);
  assert_int_equal(out.off, before.off);
  assert_int_equal(out.len, before.len);
  assert_int_equal(out.cap, before.cap);
  assert_memory_equal(out.data, copy, before.len);

  /* Exactly the limit is fine. */
  assert_int_equal(kehu_frame_pack(&out, &m.env, n), 0);
  assert_int_equal(out.len, before.len + 4 + n);
  assert_memory_equal(kehu_buf_head(&out), "efix", 4);

  /* A big notes field against the default limit. */
  char *big = malloc(KEHU_FRAME_DEFAULT_MAX + 1);
  assert_non_null(big);
  memset(big, 'a', KEHU_FRAME_DEFAULT_MAX);
  big[KEHU_FRAME_DEFAULT_MAX] = '\0';
  m.cust.notes = big;
  size_t len_before = out.len;
  assert_int_equal(kehu_frame_pack(&out, &m.env, KEHU_FRAME_DEFAULT_MAX), -1);
  assert_int_equal(out.len, len_before);
  free(big);
  kehu_buf_free(&out);
}

/* ---- kehu_envelope_decode against hostile input ---- */

static void test_decode_random_garbage(void **state)
{
  (void)state;
  uint8_t buf[512];
  rng_state = 0x1234567887654321ull;
  int decoded = 0;
  for (int iter = 0; iter < 1000; iter++) {
    size_t len = 1 + (size_t)(rng_next() % 512);
    for (size_t i = 0; i < len; i++)
      buf[i] = (uint8_t)rng_next();
    /* Some iterations start like a real envelope, so the decoder goes
     * deeper than the first tag. */
    if (iter % 4 == 0 && len > 4) {
      buf[0] = 0x08;
      buf[1] = (uint8_t)(iter & 0x7F);
      buf[2] = (uint8_t)(0x12 + 8 * (rng_next() % 4));   /* fields 2..5, wire type 2 */
    }
    uint8_t *exact = malloc(len);   /* exact-size copy: ASan sees any over-read */
    assert_non_null(exact);
    memcpy(exact, buf, len);
    Kehu__Envelope *env = kehu_envelope_decode(exact, len);
    if (env) {
      assert_valid_envelope(env);
      decoded++;
      kehu_envelope_free(env);
    }
    free(exact);
  }
  /* Random bytes are almost never a valid envelope. */
  assert_true(decoded < 100);
}

static void test_decode_every_prefix(void **state)
{
  (void)state;
  add_msg m;
  build_add(&m, 300);   /* a 2-byte varint id */
  size_t n;
  uint8_t *full = pack_raw(&m.env, &n);
  for (size_t len = 0; len < n; len++) {
    uint8_t *p = malloc(len ? len : 1);
    assert_non_null(p);
    memcpy(p, full, len);
    Kehu__Envelope *env = kehu_envelope_decode(p, len);
    /* id comes first and the body is the last field, so no strict prefix
     * holds both: every one must be refused. */
    if (env) {
      assert_valid_envelope(env);
      kehu_envelope_free(env);
      fail_msg("prefix of %zu of %zu bytes decoded", len, n);
    }
    free(p);
  }
  Kehu__Envelope *env = kehu_envelope_decode(full, n);
  assert_valid_envelope(env);
  assert_int_equal(env->id, 300);
  kehu_envelope_free(env);
  free(full);
}

static void test_decode_without_body(void **state)
{
  (void)state;
  Kehu__Envelope env = KEHU__ENVELOPE__INIT;
  env.id = 5;
  size_t n;
  uint8_t *p = pack_raw(&env, &n);
  assert_int_equal(n, 2);   /* 08 05 */
  assert_null(kehu_envelope_decode(p, n));
  free(p);
}

static void test_decode_missing_required_id(void **state)
{
  (void)state;
  /* hello{protocol_version 1} with no id. */
  const uint8_t no_id[] = {0x12, 0x02, 0x08, 0x01};
  assert_null(kehu_envelope_decode(no_id, sizeof no_id));
  /* The same with id 5 decodes: the id was the only thing missing. */
  const uint8_t with_id[] = {0x08, 0x05, 0x12, 0x02, 0x08, 0x01};
  Kehu__Envelope *env = kehu_envelope_decode(with_id, sizeof with_id);
  assert_valid_envelope(env);
  assert_int_equal(env->id, 5);
  assert_int_equal(env->body_case, KEHU__ENVELOPE__BODY_HELLO);
  assert_int_equal(env->hello->protocol_version, 1);
  kehu_envelope_free(env);
  /* A nested required field missing (Hello.protocol_version). */
  const uint8_t empty_hello[] = {0x08, 0x05, 0x12, 0x00};
  assert_null(kehu_envelope_decode(empty_hello, sizeof empty_hello));
  /* Response without its required status. */
  const uint8_t no_status[] = {0x08, 0x05, 0x22, 0x02, 0x12, 0x00};
  assert_null(kehu_envelope_decode(no_status, sizeof no_status));
}

static void test_decode_lying_string_length(void **state)
{
  (void)state;
  /* id 1, request{login{username: length 0x0FFFFFFF, then 2 bytes}}. */
  const uint8_t inner[] = {0x08, 0x01, 0x1A, 0x09, 0x0A, 0x07,
                           0x0A, 0xFF, 0xFF, 0xFF, 0x7F, 'a', 'b'};
  assert_null(kehu_envelope_decode(inner, sizeof inner));
  /* Control: the same bytes with an honest length decode. */
  const uint8_t honest[] = {0x08, 0x01, 0x1A, 0x06, 0x0A, 0x04, 0x0A, 0x02, 'a', 'b'};
  Kehu__Envelope *env = kehu_envelope_decode(honest, sizeof honest);
  assert_valid_envelope(env);
  assert_int_equal(env->request->op_case, KEHU__REQUEST__OP_LOGIN);
  assert_string_equal(env->request->login->username, "ab");
  kehu_envelope_free(env);
  /* A 64-bit length (10-byte varint) on the outer message. */
  const uint8_t outer[] = {0x08, 0x01, 0x1A, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF,
                           0xFF, 0xFF, 0xFF, 0xFF, 0x01, 0x0A, 0x00};
  assert_null(kehu_envelope_decode(outer, sizeof outer));
  /* A length just one past the end. */
  const uint8_t off_by_one[] = {0x08, 0x01, 0x1A, 0x07, 0x0A, 0x04, 0x0A, 0x02, 'a', 'b'};
  assert_null(kehu_envelope_decode(off_by_one, sizeof off_by_one));
}

static void test_decode_empty_input(void **state)
{
  (void)state;
  const uint8_t b = 0x08;
  assert_null(kehu_envelope_decode(&b, 0));
  assert_null(kehu_envelope_decode(&b, 1));   /* a tag with no value */
  kehu_envelope_free(NULL);                    /* harmless */
}

int main(void)
{
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_next_fewer_than_header),
      cmocka_unit_test(test_next_partial_payload),
      cmocka_unit_test(test_next_zero_length_is_empty),
      cmocka_unit_test(test_next_too_large_max_plus_one),
      cmocka_unit_test(test_next_too_large_ffffffff_allocates_nothing),
      cmocka_unit_test(test_next_limit_boundary),
      cmocka_unit_test(test_next_is_big_endian),
      cmocka_unit_test(test_next_exact_whole_frame),
      cmocka_unit_test(test_next_two_frames_back_to_back),
      cmocka_unit_test(test_pack_decode_customer_add),
      cmocka_unit_test(test_pack_decode_response),
      cmocka_unit_test(test_decode_page_of_customers),
      cmocka_unit_test(test_pack_refuses_too_large),
      cmocka_unit_test(test_decode_random_garbage),
      cmocka_unit_test(test_decode_every_prefix),
      cmocka_unit_test(test_decode_without_body),
      cmocka_unit_test(test_decode_missing_required_id),
      cmocka_unit_test(test_decode_lying_string_length),
      cmocka_unit_test(test_decode_empty_input),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
