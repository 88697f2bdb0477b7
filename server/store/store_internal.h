/* Inside the store: the environment, its named databases, and helpers the
 * table files share. Nothing outside server/store includes this. */
#ifndef KEHU_STORE_INTERNAL_H
#define KEHU_STORE_INTERNAL_H

#include <pthread.h>

#include "store.h"

struct kehu_store {
  MDB_env *env;
  size_t map_size;
  /* Readers hold it shared for the life of a read transaction; growing the
   * map takes it exclusively, because LMDB may only resize with no
   * transaction active in the process. */
  pthread_rwlock_t resize_lock;
  MDB_dbi meta;           /* string key -> value (sequences, schema) */
  MDB_dbi users;          /* username -> UserRecord */
  MDB_dbi sessions;       /* SHA-256(token) -> SessionRecord */
  MDB_dbi customers;      /* customer key -> Customer */
  MDB_dbi cust_owner;     /* owner -> customer key (dupsort, dupfixed) */
  MDB_dbi cust_stage;     /* stage -> customer key (dupsort, dupfixed) */
  MDB_dbi cust_extcode;   /* external code -> customer key (unique) */
};

/* Packs msg and puts it under key. */
int kehu_put_message(kehu_txn *t, MDB_dbi dbi, const void *key, size_t klen,
                     const ProtobufCMessage *msg);
/* Looks key up and unpacks it with desc; NOT_FOUND when absent. */
int kehu_get_message(kehu_txn *t, MDB_dbi dbi, const void *key, size_t klen,
                     const ProtobufCMessageDescriptor *desc, ProtobufCMessage **out);
/* Index entries: value is an 8-byte big-endian key under a string key. */
int kehu_index_add(kehu_txn *t, MDB_dbi dbi, const char *k, uint64_t id);
int kehu_index_del(kehu_txn *t, MDB_dbi dbi, const char *k, uint64_t id);

/* Grows the map (doubling); called with no transaction of ours active. */
int kehu_store_grow(kehu_store *st);

#endif
