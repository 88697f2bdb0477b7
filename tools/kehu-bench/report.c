/* What kehu-bench says: errors as they happen (once per kind), CPU time of
 * the server and of the bench itself, and the result as a table or as one
 * JSON object per line per operation (docs/architecture.md#performance-design). */
#include <ctype.h>
#include <dirent.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#include "bench.h"

#define ERRORS_PRINTED 5   /* distinct errors printed while running */

/* ---- errors and notes ---- */

/* Messages that differ only in numbers (ids, versions) are one kind. */
static void error_key(char *key, size_t n, const char *op, const char *msg)
{
  size_t k = (size_t)snprintf(key, n, "%s: ", op);
  for (const char *p = msg; *p && k + 1 < n; p++) {
    if (isdigit((unsigned char)*p)) {
      if (k == 0 || key[k - 1] != '#')
        key[k++] = '#';
    } else {
      key[k++] = *p;
    }
  }
  key[k < n ? k : n - 1] = '\0';
}

void bench_error(bench_report *r, const char *op, const char *fmt, ...)
{
  char msg[320], key[160];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(msg, sizeof msg, fmt, ap);
  va_end(ap);
  error_key(key, sizeof key, op, msg);
  for (unsigned i = 0; i < r->nerror_kinds; i++) {
    if (strcmp(r->errors[i].key, key) == 0) {
      r->errors[i].count++;
      return;
    }
  }
  if (r->nerror_kinds == BENCH_ERROR_KINDS) {
    r->errors_unsorted++;
    return;
  }
  bench_error_kind *e = &r->errors[r->nerror_kinds++];
  snprintf(e->key, sizeof e->key, "%s", key);
  snprintf(e->first, sizeof e->first, "%s: %s", op, msg);
  e->count = 1;
  if (r->nerror_kinds <= ERRORS_PRINTED)
    fprintf(stderr, "kehu-bench: error: %s\n", e->first);
  else if (r->nerror_kinds == ERRORS_PRINTED + 1)
    fprintf(stderr, "kehu-bench: more kinds of errors: counted in the report\n");
}

void bench_note(bench_report *r, const char *fmt, ...)
{
  if (r->nnotes == sizeof r->notes / sizeof *r->notes)
    return;
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(r->notes[r->nnotes++], sizeof r->notes[0], fmt, ap);
  va_end(ap);
}

uint64_t bench_total_errors(const bench_report *r)
{
  uint64_t n = r->other_errors;
  for (int k = 0; k < STAT_COUNT; k++)
    n += r->stats[k].errors;
  return n;
}

/* ---- CPU time ---- */

static int is_local(const char *host)
{
  return strcmp(host, "localhost") == 0 || strncmp(host, "127.", 4) == 0 ||
         strcmp(host, "::1") == 0;
}

/* The inode of the socket listening on port, from /proc/net/tcp{,6}. */
static unsigned long listening_inode(unsigned port)
{
  const char *files[] = {"/proc/net/tcp", "/proc/net/tcp6"};
  for (size_t f = 0; f < 2; f++) {
    FILE *in = fopen(files[f], "r");
    if (!in)
      continue;
    char line[512];
    unsigned long found = 0;
    while (!found && fgets(line, sizeof line, in)) {
      char local[64];
      unsigned st;
      unsigned long inode;
      if (sscanf(line, " %*d: %63s %*s %x %*s %*s %*s %*d %*d %lu", local, &st, &inode) != 3)
        continue;
      const char *colon = strrchr(local, ':');
      if (st == 0x0A && colon && strtoul(colon + 1, NULL, 16) == port)
        found = inode;
    }
    fclose(in);
    if (found)
      return found;
  }
  return 0;
}

/* The process holding socket inode: readable only for our own processes,
 * which is the case the bench is meant for (server and bench side by side). */
static long owner_of_inode(unsigned long inode)
{
  char want[64];
  snprintf(want, sizeof want, "socket:[%lu]", inode);
  DIR *proc = opendir("/proc");
  if (!proc)
    return 0;
  long pid = 0;
  struct dirent *d;
  while (!pid && (d = readdir(proc))) {
    if (!isdigit((unsigned char)d->d_name[0]) || atol(d->d_name) == (long)getpid())
      continue;
    char dir[300];
    snprintf(dir, sizeof dir, "/proc/%s/fd", d->d_name);
    DIR *fds = opendir(dir);
    if (!fds)
      continue;
    struct dirent *fd;
    while (!pid && (fd = readdir(fds))) {
      char path[600], target[64];
      snprintf(path, sizeof path, "%s/%s", dir, fd->d_name);
      ssize_t n = readlink(path, target, sizeof target - 1);
      if (n <= 0)
        continue;
      target[n] = '\0';
      if (strcmp(target, want) == 0)
        pid = atol(d->d_name);
    }
    closedir(fds);
  }
  closedir(proc);
  return pid;
}

