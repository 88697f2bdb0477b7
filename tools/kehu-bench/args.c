/* The command line of kehu-bench (docs/architecture.md#performance-design). */
#include <errno.h>
#include <getopt.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "bench.h"

static const struct {
  const char *name;
  bench_op op;
} op_names[] = {
  {"get", OP_GET},         {"add", OP_ADD},       {"update", OP_UPDATE},
  {"connect", OP_CONNECT}, {"mix", OP_MIX},       {"search", OP_SEARCH},
  {"followup", OP_FOLLOWUP}, {"watch", OP_WATCH},
};

const char *bench_op_name(bench_op op)
{
  for (size_t i = 0; i < sizeof op_names / sizeof *op_names; i++)
    if (op_names[i].op == op)
      return op_names[i].name;
  return "?";
}

static void usage(FILE *f)
{
  fprintf(f,
    "usage: kehu-bench --server HOST:PORT --ca FILE --user USER --op OP\n"
    "                  [--connections C] [--depth D] [--duration S | --count N]\n"
    "                  [--json] [--ids-out FILE] [--terms FILE] [--server-pid PID]\n"
    "                  [--full-handshake] [--reconnect]\n"
    "The password comes from KEHU_PASSWORD.\n"
    "  --op OP            get | add | update | followup | search | connect | mix | watch\n"
    "  --connections C    connections (connect: concurrent connectors); default 1\n"
    "  --depth D          requests in flight per connection (pipelining); default 1\n"
    "  --duration S       seconds to measure; default 10 (watch: the longest wait\n"
    "                     for the reminder, from the moment the watches are sent)\n"
    "  --count N          every connection does exactly N operations, then stops\n"
    "  --json             one JSON object per line per operation\n"
    "  --ids-out FILE     write the id of every customer the workload adds, one a line\n"
    "  --terms FILE       search terms, one a line (search, and the searches of mix)\n"
    "  --server-pid PID   read the server's CPU time from /proc/PID/stat (found by\n"
    "                     itself for a server on this machine run by the same user)\n"
    "  --full-handshake   never resume TLS sessions (connect: full handshakes)\n"
    "  --reconnect        watch: after the fan-out, watchers whose connection drops\n"
    "                     come back (see below); --duration bounds the whole run\n"
    "watch: every connection logs in as USER and subscribes to pushed events;\n"
    "once all are subscribed, 'watching C' is printed (flushed); then each waits\n"
    "for its first reminder event. Reported: how many received one, the fan-out\n"
    "time (first to last arrival) and the last arrival after the reminder's due\n"
    "time (server clock against ours); exit 0 only when every connection got it.\n"
    "watch --reconnect: once all have it, 'received N' is printed and the run goes\n"
    "on; when the connections drop (restart the server on the same address), each\n"
    "watcher comes back as kehu does (saved TLS session, session token) after a\n"
    "random 0-500 ms, retrying with backoff, and subscribes again, while one more\n"
    "connection does a get every 10 ms. Reported: the time until all are\n"
    "subscribed again, attempts, handshakes resumed and full, the restarted\n"
    "server's CPU time, and the gets' latency before the drop and meanwhile.\n"
    "Exit: 0 no errors, 1 some operation failed, 2 usage, 3 login refused,\n"
    "      8 no connection could be established.\n");
}

