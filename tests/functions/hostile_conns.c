/* fn-hostile_conns: a Lambda runtime that attacks its own Runtime API endpoint by holding many
 * connections with unfinished request heads (tests/integration/daemon_bounded_resources_test.cpp).
 *
 * Each request goes on a fresh connection with `Connection: close`, so the runtime itself never
 * depends on a kept-alive connection the daemon may close to make room. An event
 * {"connections":N,"head_bytes":B,"ms":T} forks an attacker that keeps N connections open, each
 * sending the head of a POST one 16 KiB piece every 10 ms up to B bytes without ever finishing it
 * (reconnecting whenever the daemon closes one), for T ms; the runtime then kills it and answers
 * {"attacked_ms":T,"connects":C,"bytes_sent":S} (C and S summed over the attack). Any other event
 * is echoed. Runs only inside daemon-launched sandboxes. */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static struct sockaddr_in api;

static void sleep_ms(long ms) {
  struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
  while (nanosleep(&ts, &ts) != 0 && errno == EINTR) {
  }
}

static long now_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return ts.tv_sec * 1000L + ts.tv_nsec / 1000000L;
}

static int send_all(int fd, const char* p, size_t n) {
  while (n > 0) {
    ssize_t k = send(fd, p, n, MSG_NOSIGNAL);
    if (k < 0 && errno == EINTR) continue;
    if (k <= 0) return -1;
    p += k;
    n -= (size_t)k;
  }
  return 0;
}

/* One request on a fresh connection; the whole answer (head and body) into *out (malloc'd).
 * Retries the connection until it succeeds: the daemon may make it wait for room. */
static int request(const char* method, const char* path, const char* body, char** out) {
  for (;;) {
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0) return -1;
    if (connect(fd, (struct sockaddr*)&api, sizeof api) != 0) {
      close(fd);
      sleep_ms(50);
      continue;
    }
    char head[512];
    size_t blen = body ? strlen(body) : 0;
    int hn = snprintf(head, sizeof head,
                      "%s /2018-06-01/runtime/%s HTTP/1.1\r\nHost: x\r\nConnection: close\r\n"
                      "Content-Length: %zu\r\n\r\n",
                      method, path, blen);
    if (send_all(fd, head, (size_t)hn) != 0 || (blen && send_all(fd, body, blen) != 0)) {
      close(fd);
      sleep_ms(50);
      continue;
    }
    size_t cap = 65536, n = 0;
    char* buf = malloc(cap);
    for (;;) {
      if (n + 1 >= cap) buf = realloc(buf, cap *= 2);
      ssize_t k = recv(fd, buf + n, cap - n - 1, 0);
      if (k < 0 && errno == EINTR) continue;
      if (k <= 0) break;
      n += (size_t)k;
    }
    close(fd);
    buf[n] = 0;
    if (n == 0) {  // closed to make room before answering: try again
      free(buf);
      sleep_ms(50);
      continue;
    }
    *out = buf;
    return 0;
  }
}

static long json_number(const char* json, const char* key, long fallback) {
  char pat[64];
  snprintf(pat, sizeof pat, "\"%s\":", key);
  const char* p = strstr(json, pat);
  return p ? strtol(p + strlen(pat), NULL, 10) : fallback;
}

/* The attacker: keeps `conns` unfinished heads going until killed. Counters go to shared memory. */
static void attack(int conns, long head_bytes, long* shared) {
  int* fd = calloc((size_t)conns, sizeof(int));
  long* sent = calloc((size_t)conns, sizeof(long));
  static char piece[16384];
  memset(piece, 'a', sizeof piece);
  static const char start[] =
      "POST /2018-06-01/runtime/invocation/x/response HTTP/1.1\r\nHost: x\r\nX-Pad: ";
  for (int i = 0; i < conns; ++i) fd[i] = -1;
  for (;;) {
    for (int i = 0; i < conns; ++i) {
      if (fd[i] < 0) {
        fd[i] = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
        if (fd[i] < 0) continue;
        if (connect(fd[i], (struct sockaddr*)&api, sizeof api) != 0 && errno != EINPROGRESS) {
          close(fd[i]);
          fd[i] = -1;
          continue;
        }
        sent[i] = 0;
        __atomic_add_fetch(&shared[0], 1, __ATOMIC_RELAXED);
      }
      int broken = 0;
      if (sent[i] >= head_bytes) {
        /* The whole head is out: hold it, unless the daemon closed the connection. */
        char c;
        ssize_t k = recv(fd[i], &c, 1, MSG_DONTWAIT | MSG_PEEK);
        broken = k == 0 || (k < 0 && errno != EAGAIN && errno != EWOULDBLOCK);
      } else {
        const char* p = sent[i] == 0 ? start : piece;
        size_t n = sent[i] == 0 ? sizeof start - 1 : sizeof piece;
        if ((long)n > head_bytes - sent[i]) n = (size_t)(head_bytes - sent[i]);
        ssize_t k = send(fd[i], p, n, MSG_NOSIGNAL | MSG_DONTWAIT);
        if (k > 0) {
          sent[i] += k;
          __atomic_add_fetch(&shared[1], k, __ATOMIC_RELAXED);
        } else {
          broken = !(k < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINPROGRESS ||
                               errno == ENOTCONN));
        }
      }
      if (broken) {
        close(fd[i]);
        fd[i] = -1;
      }
    }
    sleep_ms(10);
  }
}

int main(void) {
  const char* endpoint = getenv("AWS_LAMBDA_RUNTIME_API");
  if (!endpoint) return 1;
  char host[256];
  snprintf(host, sizeof host, "%s", endpoint);
  char* colon = strrchr(host, ':');
  if (!colon) return 1;
  *colon = 0;
  api.sin_family = AF_INET;
  api.sin_port = htons((unsigned short)atoi(colon + 1));
  if (inet_pton(AF_INET, host, &api.sin_addr) != 1) return 1;
  signal(SIGPIPE, SIG_IGN);
  long* shared = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
  if (shared == MAP_FAILED) return 1;
  for (;;) {
    char* next = NULL;
    if (request("GET", "invocation/next", NULL, &next) != 0) return 1;
    if (strncmp(next, "HTTP/1.1 200", 12) != 0) return 1;
    char id[128] = "";
    const char* h = strcasestr(next, "\r\nLambda-Runtime-Aws-Request-Id:");
    if (h) sscanf(h + 32, " %127[^\r\n]", id);
    const char* event = strstr(next, "\r\n\r\n");
    event = event ? event + 4 : "";
    char path[256];
    snprintf(path, sizeof path, "invocation/%s/response", id);
    char* answer = NULL;
    const long conns = json_number(event, "connections", 0);
    if (conns > 0) {
      const long head_bytes = json_number(event, "head_bytes", 1 << 20);
      const long ms = json_number(event, "ms", 5000);
      shared[0] = shared[1] = 0;
      const long start = now_ms();
      pid_t child = fork();
      if (child == 0) {
        attack((int)conns, head_bytes, shared);
        _exit(0);
      }
      sleep_ms(ms);
      if (child > 0) {
        kill(child, SIGKILL);
        waitpid(child, NULL, 0);
      }
      char body[256];
      snprintf(body, sizeof body, "{\"attacked_ms\":%ld,\"connects\":%ld,\"bytes_sent\":%ld}",
               now_ms() - start, shared[0], shared[1]);
      request("POST", path, body, &answer);
    } else {
      request("POST", path, event, &answer);
    }
    free(answer);
    free(next);
  }
}