long bench_find_server_pid(const bench_options *o)
{
  if (!is_local(o->host))
    return 0;
  unsigned long inode = listening_inode((unsigned)atoi(o->port));
  return inode ? owner_of_inode(inode) : 0;
}

/* The file at path into buf, NUL-terminated (at most len - 1 bytes); its
 * length, -1 when it cannot be read. */
static long slurp(const char *path, char *buf, size_t len)
{
  FILE *f = fopen(path, "r");
  if (!f)
    return -1;
  size_t n = fread(buf, 1, len - 1, f);
  fclose(f);
  buf[n] = '\0';
  return (long)n;
}

/* utime + stime in clock ticks, from /proc/PID/stat; -1 if unreadable. */
static long long process_ticks(long pid)
{
  char path[64], buf[1024];
  snprintf(path, sizeof path, "/proc/%ld/stat", pid);
  if (slurp(path, buf, sizeof buf) < 0)
    return -1;
  const char *p = strrchr(buf, ')');   /* the command name may hold spaces */
  unsigned long long ut, st;
  if (!p || sscanf(p + 1, " %*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %llu %llu", &ut, &st) != 2)
    return -1;
  return (long long)(ut + st);
}

/* wchar of /proc/PID/io: bytes the process wrote by system calls. */
static int process_wchar(long pid, uint64_t *out)
{
  char path[64], buf[512];
  snprintf(path, sizeof path, "/proc/%ld/io", pid);
  const char *w = slurp(path, buf, sizeof buf) < 0 ? NULL : strstr(buf, "wchar: ");
  unsigned long long n;
  if (!w || sscanf(w, "wchar: %llu", &n) != 1)
    return -1;
  *out = n;
  return 0;
}

/* The server's data directory: the argument after --data on its command
 * line, relative to its working directory. */
static int server_data_dir(long pid, char *out, size_t len)
{
  char path[64], buf[4096];
  snprintf(path, sizeof path, "/proc/%ld/cmdline", pid);
  long got = slurp(path, buf, sizeof buf);
  if (got < 0)
    return -1;
  size_t n = (size_t)got;
  for (size_t i = 0; i < n; i += strlen(buf + i) + 1)
    if (strcmp(buf + i, "--data") == 0 && i + 7 < n) {
      const char *dir = buf + i + 7;
      if (dir[0] == '/')
        snprintf(out, len, "%s", dir);
      else
        snprintf(out, len, "/proc/%ld/cwd/%s", pid, dir);
      return 0;
    }
  return -1;
}

/* commits and commit_ms from DATADIR/kehud.stats. */
static int server_commits(long pid, double *commits, double *commit_ms)
{
  char dir[3000], path[3100], buf[512];
  if (server_data_dir(pid, dir, sizeof dir) != 0)
    return -1;
  snprintf(path, sizeof path, "%s/kehud.stats", dir);
  if (slurp(path, buf, sizeof buf) < 0)
    return -1;
  const char *c = strstr(buf, "\"commits\": "), *m = strstr(buf, "\"commit_ms\": ");
  if (!c || !m)
    return -1;
  *commits = strtod(c + 11, NULL);
  *commit_ms = strtod(m + 13, NULL);
  return 0;
}

void bench_cpu_sample(bench_cpu *cpu, int end)
{
  if (cpu->server_pid) {
    uint64_t w = 0;
    double c = 0, ms = 0;
    int io = process_wchar(cpu->server_pid, &w) == 0;
    int st = server_commits(cpu->server_pid, &c, &ms) == 0;
    if (!end) {
      cpu->server_io_known = io;
      cpu->server_stats_known = st;
      cpu->wchar_start = w;
      cpu->commits_start = c;
      cpu->commit_ms_start = ms;
    } else {
      cpu->server_io_known &= io;
      cpu->server_stats_known &= st;
      cpu->wchar_end = w;
      cpu->commits_end = c;
      cpu->commit_ms_end = ms;
    }
  }
  struct rusage ru;
  getrusage(RUSAGE_SELF, &ru);
  double self = (double)ru.ru_utime.tv_sec + (double)ru.ru_utime.tv_usec / 1e6 +
                (double)ru.ru_stime.tv_sec + (double)ru.ru_stime.tv_usec / 1e6;
  long long ticks = cpu->server_pid ? process_ticks(cpu->server_pid) : -1;
  if (!end) {
    cpu->client_cpu_start_s = self;
    cpu->server_ticks_start = ticks < 0 ? 0 : (uint64_t)ticks;
    cpu->server_cpu_known = ticks >= 0;
  } else {
    cpu->client_cpu_end_s = self;
    cpu->server_ticks_end = ticks < 0 ? 0 : (uint64_t)ticks;
    cpu->server_cpu_known = cpu->server_cpu_known && ticks >= 0;
  }
}

