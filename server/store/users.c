/* Users (by username) and login sessions (by SHA-256 of their token: the
 * token itself is never stored). */
#include <string.h>

#include "store_internal.h"

int kehu_store_user_get(kehu_txn *t, const char *username, Kehu__UserRecord **out)
{
  size_t n = strlen(username);
  if (n == 0 || n > 511) {
    *out = NULL;
    return KEHU_NOT_FOUND;
  }
  return kehu_get_message(t, t->st->users, username, n, &kehu__user_record__descriptor,
                          (ProtobufCMessage **)out);
}

int kehu_store_user_put(kehu_txn *t, const Kehu__UserRecord *u)
{
  return kehu_put_message(t, t->st->users, u->username, strlen(u->username), &u->base);
}

int kehu_store_user_each(kehu_txn *t, void (*each)(const Kehu__UserRecord *u, void *arg),
                         void *arg)
{
  MDB_cursor *cur;
  int rc = mdb_cursor_open(t->txn, t->st->users, &cur);
  if (rc != 0)
    return kehu_store_status(rc);
  MDB_val k, v;
  int status = KEHU_OK;
  for (rc = mdb_cursor_get(cur, &k, &v, MDB_FIRST); rc == 0;
       rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT)) {
    Kehu__UserRecord *u = kehu__user_record__unpack(NULL, v.mv_size, v.mv_data);
    if (!u) {
      status = KEHU_INTERNAL;
      break;
    }
    each(u, arg);
    kehu__user_record__free_unpacked(u, NULL);
  }
  mdb_cursor_close(cur);
  if (status == KEHU_OK && rc != MDB_NOTFOUND)
    status = kehu_store_status(rc);
  return status;
}

int kehu_store_session_get(kehu_txn *t, const unsigned char hash[32], Kehu__SessionRecord **out)
{
  return kehu_get_message(t, t->st->sessions, hash, 32, &kehu__session_record__descriptor,
                          (ProtobufCMessage **)out);
}

int kehu_store_session_put(kehu_txn *t, const unsigned char hash[32],
                           const Kehu__SessionRecord *s)
{
  return kehu_put_message(t, t->st->sessions, hash, 32, &s->base);
}

int kehu_store_session_delete(kehu_txn *t, const unsigned char hash[32])
{
  int rc = kehu_logged_del(t, t->st->sessions, hash, 32);
  return rc == KEHU_NOT_FOUND ? KEHU_OK : rc;
}

int kehu_store_session_delete_user(kehu_txn *t, const char *username, unsigned *ended)
{
  MDB_cursor *cur;
  int rc = mdb_cursor_open(t->txn, t->st->sessions, &cur);
  if (rc != 0)
    return kehu_store_status(rc);
  *ended = 0;
  MDB_val k, v;
  int status = KEHU_OK;
  /* Sessions are keyed by their token's hash, so a user's are found by
   * reading them all: a few per user, and this runs on admin changes only. */
  for (rc = mdb_cursor_get(cur, &k, &v, MDB_FIRST); rc == 0 && status == KEHU_OK;
       rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT)) {
    Kehu__SessionRecord *s = kehu__session_record__unpack(NULL, v.mv_size, v.mv_data);
    if (s && strcmp(s->username, username) == 0) {
      int drc = kehu_logged_cursor_del(t, cur);
      if (drc != KEHU_OK)
        status = drc;
      else
        (*ended)++;
    }
    if (s)
      kehu__session_record__free_unpacked(s, NULL);
  }
  mdb_cursor_close(cur);
  if (status == KEHU_OK && rc != MDB_NOTFOUND && rc != 0)
    status = kehu_store_status(rc);
  return status;
}
