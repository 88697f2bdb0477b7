/* kehu-bench: load generator for kehud (docs/architecture.md#performance-design). Wiring and exit codes;
 * the run itself is in workload.c. */
#include <arpa/inet.h>
#include <netdb.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>

#include "bench.h"

/* One address for every connection, looked up once. */
static int resolve(bench_net *net, const bench_options *o)
{
  struct addrinfo hints = {.ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM,
                           .ai_flags = AI_NUMERICSERV};
  struct addrinfo *list = NULL;
  int rc = getaddrinfo(o->host, o->port, &hints, &list);
  if (rc != 0) {
    fprintf(stderr, "kehu-bench: cannot connect to %s: %s\n", o->server, gai_strerror(rc));
    return -1;
  }
  memcpy(&net->addr, list->ai_addr, list->ai_addrlen);
  freeaddrinfo(list);
  unsigned char ip[16];
  net->host_is_ip = inet_pton(AF_INET, o->host, ip) == 1 || inet_pton(AF_INET6, o->host, ip) == 1;
  return 0;
}

/* Each connection is a descriptor: raise the soft limit to the hard one. */
static void raise_fd_limit(unsigned connections)
{
  struct rlimit rl;
  if (getrlimit(RLIMIT_NOFILE, &rl) != 0)
    return;
  if (rl.rlim_cur < rl.rlim_max) {
    rl.rlim_cur = rl.rlim_max;
    setrlimit(RLIMIT_NOFILE, &rl);
  }
  if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < connections + 64u)
    fprintf(stderr, "kehu-bench: warning: only %llu file descriptors for %u connections\n",
            (unsigned long long)rl.rlim_cur, connections);
}

int main(int argc, char **argv)
{
  bench_options opt;
  int rc = bench_parse_args(argc, argv, &opt);
  if (rc != 0)
    return rc;
  signal(SIGPIPE, SIG_IGN);
  raise_fd_limit(opt.connections);

  bench_net net;
  memset(&net, 0, sizeof net);
  net.server = opt.server;
  net.host = opt.host;
  net.user = opt.user;
  net.password = opt.password;
  net.full_handshake = opt.full_handshake;
  mbedtls_ssl_session_init(&net.saved);
  if (resolve(&net, &opt) != 0)
    return BENCH_EXIT_NO_CONNECTION;
  kehu_error err;
  kehu_error_clear(&err);
  if (kehu_tls_client_init(&net.tls, opt.ca, &err) != 0) {
    fprintf(stderr, "kehu-bench: %s\n", err.message);
    kehu_tls_client_free(&net.tls);
    return err.status == KEHU_UNAVAILABLE ? BENCH_EXIT_NO_CONNECTION : BENCH_EXIT_ERRORS;
  }

  uv_loop_t loop;
  uv_loop_init(&loop);
  net.loop = &loop;
  bench_report *report = calloc(1, sizeof *report);
  if (!report) {
    fprintf(stderr, "kehu-bench: out of memory\n");
    return BENCH_EXIT_ERRORS;
  }
  rc = bench_run(&opt, &net, report);
  /* A run that measured something reports it, whatever went wrong. */
  if (report->elapsed_s > 0 || rc == BENCH_EXIT_OK)
    bench_print_report(report, stdout);

  uv_run(&loop, UV_RUN_DEFAULT);
  if (uv_loop_close(&loop) != 0)
    fprintf(stderr, "kehu-bench: warning: handles left open at exit\n");
  free(report);
  free(net.token);
  mbedtls_ssl_session_free(&net.saved);
  kehu_tls_client_free(&net.tls);
  return rc;
}