/* ---- output ---- */

typedef struct {
  char op[32];
  const bench_stats *s;
  int primary;               /* carries CPU figures and notes */
} row;

static double ms(double ns) { return ns / 1e6; }

static void json_string(FILE *out, const char *s)
{
  fputc('"', out);
  for (; *s; s++) {
    if (*s == '"' || *s == '\\')
      fprintf(out, "\\%c", *s);
    else if ((unsigned char)*s < 0x20)
      fprintf(out, "\\u%04x", (unsigned char)*s);
    else
      fputc(*s, out);
  }
  fputc('"', out);
}

static uint64_t total_ops(const bench_report *r)
{
  uint64_t n = 0;
  for (int k = 0; k < STAT_COUNT; k++)
    n += r->stats[k].ops;
  return n;
}

static double server_ms_per_op(const bench_report *r)
{
  uint64_t ops = total_ops(r);
  /* Clock ticks are 10 ms: a shorter run would report noise. */
  if (!r->cpu.server_cpu_known || ops == 0 || r->elapsed_s < 0.5)
    return -1;
  double ticks = (double)(r->cpu.server_ticks_end - r->cpu.server_ticks_start);
  return ticks * 1000.0 / (double)sysconf(_SC_CLK_TCK) / (double)ops;
}

static double client_ms_per_op(const bench_report *r)
{
  uint64_t ops = total_ops(r);
  if (ops == 0)
    return -1;
  return (r->cpu.client_cpu_end_s - r->cpu.client_cpu_start_s) * 1000.0 / (double)ops;
}

static void print_json_row(const bench_report *r, const row *w, FILE *out)
{
  const bench_options *o = r->opt;
  const bench_stats *s = w->s;
  double rate = r->elapsed_s > 0 ? (double)s->ops / r->elapsed_s : 0;
  fprintf(out, "{\"op\": ");
  json_string(out, w->op);
  fprintf(out, ", \"connections\": %u, \"depth\": %u, \"ops_per_s\": %.1f, \"p50_ms\": %.3f, "
          "\"p99_ms\": %.3f, \"p999_ms\": %.3f, \"errors\": %llu, \"conflicts\": %llu",
          o->connections, o->op == OP_CONNECT ? 1 : o->depth, rate,
          ms(bench_hist_quantile(&s->hist, 0.5)), ms(bench_hist_quantile(&s->hist, 0.99)),
          ms(bench_hist_quantile(&s->hist, 0.999)), (unsigned long long)s->errors,
          (unsigned long long)s->conflicts);
  fprintf(out, ", \"ops\": %llu, \"elapsed_s\": %.3f", (unsigned long long)s->ops, r->elapsed_s);
  if (s->step.total)
    fprintf(out, ", \"update_only_p50_ms\": %.3f, \"update_only_p99_ms\": %.3f",
            ms(bench_hist_quantile(&s->step, 0.5)), ms(bench_hist_quantile(&s->step, 0.99)));
  if (o->op == OP_CONNECT)
    fprintf(out, ", \"resumed\": %llu, \"full_handshakes\": %llu",
            (unsigned long long)r->resumed, (unsigned long long)r->full);
  if (w->primary) {
    double server = server_ms_per_op(r), client = client_ms_per_op(r);
    if (server >= 0)
      fprintf(out, ", \"server_cpu_ms_per_op\": %.4f, \"server_pid\": %ld", server,
              r->cpu.server_pid);
    if (client >= 0)
      fprintf(out, ", \"client_cpu_ms_per_op\": %.4f", client);
    uint64_t ops = total_ops(r);
    if (r->cpu.server_io_known && ops)
      fprintf(out, ", \"server_kib_written_per_op\": %.2f",
              (double)(r->cpu.wchar_end - r->cpu.wchar_start) / 1024.0 / (double)ops);
    double commits = r->cpu.commits_end - r->cpu.commits_start;
    if (r->cpu.server_stats_known && commits > 0)
      fprintf(out, ", \"commits\": %.0f, \"commit_ms_mean\": %.3f", commits,
              (r->cpu.commit_ms_end - r->cpu.commit_ms_start) / commits);
    if (r->unfinished)
      fprintf(out, ", \"unfinished\": %llu", (unsigned long long)r->unfinished);
    if (r->timed_out)
      fprintf(out, ", \"timed_out\": true");
    for (unsigned i = 0; i < r->nnotes; i++) {
      fprintf(out, i == 0 ? ", \"notes\": [" : ", ");
      json_string(out, r->notes[i]);
      if (i + 1 == r->nnotes)
        fputc(']', out);
    }
  }
  fprintf(out, "}\n");
}

