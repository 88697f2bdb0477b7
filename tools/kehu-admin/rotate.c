/* kehu-admin rotate-key DATADIR (docs/operations.md#rotating-the-data-key):
 * every sealed value encrypted again under a new key generation, while
 * kehud runs. The order makes it safe to kill at any moment and run again:
 *   1. the new key file, written durably before anything names it;
 *   2. one transaction sets seal:gen and seal:rotating to the new
 *      generation: every write after it, kehud's too, seals under it;
 *   3. the walk over the sealed tables, a short transaction per step;
 *   4. once a look over every sealed value finds none under another
 *      generation, one transaction removes seal:rotating (and audits);
 *   5. the key files of older generations go (data.key stays).
 * A run that finds seal:rotating resumes that rotation from step 3. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "admin.h"
#include "audit_entry.h"
#include "fsync_path.h"
#include "tls.h"

static const char rotate_usage[] =
  "usage: kehu-admin rotate-key DATADIR\n"
  "  Re-encrypts every sealed value (contacts, needs, contracts, orders, attachment\n"
  "  bytes) under a new data key: key generation G, kept in DATADIR/keys/seal-G.key.\n"
  "  Safe while kehud runs: from the start its writes seal under the new key, and the\n"
  "  old values are sealed again in short transactions. Interrupted, it resumes when\n"
  "  run again. At the end no value is left under an older key and the older key files\n"
  "  are removed; data.key stays (it also keys the index hashes). Back up DATADIR/keys/\n"
  "  with data.key: without them the sealed values cannot be read.\n"
  "  DATADIR   a data directory made by kehu-admin init\n";

/* A step's bounds: kehud's writes wait for one step at most, a few
 * milliseconds of small values or about 15 ms of attachment chunks (8 of
 * 256 KiB: unsealed, sealed and written). */
#define STEP_VALUES 512
#define STEP_BYTES (2u << 20)
/* A pause between steps: LMDB's write lock is not fair, and without it
 * this process would mostly take it again before kehud's writer woke. */
#define STEP_PAUSE_NS 2000000L
/* Passes over the tables before giving up on values still under an older
 * key: one does it (writes seal under the new generation from step 2 on),
 * a second would only find what something other than kehud wrote. */
#define MAX_PASSES 3

/* Serialises rotate-key runs on one data directory: two would each make
 * their own key for the same generation. Released when the process ends,
 * also by kill -9. Returns the descriptor, or -1 having said why. */
static int lock_rotation(const char *dir)
{
  char path[700];
  snprintf(path, sizeof path, "%s/rotate-key.lock", dir);
  int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
  if (fd < 0) {
    kehu_admin_fail(KEHU_INTERNAL, "cannot open %s: %s", path, strerror(errno));
    return -1;
  }
  if (flock(fd, LOCK_EX | LOCK_NB) != 0) {
    int e = errno;
    close(fd);
    if (e == EWOULDBLOCK)
      kehu_admin_fail(KEHU_CONFLICT, "another kehu-admin rotate-key is running on %s", dir);
    else
      kehu_admin_fail(KEHU_INTERNAL, "cannot lock %s: %s", path, strerror(e));
    return -1;
  }
  return fd;
}

/* DATADIR/keys/seal-GEN.key: 32 random bytes, mode 0600, written to a
 * temporary name, synced, renamed and the directory synced, so that the
 * key is on disk before the store names its generation. A file an
 * interrupted run left there is kept, never replaced: kehud loads the key
 * files it finds when it starts, and must never hold other bytes for a
 * generation than the file does. 0 or an exit code. */
static int make_key_file(const char *data_dir, const char *key_dir, unsigned gen)
{
  char path[4200], tmp[4200];
  snprintf(path, sizeof path, "%s/seal-%u.key", key_dir, gen);
  snprintf(tmp, sizeof tmp, "%s/seal-%u.key.tmp", key_dir, gen);
  if (mkdir(key_dir, 0700) == 0) {
    if (kehu_fsync_path(data_dir) != 0)
      return kehu_admin_fail(KEHU_INTERNAL, "cannot sync %s: %s", data_dir, strerror(errno));
  } else if (errno != EEXIST) {
    return kehu_admin_fail(KEHU_INTERNAL, "cannot create %s: %s", key_dir, strerror(errno));
  }
  if (access(path, F_OK) == 0)
    return 0;
  unsigned char key[32];
  kehu_rng rng;
  if (kehu_rng_init(&rng, "kehu-seal-key") != 0 || kehu_rng_bytes(&rng, key, sizeof key) != 0)
    return kehu_admin_fail(KEHU_INTERNAL, "cannot seed the random generator");
  kehu_rng_free(&rng);
  int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  int ok = fd >= 0 && fchmod(fd, 0600) == 0 && write(fd, key, sizeof key) == (ssize_t)sizeof key &&
           fsync(fd) == 0;
  int e = errno;
  if (fd >= 0)
    close(fd);
  memset(key, 0, sizeof key);
  if (ok && (rename(tmp, path) != 0 || kehu_fsync_path(key_dir) != 0)) {
    ok = 0;
    e = errno;
  }
  if (!ok) {
    unlink(tmp);
    return kehu_admin_fail(KEHU_INTERNAL, "cannot write the key file %s: %s", path, strerror(e));
  }
  return 0;
}