static int bad(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

static int bad(const char *fmt, ...)
{
  va_list ap;
  va_start(ap, fmt);
  fprintf(stderr, "kehu-bench: ");
  vfprintf(stderr, fmt, ap);
  fprintf(stderr, "\n(kehu-bench --help for usage)\n");
  va_end(ap);
  return BENCH_EXIT_USAGE;
}

static int parse_u64(const char *s, uint64_t min, uint64_t max, uint64_t *out)
{
  char *end;
  errno = 0;
  if (!s || *s == '-' || *s == '\0')
    return -1;
  unsigned long long v = strtoull(s, &end, 10);
  if (errno || *end || v < min || v > max)
    return -1;
  *out = v;
  return 0;
}

/* HOST:PORT or [V6]:PORT. */
static int split_server(bench_options *o)
{
  const char *s = o->server;
  const char *colon = strrchr(s, ':');
  if (!colon || colon == s || !colon[1])
    return -1;
  size_t hl = (size_t)(colon - s);
  if (s[0] == '[') {
    if (hl < 3 || s[hl - 1] != ']')
      return -1;
    s++;
    hl -= 2;
  }
  if (hl >= sizeof o->host || strlen(colon + 1) >= sizeof o->port)
    return -1;
  memcpy(o->host, s, hl);
  o->host[hl] = '\0';
  uint64_t port;
  if (parse_u64(colon + 1, 1, 65535, &port) != 0)
    return -1;
  snprintf(o->port, sizeof o->port, "%s", colon + 1);
  return 0;
}

int bench_parse_args(int argc, char **argv, bench_options *o)
{
  enum { O_SERVER = 256, O_CA, O_USER, O_CONNS, O_DEPTH, O_DURATION, O_OP, O_JSON, O_COUNT,
         O_IDS, O_TERMS, O_PID, O_FULL, O_RECONNECT, O_HELP };
  static const struct option longopts[] = {
    {"server", required_argument, NULL, O_SERVER},
    {"ca", required_argument, NULL, O_CA},
    {"user", required_argument, NULL, O_USER},
    {"connections", required_argument, NULL, O_CONNS},
    {"depth", required_argument, NULL, O_DEPTH},
    {"duration", required_argument, NULL, O_DURATION},
    {"op", required_argument, NULL, O_OP},
    {"json", no_argument, NULL, O_JSON},
    {"count", required_argument, NULL, O_COUNT},
    {"ids-out", required_argument, NULL, O_IDS},
    {"terms", required_argument, NULL, O_TERMS},
    {"server-pid", required_argument, NULL, O_PID},
    {"full-handshake", no_argument, NULL, O_FULL},
    {"reconnect", no_argument, NULL, O_RECONNECT},
    {"help", no_argument, NULL, O_HELP},
    {NULL, 0, NULL, 0},
  };
  memset(o, 0, sizeof *o);
  o->connections = 1;
  o->depth = 1;
  o->duration_s = 10;
  const char *op = NULL;
  int have_duration = 0;
  uint64_t v;
  int ch;
  opterr = 0;
  while ((ch = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
    switch (ch) {
    case O_SERVER: o->server = optarg; break;
    case O_CA: o->ca = optarg; break;
    case O_USER: o->user = optarg; break;
    case O_CONNS:
      if (parse_u64(optarg, 1, 100000, &v) != 0)
        return bad("--connections: '%s' is not a number from 1 to 100000", optarg);
      o->connections = (unsigned)v;
      break;
    case O_DEPTH:
      if (parse_u64(optarg, 1, 4096, &v) != 0)
        return bad("--depth: '%s' is not a number from 1 to 4096", optarg);
      o->depth = (unsigned)v;
      break;
    case O_DURATION: {
      char *end;
      errno = 0;
      double d = strtod(optarg, &end);
      if (errno || end == optarg || *end || !(d > 0) || d > 86400)
        return bad("--duration: '%s' is not a number of seconds from 0 to 86400", optarg);
      o->duration_s = d;
      have_duration = 1;
      break;
    }
    case O_OP: op = optarg; break;
    case O_JSON: o->json = 1; break;
    case O_COUNT:
      if (parse_u64(optarg, 1, 1000000000, &v) != 0)
        return bad("--count: '%s' is not a number from 1 to 1000000000", optarg);
      o->count = v;
      break;
    case O_IDS: o->ids_out = optarg; break;
    case O_TERMS: o->terms_file = optarg; break;
    case O_PID:
      if (parse_u64(optarg, 1, 4194304, &v) != 0)
        return bad("--server-pid: '%s' is not a process id", optarg);
      o->server_pid = (long)v;
      break;
    case O_FULL: o->full_handshake = 1; break;
    case O_RECONNECT: o->reconnect = 1; break;
    case O_HELP: usage(stdout); exit(0);
    default:
      return bad("unknown or incomplete option '%s'", argv[optind - 1]);
    }
  }
  if (optind < argc)
    return bad("unexpected argument '%s'", argv[optind]);
  if (!o->server || !o->ca || !o->user || !op) {
    usage(stderr);
    return BENCH_EXIT_USAGE;
  }
  if (split_server(o) != 0)
    return bad("--server: '%s' is not HOST:PORT", o->server);
  int found = 0;
  for (size_t i = 0; i < sizeof op_names / sizeof *op_names; i++)
    if (strcmp(op_names[i].name, op) == 0) {
      o->op = op_names[i].op;
      found = 1;
    }
  if (!found)
    return bad("--op: '%s' is not one of get, add, update, connect, mix, search, followup, "
               "watch", op);
  o->op_name = bench_op_name(o->op);
  if (o->count && have_duration)
    return bad("--count and --duration exclude each other");
  if (o->count && o->op == OP_WATCH)
    return bad("--count does not apply to --op watch (one reminder per connection)");
  if (o->reconnect && o->op != OP_WATCH)
    return bad("--reconnect applies to --op watch, not %s", o->op_name);
  if (o->terms_file && o->op != OP_SEARCH && o->op != OP_MIX)
    return bad("--terms applies to --op search and mix, not %s", o->op_name);
  if (o->terms_file && access(o->terms_file, R_OK) != 0)
    return bad("--terms: cannot read '%s'", o->terms_file);
  o->password = getenv("KEHU_PASSWORD");
  if (!o->password || !*o->password) {
    fprintf(stderr, "kehu-bench: set KEHU_PASSWORD to the password of %s\n", o->user);
    return BENCH_EXIT_USAGE;
  }
  return 0;
}