static void print_table(const bench_report *r, const row *rows, size_t nrows, FILE *out)
{
  const bench_options *o = r->opt;
  fprintf(out, "kehu-bench --op %s: %s, %u connection%s", o->op_name, o->server, o->connections,
          o->connections == 1 ? "" : "s");
  if (o->op != OP_CONNECT)
    fprintf(out, " x depth %u", o->depth);
  fprintf(out, ", %.3f s measured%s\n", r->elapsed_s,
          r->cpu.server_pid ? " (bench and server share this machine's CPUs)" : "");
  fprintf(out, "%-12s %12s %9s %9s %9s %9s %9s\n", "op", "ops/s", "p50 ms", "p99 ms", "p999 ms",
          "errors", "conflicts");
  for (size_t i = 0; i < nrows; i++) {
    const bench_stats *s = rows[i].s;
    fprintf(out, "%-12s %12.1f %9.3f %9.3f %9.3f %9llu %9llu\n", rows[i].op,
            r->elapsed_s > 0 ? (double)s->ops / r->elapsed_s : 0,
            ms(bench_hist_quantile(&s->hist, 0.5)), ms(bench_hist_quantile(&s->hist, 0.99)),
            ms(bench_hist_quantile(&s->hist, 0.999)), (unsigned long long)s->errors,
            (unsigned long long)s->conflicts);
    if (s->step.total)
      fprintf(out, "%-12s %12s %9.3f %9.3f %9.3f\n", "  (update)", "",
              ms(bench_hist_quantile(&s->step, 0.5)), ms(bench_hist_quantile(&s->step, 0.99)),
              ms(bench_hist_quantile(&s->step, 0.999)));
  }
  double server = server_ms_per_op(r), client = client_ms_per_op(r);
  if (server >= 0)
    fprintf(out, "server CPU: %.4f ms/op (pid %ld)", server, r->cpu.server_pid);
  else if (r->cpu.server_cpu_known)
    fprintf(out, "server CPU: run too short to measure (pid %ld)", r->cpu.server_pid);
  else
    fprintf(out, "server CPU: unknown (--server-pid PID for a server this user cannot see)");
  if (client >= 0)
    fprintf(out, "; kehu-bench CPU: %.4f ms/op", client);
  fprintf(out, "\n");
  if (o->op == OP_CONNECT)
    fprintf(out, "TLS handshakes: %llu resumed, %llu full\n", (unsigned long long)r->resumed,
            (unsigned long long)r->full);
  if (r->unfinished)
    fprintf(out, "%llu operations got no reply by the end (counted as errors)\n",
            (unsigned long long)r->unfinished);
  for (unsigned i = 0; i < r->nnotes; i++)
    fprintf(out, "note: %s\n", r->notes[i]);
}

static void print_errors(const bench_report *r, FILE *out)
{
  if (r->nerror_kinds == 0)
    return;
  fprintf(out, "errors by kind:\n");
  for (unsigned i = 0; i < r->nerror_kinds; i++)
    fprintf(out, "  %8llu x %s\n", (unsigned long long)r->errors[i].count, r->errors[i].first);
  if (r->errors_unsorted)
    fprintf(out, "  %8llu x other kinds\n", (unsigned long long)r->errors_unsorted);
}