typedef struct {
  unsigned from, to;   /* begin: the generation seen, the new one */
} begin_arg;

/* Step 2, provided nothing changed since the generation was read. */
static int apply_begin(kehu_txn *t, void *arg)
{
  begin_arg *b = arg;
  unsigned gen, rotating;
  int rc = kehu_store_seal_state(t, &gen, &rotating);
  if (rc != KEHU_OK)
    return rc;
  if (gen != b->from || rotating)
    return KEHU_CONFLICT;
  return kehu_store_rotation_begin(t, b->to);
}

typedef struct {
  unsigned gen;
  kehu_reseal_pos pos;    /* where the last committed step stopped */
  kehu_reseal_pos next;   /* where the step being applied stops */
  size_t resealed;        /* by the step being applied */
  int done;
  kehu_error err;
} step_arg;

/* The rotation must still be the one this run works on: seal:gen and
 * seal:rotating both gen (a step seals under seal:gen). */
static int check_rotating(kehu_txn *t, unsigned want)
{
  unsigned gen, rotating;
  int rc = kehu_store_seal_state(t, &gen, &rotating);
  if (rc == KEHU_OK && (gen != want || rotating != want))
    rc = KEHU_CONFLICT;
  return rc;
}

/* Step 3, one bounded step; it may run again (a full map), so it starts
 * from the committed position each time. */
static int apply_step(kehu_txn *t, void *arg)
{
  step_arg *s = arg;
  int rc = check_rotating(t, s->gen);
  if (rc != KEHU_OK)
    return rc;
  s->next = s->pos;
  kehu_error_clear(&s->err);
  return kehu_store_reseal_step(t, &s->next, STEP_VALUES, STEP_BYTES, &s->resealed, &s->done,
                                &s->err);
}

typedef struct {
  unsigned gen;
  size_t resealed;
  int resumed;
} end_arg;

/* Step 4, audited in the same transaction. */
static int apply_end(kehu_txn *t, void *arg)
{
  end_arg *e = arg;
  int rc = check_rotating(t, e->gen);
  if (rc == KEHU_OK)
    rc = kehu_store_rotation_end(t);
  if (rc == KEHU_OK) {
    char id[16], details[160];
    snprintf(id, sizeof id, "%u", e->gen);
    snprintf(details, sizeof details,
             "every sealed value under key generation %u by kehu-admin rotate-key%s: %zu "
             "re-sealed by this run",
             e->gen, e->resumed ? " (resumed)" : "", e->resealed);
    kehu_caller admin = {.username = "kehu-admin"};
    rc = kehu_audit(t, &admin, (int64_t)time(NULL), "rotate_key", "data_key", id, details);
  }
  return rc;
}

/* Values of the sealed tables under another generation than gen, in one
 * snapshot. */
static int count_others(kehu_store *st, unsigned gen, size_t *other, size_t *total)
{
  kehu_txn t;
  int rc = kehu_store_read_begin(st, &t);
  if (rc != KEHU_OK)
    return rc;
  rc = kehu_store_seal_count(&t, gen, other, total);
  kehu_store_read_end(&t);
  return rc;
}

static int stopped(int rc, unsigned gen, const char *what)
{
  kehu_admin_fail(rc, "%s", what);
  fprintf(stderr,
          "kehu-admin: nothing more was changed; the rotation to key generation %u stays in "
          "progress: run kehu-admin rotate-key again once the problem is fixed\n",
          gen);
  return rc;
}

/* Step 3 until a look finds no value under another generation. */
static int walk(kehu_store *st, unsigned gen, size_t *resealed, size_t *total)
{
  for (int pass = 0; pass < MAX_PASSES; pass++) {
    step_arg s = {.gen = gen};
    while (!s.done) {
      int rc = kehu_store_write(st, apply_step, &s);
      if (rc == KEHU_CONFLICT)
        return stopped(rc, gen, "the key generation changed meanwhile (another rotate-key?)");
      if (rc != KEHU_OK)
        return stopped(rc, gen, s.err.message[0] ? s.err.message : kehu_status_name(rc));
      s.pos = s.next;
      *resealed += s.resealed;
      if (!s.done)
        nanosleep(&(struct timespec){0, STEP_PAUSE_NS}, NULL);
    }
    size_t other = 0;
    int rc = count_others(st, gen, &other, total);
    if (rc != KEHU_OK)
      return stopped(rc, gen, "cannot count the sealed values");
    if (other == 0)
      return 0;
  }
  return stopped(KEHU_INTERNAL, gen, "values under older keys keep appearing");
}

