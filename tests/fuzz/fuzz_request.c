/* Arbitrary Envelopes through the real dispatch and handlers, as an admin,
 * against a store in a temporary directory: the server must answer or
 * refuse every request without crashing, leaking or corrupting an index.
 * Password logins are left out (each would hash for 25 ms). */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "dispatch.h"
#include "frame.h"
#include "reminders/scheduler.h"
#include "server.h"
#include "session.h"
#include "writes.h"

static kehu_server srv;

static void put_file(const char *dir, const char *name, const void *p, size_t n)
{
  char path[512];
  snprintf(path, sizeof path, "%s/%s", dir, name);
  FILE *f = fopen(path, "wb");
  if (f) {
    fwrite(p, 1, n, f);
    fclose(f);
  }
}

static int seed_admin(kehu_txn *t, void *arg)
{
  (void)arg;
  Kehu__UserRecord u = KEHU__USER_RECORD__INIT;
  u.username = "admin";
  u.role = "admin";
  u.password_hash = "-";
  Kehu__SessionRecord s = KEHU__SESSION_RECORD__INIT;
  s.username = "admin";
  unsigned char hash[32] = {0};
  int rc = kehu_store_user_put(t, &u);
  return rc == KEHU_OK ? kehu_store_session_put(t, hash, &s) : rc;
}

static void setup(void)
{
  char dir[] = "/tmp/kehu-fuzz-XXXXXX";
  if (!mkdtemp(dir))
    abort();
  unsigned char key[32] = {1, 2, 3};
  put_file(dir, "data.key", key, sizeof key);
  kehu_error err = {0};
  kehu_config_load(&srv.cfg, dir, &err);
  srv.login_gate.max = srv.cfg.max_login_work;
  srv.read_gate.max = srv.cfg.max_read_work;
  char db[600];
  snprintf(db, sizeof db, "%s/db", dir);
  if (kehu_store_open(&srv.store, db, 1 << 24, &err) != KEHU_OK)
    abort();
  snprintf(db, sizeof db, "%s/data.key", dir);
  kehu_store_load_key(srv.store, db, &err);
  kehu_store_write(srv.store, seed_admin, NULL);
  srv.loop = uv_default_loop();
  kehu_rng_init(&srv.rng, "fuzz");
  srv.writer_done.data = &srv;
  if (kehu_writer_start(&srv.writer, srv.store, NULL, NULL) != KEHU_OK)
    abort();
  kehu_scheduler_start(&srv);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
  if (!srv.store)
    setup();
  Kehu__Envelope *env = kehu_envelope_decode(data, size);
  if (!env)
    return 0;
  if (env->body_case != KEHU__ENVELOPE__BODY_REQUEST ||
      env->request->op_case == KEHU__REQUEST__OP__NOT_SET ||
      env->request->op_case == KEHU__REQUEST__OP_LOGIN) {
    kehu_envelope_free(env);
    return 0;
  }
  /* A session without a connection: its replies are dropped. */
  kehu_session *s = kehu_session_new(&srv, NULL, "127.0.0.1");
  if (!s)
    abort();
  Kehu__UserRecord admin = KEHU__USER_RECORD__INIT;
  admin.username = admin.role = "admin";
  unsigned char hash[32] = {0};
  kehu_session_set_identity(s, &admin, hash);
  kehu_dispatch(s, NULL, env, 0);
  for (int i = 0; i < 50000 && kehu_session_calls(s) > 0; i++) {
    kehu_writes_finished(&srv);
    kehu_scheduler_poke(&srv);
    uv_run(srv.loop, UV_RUN_NOWAIT);
    if (kehu_session_calls(s) > 0)
      usleep(100);
  }
  if (kehu_session_calls(s) > 0)
    abort();   /* a request that never answers is a bug too */
  kehu_session_close(s);   /* frees s */
  return 0;
}