/* watch --reconnect: the watchers' return after the drop (storm.c). */
static void print_storm_report(const bench_report *r, FILE *out)
{
  const bench_options *o = r->opt;
  const bench_storm_result *s = &r->storm;
  if (!s->measured) {
    fprintf(stderr, "kehu-bench: --reconnect: no connection dropped after the fan-out\n");
    return;
  }
  long tck = sysconf(_SC_CLK_TCK);
  int cpu = s->cpu.server_cpu_known && s->cpu.server_pid && tck > 0;
  double storm_cpu = cpu ? (double)(s->cpu.server_ticks_end - s->cpu.server_ticks_start) / tck : 0;
  double total_cpu = cpu ? (double)s->cpu.server_ticks_end / tck : 0;
  int all = s->resubscribed == o->connections;
  if (o->json) {
    fprintf(out, "{\"op\": \"reconnect\", \"connections\": %u, \"resubscribed\": %u, ",
            o->connections, s->resubscribed);
    if (all)
      fprintf(out, "\"drop_to_all_s\": %.3f, \"up_to_all_s\": %.3f, ", s->drop_to_all_s,
              s->up_to_all_s);
    else
      fprintf(out, "\"drop_to_all_s\": null, \"up_to_all_s\": null, ");
    fprintf(out, "\"attempts\": %llu, \"failed_attempts\": %llu, \"failed_connect\": %llu, "
            "\"failed_cap\": %llu, \"resumed\": %llu, \"full_handshakes\": %llu, ",
            (unsigned long long)s->attempts, (unsigned long long)s->failed_attempts,
            (unsigned long long)s->failed_connect, (unsigned long long)s->failed_cap,
            (unsigned long long)s->resumed, (unsigned long long)s->full);
    if (cpu)
      fprintf(out, "\"server_cpu_s\": %.2f, \"server_cpu_since_start_s\": %.2f, ", storm_cpu,
              total_cpu);
    fprintf(out, "\"probe_before_p50_ms\": %.3f, \"probe_before_p99_ms\": %.3f, "
            "\"probe_before_max_ms\": %.3f, \"probe_before_gets\": %llu, "
            "\"probe_storm_p50_ms\": %.3f, \"probe_storm_p99_ms\": %.3f, "
            "\"probe_storm_max_ms\": %.3f, \"probe_storm_gets\": %llu, "
            "\"probe_down_s\": %.3f, \"probe_errors\": %llu}\n",
            ms(bench_hist_quantile(&s->probe_before, 0.5)),
            ms(bench_hist_quantile(&s->probe_before, 0.99)),
            ms(bench_hist_quantile(&s->probe_before, 1.0)),
            (unsigned long long)s->probe_before.total,
            ms(bench_hist_quantile(&s->probe_storm, 0.5)),
            ms(bench_hist_quantile(&s->probe_storm, 0.99)),
            ms(bench_hist_quantile(&s->probe_storm, 1.0)),
            (unsigned long long)s->probe_storm.total, s->probe_down_s,
            (unsigned long long)s->probe_errors);
    return;
  }
  fprintf(out, "reconnect: %u of %u watchers subscribed again", s->resubscribed, o->connections);
  if (all)
    fprintf(out, ", %.3f s after the first drop, %.3f s after the server took the first "
            "connection back", s->drop_to_all_s, s->up_to_all_s);
  fprintf(out, "\nattempts: %llu (%llu failed: %llu not accepted, %llu over a cap); "
          "TLS handshakes: %llu resumed, %llu full\n",
          (unsigned long long)s->attempts, (unsigned long long)s->failed_attempts,
          (unsigned long long)s->failed_connect, (unsigned long long)s->failed_cap,
          (unsigned long long)s->resumed, (unsigned long long)s->full);
  if (cpu)
    fprintf(out, "restarted server CPU: %.2f s while they came back (%.2f s since it started)\n",
            storm_cpu, total_cpu);
  fprintf(out, "probe gets: before the drop p50 %.3f ms, p99 %.3f ms (%llu); while the watchers "
          "came back p50 %.3f ms, p99 %.3f ms, max %.3f ms (%llu); the probe was down %.3f s\n",
          ms(bench_hist_quantile(&s->probe_before, 0.5)),
          ms(bench_hist_quantile(&s->probe_before, 0.99)),
          (unsigned long long)s->probe_before.total,
          ms(bench_hist_quantile(&s->probe_storm, 0.5)),
          ms(bench_hist_quantile(&s->probe_storm, 0.99)),
          ms(bench_hist_quantile(&s->probe_storm, 1.0)),
          (unsigned long long)s->probe_storm.total, s->probe_down_s);
}