/* Step 5: the key files of generations 2 .. gen-1 (no value needs them). */
static void remove_old_keys(const char *key_dir, unsigned gen)
{
  int removed = 0;
  for (unsigned g = 2; g < gen; g++) {
    char path[4200];
    snprintf(path, sizeof path, "%s/seal-%u.key", key_dir, g);
    if (unlink(path) == 0)
      removed = 1;
    else if (errno != ENOENT)
      fprintf(stderr, "kehu-admin: cannot remove %s (no value needs it now): %s\n", path,
              strerror(errno));
  }
  if (removed)
    kehu_fsync_path(key_dir);
}

/* Steps 1 and 2; *gen is the generation to rotate to. 0 or an exit code. */
static int start_rotation(kehu_store *st, const char *dir, unsigned *gen, int *resumed)
{
  kehu_txn t;
  unsigned current = 1, rotating = 0;
  int rc = kehu_store_read_begin(st, &t);
  if (rc == KEHU_OK) {
    rc = kehu_store_seal_state(&t, &current, &rotating);
    kehu_store_read_end(&t);
  }
  if (rc != KEHU_OK)
    return kehu_admin_fail(rc, "cannot read the key generation (meta seal:gen, seal:rotating)");
  kehu_error err = {0};
  if (rotating) {
    *gen = rotating;
    *resumed = 1;
    printf("resuming the rotation to key generation %u\n", rotating);
    if (kehu_store_seal_key_load(st, rotating, &err) != KEHU_OK)
      return kehu_admin_fail(KEHU_INTERNAL, "%s", err.message);
    return 0;
  }
  if (current >= KEHU_SEAL_GEN_MAX)
    return kehu_admin_fail(KEHU_EXHAUSTED, "the store is at key generation %u, the last there is",
                           current);
  *gen = current + 1;
  rc = make_key_file(dir, kehu_store_key_dir(st), *gen);
  if (rc != 0)
    return rc;
  if (kehu_store_seal_key_load(st, *gen, &err) != KEHU_OK)
    return kehu_admin_fail(KEHU_INTERNAL, "%s", err.message);
  begin_arg b = {current, *gen};
  rc = kehu_store_write(st, apply_begin, &b);
  if (rc == KEHU_CONFLICT)
    return kehu_admin_fail(rc, "the key generation changed meanwhile (another rotate-key?)");
  if (rc != KEHU_OK)
    return kehu_admin_fail(rc, "cannot start the rotation: %s", kehu_status_name(rc));
  return 0;
}

int kehu_admin_rotate_key(int argc, char **argv)
{
  const char *dir = NULL;
  static const char *const names[] = {"DATADIR", NULL};
  kehu_admin_spec spec = {"rotate-key", rotate_usage, names, &dir, NULL, 0};
  int rc = kehu_admin_parse(&spec, argc, argv);
  if (rc != KEHU_OK)
    return rc == KEHU_ADMIN_HELP_SHOWN ? 0 : rc;
  kehu_store *st;
  if ((rc = kehu_admin_open(dir, &st)) != 0)
    return rc;
  int lock = lock_rotation(dir);
  if (lock < 0) {
    kehu_store_close(st);
    return KEHU_CONFLICT;
  }
  unsigned gen = 0;
  int resumed = 0;
  size_t resealed = 0, total = 0;
  rc = start_rotation(st, dir, &gen, &resumed);
  if (rc == 0)
    rc = walk(st, gen, &resealed, &total);
  if (rc == 0) {
    end_arg e = {gen, resealed, resumed};
    rc = kehu_store_write(st, apply_end, &e);
    if (rc != KEHU_OK)
      rc = stopped(rc, gen, "cannot record the end of the rotation");
  }
  if (rc == 0) {
    remove_old_keys(kehu_store_key_dir(st), gen);
    printf("re-sealed %zu values under key generation %u; %zu sealed values in all, 0 remain "
           "under older keys\n",
           resealed, gen, total);
    printf("keep %s/seal-%u.key with data.key and back up both\n", kehu_store_key_dir(st), gen);
  }
  kehu_store_close(st);
  close(lock);
  return rc;
}
