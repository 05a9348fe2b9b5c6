#define _GNU_SOURCE
// GET /v2/health/ready in a loop over one keep-alive connection to a running server, from a C client (no
// .NET or Node client cost), printing p50/p90:
//   gcc -O2 -o /tmp/get-loop bench/tools/get-loop.c && /tmp/get-loop PORT 3000
// On 2026-11-22, against `serverless serve` (socket server, published build): p50 0.061 ms, as fast as the
// bare C echo of loopback-floor.c.
#include <arpa/inet.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>
static int cmp(const void *a, const void *b) { double x = *(double *)a, y = *(double *)b; return x < y ? -1 : x > y; }
int main(int argc, char **argv) {
  if (argc < 3) { fprintf(stderr, "usage: get-loop PORT COUNT\n"); return 2; }
  int port = atoi(argv[1]), N = atoi(argv[2]);
  if (N <= 0) { fprintf(stderr, "COUNT must be positive\n"); return 2; }
  const char *req = "GET /v2/health/ready HTTP/1.1\r\nHost: x\r\n\r\n";
  int s = socket(AF_INET, SOCK_STREAM, 0); struct sockaddr_in a = {0}; a.sin_family = AF_INET; a.sin_port = htons(port); a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (connect(s, (struct sockaddr *)&a, sizeof a)) { perror("connect"); return 1; }
  int one = 1; setsockopt(s, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  double *t = malloc(sizeof(double) * N); char buf[8192];
  for (int i = 0; i < N; i++) {
    struct timespec t0, t1; clock_gettime(CLOCK_MONOTONIC, &t0);
    send(s, req, strlen(req), 0);
    size_t got = 0; char *end = 0;
    for (;;) { ssize_t n = recv(s, buf + got, sizeof buf - 1 - got, 0); if (n <= 0) return 2; got += n; buf[got] = 0;
      end = strstr(buf, "\r\n\r\n"); if (end) { char *cl = strcasestr(buf, "content-length:"); int len = cl ? atoi(cl + 15) : 0; if (got >= (size_t)(end + 4 - buf) + len) break; } }
    clock_gettime(CLOCK_MONOTONIC, &t1);
    t[i] = (t1.tv_sec - t0.tv_sec) * 1e3 + (t1.tv_nsec - t0.tv_nsec) / 1e6;
  }
  qsort(t, N, sizeof t[0], cmp); printf("p50 %.3f ms p90 %.3f ms\n", t[N / 2], t[N * 9 / 10]); return 0;
}
