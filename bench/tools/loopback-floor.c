// The floor under any HTTP server on this machine: a bare blocking C echo that answers a fixed 14-byte
// response to each request on one keep-alive loopback connection, TCP_NODELAY, 3000 timed round trips after
// 200 untimed ones; server in another process or a thread of the same one.
//   gcc -O2 -o /tmp/loopback-floor bench/tools/loopback-floor.c -lpthread && /tmp/loopback-floor process
// On 2026-11-22 (2-core EPYC VM): p50 0.074-0.090 ms either way in 12 of 13 runs (5.6-6.7 % of text-direction's
// 1.3 ms Run, before any HTTP parsing, codec or model work); one run gave 0.016 ms, when the scheduler kept
// client and server on one core (no cross-core wake-up).
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
static const char REQ[] = "GET /v2/health/ready HTTP/1.1\r\nHost: x\r\n\r\n";
static const char RESP[] = "HTTP/1.1 200 OK\r\nContent-Length: 14\r\n\r\n{\"ready\":true}";
static int port;
static void *serve(void *arg) {
  int l = *(int *)arg; int c = accept(l, 0, 0); int one = 1; setsockopt(c, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  char buf[4096];
  for (;;) { ssize_t n = recv(c, buf, sizeof buf, 0); if (n <= 0) break; send(c, RESP, sizeof RESP - 1, 0); }
  close(c); return 0;
}
static int cmp(const void *a, const void *b) { double x = *(double *)a, y = *(double *)b; return x < y ? -1 : x > y; }
static void client(const char *label) {
  int s = socket(AF_INET, SOCK_STREAM, 0); struct sockaddr_in a = {0}; a.sin_family = AF_INET; a.sin_port = htons(port); a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  while (connect(s, (struct sockaddr *)&a, sizeof a) != 0) usleep(1000);
  int one = 1; setsockopt(s, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  enum { N = 3000 }; static double t[N]; char buf[4096];
  for (int i = 0; i < N + 200; i++) {
    struct timespec t0, t1; clock_gettime(CLOCK_MONOTONIC, &t0);
    send(s, REQ, sizeof REQ - 1, 0); size_t got = 0; while (got < sizeof RESP - 1) { ssize_t n = recv(s, buf, sizeof buf, 0); if (n <= 0) exit(1); got += n; }
    clock_gettime(CLOCK_MONOTONIC, &t1);
    if (i >= 200) t[i - 200] = (t1.tv_sec - t0.tv_sec) * 1e3 + (t1.tv_nsec - t0.tv_nsec) / 1e6;
  }
  qsort(t, N, sizeof t[0], cmp); printf("%-28s p50 %.3f ms  p90 %.3f ms  p99 %.3f ms\n", label, t[N / 2], t[N * 9 / 10], t[N * 99 / 100]); close(s);
}
int main(int argc, char **argv) {
  int l = socket(AF_INET, SOCK_STREAM, 0); int one = 1; setsockopt(l, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  struct sockaddr_in a = {0}; a.sin_family = AF_INET; a.sin_addr.s_addr = htonl(INADDR_LOOPBACK); bind(l, (struct sockaddr *)&a, sizeof a); listen(l, 16);
  socklen_t len = sizeof a; getsockname(l, (struct sockaddr *)&a, &len); port = ntohs(a.sin_port);
  if (argc > 1 && strcmp(argv[1], "process") == 0) {
    pid_t p = fork(); if (p == 0) { serve(&l); _exit(0); }
    client("server in another process"); waitpid(p, 0, 0);
  } else {
    pthread_t th; pthread_create(&th, 0, serve, &l); client("server thread, same process"); pthread_join(th, 0);
  }
  return 0;
}