/* watch: who got the reminder, and how spread out the arrivals were. */
static void print_watch_report(const bench_report *r, FILE *out)
{
  const bench_options *o = r->opt;
  const bench_watch_result *w = &r->watch;
  double fanout_ms = w->received ? (double)(w->last_ns - w->first_ns) / 1e6 : -1;
  int have_from_due = w->received && w->have_due;
  double from_due_ms = have_from_due ? (w->last_wall_s - (double)w->due_at) * 1000.0 : 0;
  if (w->received < o->connections)
    fprintf(stderr, "kehu-bench: %llu of %u connections received no reminder\n",
            (unsigned long long)(o->connections - w->received), o->connections);
  if (w->other_reminder)
    fprintf(stderr, "kehu-bench: warning: %llu connections first received another reminder "
            "than %s\n", (unsigned long long)w->other_reminder, w->reminder_id);
  if (o->json) {
    fprintf(out, "{\"op\": \"watch\", \"connections\": %u, \"received\": %llu, ",
            o->connections, (unsigned long long)w->received);
    if (fanout_ms >= 0)
      fprintf(out, "\"fanout_ms\": %.3f, ", fanout_ms);
    else
      fprintf(out, "\"fanout_ms\": null, ");
    if (have_from_due)
      fprintf(out, "\"from_due_ms\": %.3f, ", from_due_ms);
    else
      fprintf(out, "\"from_due_ms\": null, ");
    fprintf(out, "\"errors\": %llu, \"watching\": %u, \"reminder_id\": ",
            (unsigned long long)bench_total_errors(r), w->watching);
    if (w->received)
      json_string(out, w->reminder_id);
    else
      fprintf(out, "null");
    fprintf(out, ", \"elapsed_s\": %.3f", r->elapsed_s);
    if (r->timed_out)
      fprintf(out, ", \"timed_out\": true");
    fprintf(out, "}\n");
    if (o->reconnect)
      print_storm_report(r, out);
    print_errors(r, stderr);
    return;
  }
  fprintf(out, "kehu-bench --op watch: %s, %u connection%s, %u watching, %.3f s\n", o->server,
          o->connections, o->connections == 1 ? "" : "s", w->watching, r->elapsed_s);
  fprintf(out, "received: %llu of %u", (unsigned long long)w->received, o->connections);
  if (w->received)
    fprintf(out, " (reminder %s)", w->reminder_id);
  fprintf(out, "\n");
  if (fanout_ms >= 0)
    fprintf(out, "fan-out: %.3f ms from the first connection to receive it to the last\n",
            fanout_ms);
  if (have_from_due)
    fprintf(out, "last arrival: %.3f ms after the reminder's due time\n", from_due_ms);
  if (o->reconnect)
    print_storm_report(r, out);
  fprintf(out, "errors: %llu\n", (unsigned long long)bench_total_errors(r));
  print_errors(r, out);
}

void bench_print_report(const bench_report *r, FILE *out)
{
  const bench_options *o = r->opt;
  if (o->op == OP_WATCH) {
    print_watch_report(r, out);
    fflush(out);
    return;
  }
  row rows[STAT_COUNT + 1];
  size_t n = 0;
  bench_stats mix;
  if (o->op == OP_MIX) {
    memset(&mix, 0, sizeof mix);
    for (int k = 0; k < STAT_COUNT; k++) {
      bench_hist_merge(&mix.hist, &r->stats[k].hist);
      mix.ops += r->stats[k].ops;
      mix.errors += r->stats[k].errors;
      mix.conflicts += r->stats[k].conflicts;
    }
    rows[n++] = (row){"mix", &mix, 1};
    static const char *parts[] = {"mix:get", "mix:add", "mix:update", "mix:followup",
                                  "mix:search"};
    for (int k = STAT_GET; k <= STAT_SEARCH; k++) {
      rows[n] = (row){"", &r->stats[k], 0};
      snprintf(rows[n].op, sizeof rows[n].op, "%s", parts[k]);
      n++;
    }
  } else {
    bench_stat_kind k = o->op == OP_ADD ? STAT_ADD : o->op == OP_UPDATE ? STAT_UPDATE
                      : o->op == OP_FOLLOWUP ? STAT_FOLLOWUP : o->op == OP_SEARCH ? STAT_SEARCH
                      : o->op == OP_CONNECT ? STAT_CONNECT : STAT_GET;
    rows[n] = (row){"", &r->stats[k], 1};
    snprintf(rows[n].op, sizeof rows[n].op, "%s", o->op_name);
    n++;
  }
  if (o->json) {
    for (size_t i = 0; i < n; i++)
      print_json_row(r, &rows[i], out);
    print_errors(r, stderr);
  } else {
    print_table(r, rows, n, out);
    print_errors(r, out);
  }
  fflush(out);
}
