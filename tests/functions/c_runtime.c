/* fn-c_runtime: a small static Lambda runtime (Runtime API 2018-06-01) whose events say what to do.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

extern char** environ;

typedef struct {
  char* p;
  size_t n, cap;
} buf_t;

static void buf_reserve(buf_t* b, size_t extra) {
  if (b->n + extra + 1 <= b->cap) return;
  size_t cap = b->cap ? b->cap : 4096;
  while (cap < b->n + extra + 1) cap *= 2;
  b->p = realloc(b->p, cap);
  if (!b->p) {
    perror("c_runtime: realloc");
    exit(1);
  }
  b->cap = cap;
}
static void buf_add(buf_t* b, const void* s, size_t n) {
  buf_reserve(b, n);
  memcpy(b->p + b->n, s, n);
  b->n += n;
  b->p[b->n] = 0;
}
static void buf_str(buf_t* b, const char* s) { buf_add(b, s, strlen(s)); }
static void buf_fmt(buf_t* b, const char* fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  int n = vsnprintf(NULL, 0, fmt, ap);
  va_end(ap);
  buf_reserve(b, (size_t)n);
  va_start(ap, fmt);
  vsnprintf(b->p + b->n, (size_t)n + 1, fmt, ap);
  va_end(ap);
  b->n += (size_t)n;
}
static void buf_json_str(buf_t* b, const char* s) {
  buf_str(b, "\"");
  for (; *s; ++s) {
    unsigned char c = (unsigned char)*s;
    if (c == '"' || c == '\\')
      buf_fmt(b, "\\%c", c);
    else if (c < 0x20)
      buf_fmt(b, "\\u%04x", c);
    else
      buf_add(b, s, 1);
  }
  buf_str(b, "\"");
}

static void sleep_ms(long ms) {
  struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
  while (nanosleep(&ts, &ts) != 0 && errno == EINTR) {
  }
}

/* ---- HTTP/1.1 over one persistent connection ---- */

static struct sockaddr_in api_addr;
static char api_host[256];
static int conn = -1;
static buf_t rx; /* bytes received on conn and not yet consumed */

typedef struct {
  int status;
  buf_t head; /* status line and headers */
  buf_t body;
} response_t;

static void conn_close(void) {
  if (conn >= 0) close(conn);
  conn = -1;
  rx.n = 0;
}

static int conn_open(void) {
  conn = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (conn < 0) return -1;
  int one = 1;
  setsockopt(conn, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  if (connect(conn, (struct sockaddr*)&api_addr, sizeof api_addr) != 0) {
    conn_close();
    return -1;
  }
  return 0;
}

/* Copies header `name` (case-insensitive) into out; returns 1 when present. */
static int header(const response_t* r, const char* name, char* out, size_t outsz) {
  const char* line = r->head.p ? strstr(r->head.p, "\r\n") : NULL;
  size_t nlen = strlen(name);
  while (line && line[2]) {
    line += 2;
    const char* end = strstr(line, "\r\n");
    if (!end) end = line + strlen(line);
    const char* colon = memchr(line, ':', (size_t)(end - line));
    if (colon && (size_t)(colon - line) == nlen && strncasecmp(line, name, nlen) == 0) {
      const char* v = colon + 1;
      while (v < end && (*v == ' ' || *v == '\t')) ++v;
      const char* ve = end;
      while (ve > v && (ve[-1] == ' ' || ve[-1] == '\t')) --ve;
      size_t len = (size_t)(ve - v) < outsz - 1 ? (size_t)(ve - v) : outsz - 1;
      memcpy(out, v, len);
      out[len] = 0;
      return 1;
    }
    line = *end ? end : NULL;
  }
  return 0;
}

static ssize_t recv_more(void) {
  buf_reserve(&rx, 65536);
  ssize_t k;
  do k = recv(conn, rx.p + rx.n, rx.cap - rx.n - 1, 0);
  while (k < 0 && errno == EINTR);
  if (k > 0) rx.n += (size_t)k;
  return k;
}

/* Reads one answer on conn: 0 done, -1 nothing arrived (safe to retry), -2 broken mid-reply. */
static int read_reply(response_t* r) {
  char* end;
  while (!rx.p || !(end = memmem(rx.p, rx.n, "\r\n\r\n", 4))) {
    if (recv_more() <= 0) {
      int any = rx.n > 0;
      conn_close();
      return any ? -2 : -1;
    }
  }
  size_t head_len = (size_t)(end - rx.p) + 4;
  r->head.n = r->body.n = 0;
  buf_add(&r->head, rx.p, head_len - 2);
  r->status = 0;
  sscanf(r->head.p, "HTTP/%*d.%*d %d", &r->status);
  char v[64];
  int closing = header(r, "Connection", v, sizeof v) && strcasecmp(v, "close") == 0;
  int has_len = header(r, "Content-Length", v, sizeof v);
  size_t clen = has_len ? strtoull(v, NULL, 10) : 0;
  while (has_len ? rx.n < head_len + clen : closing) {
    ssize_t k = recv_more();
    if (k == 0 && !has_len) break;
    if (k <= 0) {
      conn_close();
      return -2;
    }
  }
  if (!has_len) clen = rx.n - head_len;
  buf_add(&r->body, rx.p + head_len, clen);
  memmove(rx.p, rx.p + head_len + clen, rx.n - head_len - clen);
  rx.n -= head_len + clen;
  if (closing) conn_close();
  return 0;
}

/* 0: done; -1: failed before any reply byte (safe to retry); -2: broken mid-reply. */
static int try_request(const char* method, const char* path, const char* extra, const char* body,
                       size_t len, response_t* r) {
  if (conn < 0 && conn_open() != 0) return -1;
  buf_t req = {0};
  buf_fmt(&req, "%s %s HTTP/1.1\r\nHost: %s\r\nUser-Agent: c_runtime\r\n%s", method, path, api_host,
          extra ? extra : "");
  if (body) buf_fmt(&req, "Content-Length: %zu\r\n", len);
  buf_str(&req, "\r\n");
  if (body) buf_add(&req, body, len);
  for (size_t off = 0; off < req.n;) {
    ssize_t k = send(conn, req.p + off, req.n - off, MSG_NOSIGNAL);
    if (k < 0 && errno == EINTR) continue;
    if (k <= 0) {
      free(req.p);
      conn_close();
      return -1;
    }
    off += (size_t)k;
  }
  free(req.p);
  return read_reply(r);
}

/* Reconnects (the server may close an idle keep-alive connection); gives up after ~1.5 s. */
static void request(const char* method, const char* path, const char* extra, const char* body,
                    size_t len, response_t* r) {
  for (int attempt = 0; attempt < 8; ++attempt) {
    int rc = try_request(method, path, extra, body, len, r);
    if (rc == 0) return;
    if (rc == -2) break;
    if (attempt > 0) sleep_ms(10L << (attempt - 1));
  }
  fprintf(stderr, "c_runtime: %s %s failed: the Runtime API is unreachable\n", method, path);
  exit(1);
}

static void post(const char* path, const char* extra, const char* body, size_t len) {
  response_t r = {0};
  request("POST", path, extra, body, len, &r);
  if (r.status / 100 != 2)
    fprintf(stderr, "c_runtime: POST %s: HTTP %d %.*s\n", path, r.status, (int)r.body.n,
            r.body.p ? r.body.p : "");
  free(r.head.p);
  free(r.body.p);
}

static void respond(const char* id, const char* body, size_t len) {
  char path[512];
  snprintf(path, sizeof path, "/2018-06-01/runtime/invocation/%s/response", id);
  post(path, "Content-Type: application/json\r\n", body, len);
}

/* ---- the event: our own flat test JSON, parsed by substring ---- */

/* The text after `"key":`, or NULL. */
static const char* json_value(const char* json, const char* key) {
  char pat[128];
  snprintf(pat, sizeof pat, "\"%s\"", key);
  for (const char* p = strstr(json, pat); p; p = strstr(p + 1, pat)) {
    const char* q = p + strlen(pat);
    while (*q == ' ' || *q == '\t' || *q == '\n' || *q == '\r') ++q;
    if (*q != ':') continue;
    ++q;
    while (*q == ' ' || *q == '\t' || *q == '\n' || *q == '\r') ++q;
    return q;
  }
  return NULL;
}

static long long json_int(const char* json, const char* key, long long dflt) {
  const char* v = json_value(json, key);
  if (v && *v == '"') ++v; /* "3", as a query string parameter in an HTTP event */
  return v ? strtoll(v, NULL, 10) : dflt;
}

/* The unescaped string value of key (ASCII escapes only), or NULL. Caller frees. */
static char* json_string(const char* json, const char* key) {
  const char* v = json_value(json, key);
  if (!v || *v != '"') return NULL;
  buf_t out = {0};
  buf_str(&out, "");
  for (++v; *v && *v != '"'; ++v) {
    char c = *v;
    if (c == '\\' && v[1]) {
      c = *++v;
      if (c == 'n')
        c = '\n';
      else if (c == 't')
        c = '\t';
      else if (c == 'r')
        c = '\r';
      else if (c == 'u' && strlen(v) >= 5) {
        char hex[5] = {v[1], v[2], v[3], v[4], 0};
        long cp = strtol(hex, NULL, 16);
        c = cp < 0x80 ? (char)cp : '?';
        v += 4;
      }
    }
    buf_add(&out, &c, 1);
  }
  return out.p;
}

static void send_all(const char* p, size_t n) {
  for (size_t off = 0; off < n;) {
    ssize_t k = send(conn, p + off, n - off, MSG_NOSIGNAL);
    if (k < 0 && errno == EINTR) continue;
    if (k <= 0) {
      perror("c_runtime: send");
      exit(1);
    }
    off += (size_t)k;
  }
}

/* One chunk in one send, as an HTTP client's writev would put it on the wire. */
static void send_chunk(const char* p, size_t n) {
  if (n == 0) return;
  buf_t chunk = {0};
  buf_fmt(&chunk, "%zx\r\n", n);
  buf_add(&chunk, p, n);
  buf_str(&chunk, "\r\n");
  send_all(chunk.p, chunk.n);
  free(chunk.p);
}

/* A streamed response (Lambda-Runtime-Function-Response-Mode: streaming, chunked). */
static void stream_action(const char* id, const char* event) {
  long long chunks = json_int(event, "chunks", 3), ms = json_int(event, "ms", 0);
  long long bytes = json_int(event, "bytes", 0), fail = json_int(event, "fail", 0);
  char* type = json_string(event, "content_type");
  char* prelude = json_string(event, "prelude");
  if (conn < 0 && conn_open() != 0) {
    fprintf(stderr, "c_runtime: stream: the Runtime API is unreachable\n");
    exit(1);
  }
  buf_t head = {0};
  buf_fmt(&head,
          "POST /2018-06-01/runtime/invocation/%s/response HTTP/1.1\r\nHost: %s\r\n"
          "Lambda-Runtime-Function-Response-Mode: streaming\r\nTransfer-Encoding: chunked\r\n"
          "Trailer: Lambda-Runtime-Function-Error-Type, Lambda-Runtime-Function-Error-Body\r\n"
          "Content-Type: %s\r\n\r\n",
          id, api_host, type ? type : "application/octet-stream");
  send_all(head.p, head.n);
  if (prelude) {
    buf_t p = {0};
    buf_str(&p, prelude);
    buf_add(&p, "\0\0\0\0\0\0\0\0", 8);
    send_chunk(p.p, p.n);
    free(p.p);
  }
  buf_t piece = {0};
  for (long long i = 0; i < chunks; ++i) {
    if (i > 0 && ms > 0) sleep_ms((long)ms);
    piece.n = 0;
    if (bytes > 0) {
      buf_reserve(&piece, (size_t)bytes);
      memset(piece.p, 'x', (size_t)bytes);
      piece.n = (size_t)bytes;
    } else {
      buf_fmt(&piece, "chunk %lld\n", i);
    }
    send_chunk(piece.p, piece.n);
  }
  free(piece.p);
  if (fail) {
    /* base64 of {"errorMessage":"stream broke","errorType":"StreamError"} */
    send_all(
        "0\r\nLambda-Runtime-Function-Error-Type: StreamError\r\n"
        "Lambda-Runtime-Function-Error-Body: "
        "eyJlcnJvck1lc3NhZ2UiOiJzdHJlYW0gYnJva2UiLCJlcnJvclR5cGUiOiJTdHJlYW1FcnJvciJ9\r\n\r\n",
        strlen("0\r\nLambda-Runtime-Function-Error-Type: StreamError\r\n"
               "Lambda-Runtime-Function-Error-Body: "
               "eyJlcnJvck1lc3NhZ2UiOiJzdHJlYW0gYnJva2UiLCJlcnJvclR5cGUiOiJTdHJlYW1FcnJvciJ9\r\n\r"
               "\n"));
  } else {
    send_all("0\r\n\r\n", 5);
  }
  free(head.p);
  free(type);
  free(prelude);
  response_t r = {0};
  if (read_reply(&r) != 0 || r.status / 100 != 2)
    fprintf(stderr, "c_runtime: streamed response: HTTP %d %.*s\n", r.status, (int)r.body.n,
            r.body.p ? r.body.p : "");
  free(r.head.p);
  free(r.body.p);
}

static long invocations;

static void add_env(buf_t* b, const char* name, int* first) {
  const char* v = getenv(name);
  buf_fmt(b, "%s\"%s\":", *first ? "" : ",", name);
  if (v)
    buf_json_str(b, v);
  else
    buf_str(b, "null");
  *first = 0;
}

static void add_header(buf_t* b, const response_t* next, const char* key, const char* name) {
  char v[4096];
  buf_fmt(b, ",\"%s\":", key);
  if (header(next, name, v, sizeof v))
    buf_json_str(b, v);
  else
    buf_str(b, "null");
}

static void env_action(const response_t* next, buf_t* out) {
  static const char* names[] = {"AWS_LAMBDA_FUNCTION_NAME",
                                "AWS_LAMBDA_FUNCTION_VERSION",
                                "AWS_LAMBDA_FUNCTION_MEMORY_SIZE",
                                "AWS_LAMBDA_LOG_GROUP_NAME",
                                "AWS_LAMBDA_LOG_STREAM_NAME",
                                "AWS_REGION",
                                "AWS_DEFAULT_REGION",
                                "_HANDLER",
                                "LAMBDA_TASK_ROOT",
                                "LAMBDA_RUNTIME_DIR",
                                "AWS_LAMBDA_RUNTIME_API",
                                "TZ",
                                "LANG",
                                "PATH",
                                "LD_LIBRARY_PATH",
                                "AWS_LAMBDA_INITIALIZATION_TYPE"};
  int first = 1;
  buf_str(out, "{");
  for (size_t i = 0; i < sizeof names / sizeof names[0]; ++i) add_env(out, names[i], &first);
  for (char** e = environ; *e; ++e) {
    const char* eq = strchr(*e, '=');
    if (strncmp(*e, "USER_", 5) != 0 || !eq) continue;
    buf_str(out, ",");
    buf_add(out, "\"", 1);
    buf_add(out, *e, (size_t)(eq - *e));
    buf_str(out, "\":");
    buf_json_str(out, eq + 1);
  }
  add_header(out, next, "request_id", "Lambda-Runtime-Aws-Request-Id");
  char v[64];
  buf_fmt(out, ",\"deadline_ms\":%lld",
          header(next, "Lambda-Runtime-Deadline-Ms", v, sizeof v) ? strtoll(v, NULL, 10) : 0LL);
  add_header(out, next, "function_arn", "Lambda-Runtime-Invoked-Function-Arn");
  add_header(out, next, "trace_id", "Lambda-Runtime-Trace-Id");
  add_header(out, next, "client_context", "Lambda-Runtime-Client-Context");
  buf_fmt(out, ",\"pid\":%d,\"invocations\":%ld}", (int)getpid(), invocations);
}

static void handle(const char* id, const response_t* next) {
  const char* event = next->body.p ? next->body.p : "";
  char* action = json_string(event, "action");
  buf_t out = {0};
  if (!action || strcmp(action, "echo") == 0) {
    respond(id, event, next->body.n);
  } else if (strcmp(action, "error") == 0) {
    static const char err[] =
        "{\"errorMessage\":\"boom\",\"errorType\":\"TestError\",\"stackTrace\":[\"c_runtime.c:1\"]"
        "}";
    char path[512];
    snprintf(path, sizeof path, "/2018-06-01/runtime/invocation/%s/error", id);
    post(path,
         "Content-Type: application/json\r\nLambda-Runtime-Function-Error-Type: Unhandled\r\n", err,
         sizeof err - 1);
  } else if (strcmp(action, "crash") == 0) {
    exit(3);
  } else if (strcmp(action, "abort") == 0) {
    abort();
  } else if (strcmp(action, "sleep") == 0) {
    long long ms = json_int(event, "ms", 0);
    sleep_ms((long)ms);
    buf_fmt(&out, "{\"slept\":%lld}", ms);
  } else if (strcmp(action, "oom") == 0) {
    // Each block is chained from a volatile head: a block nothing reads again may be elided
    // with its malloc and memset (clang -O2 does), and the loop would spin instead of filling.
    static void* volatile kept;
    for (;;) {
      char* p = malloc(1 << 20);
      if (p) {
        memset(p, 1, 1 << 20);
        void* head = kept;
        memcpy(p, &head, sizeof head);
        kept = p;
      } else {
        sleep_ms(1);
      }
    }
  } else if (strcmp(action, "big") == 0) {
    long long n = json_int(event, "bytes", 2);
    if (n < 2) n = 2;
    buf_reserve(&out, (size_t)n);
    out.p[0] = '"';
    memset(out.p + 1, 'a', (size_t)n - 2);
    out.p[n - 1] = '"';
    out.n = (size_t)n;
  } else if (strcmp(action, "raw") == 0) {
    static const char raw[] = "\xff\xfe not UTF-8";  // a response need not be JSON, nor text
    respond(id, raw, sizeof raw - 1);
  } else if (strcmp(action, "print") == 0) {
    char* text = json_string(event, "text");
    buf_t line = {0};
    buf_str(&line, text ? text : "");
    buf_str(&line, "\n");
    if (write(1, line.p, line.n) < 0 || write(2, line.p, line.n) < 0) perror("c_runtime: write");
    free(text);
    free(line.p);
    buf_str(&out, "{\"printed\":true}");
  } else if (strcmp(action, "fragments") == 0) {
    /* Each line in three write()s with pauses between, then a line with no newline at all: what a
       runtime writing unbuffered output looks like to the log. */
    char* tag = json_string(event, "tag");
    long long n = json_int(event, "lines", 10);
    const struct timespec pause = {0, 200 * 1000};
    char piece[256];
    for (long long i = 0; i < n; ++i) {
      const int len = snprintf(piece, sizeof piece, "frag %s %lld ", tag ? tag : "", i);
      if (write(1, piece, (size_t)len) < 0 || nanosleep(&pause, NULL) < 0 ||
          write(1, "middle ", 7) < 0 || nanosleep(&pause, NULL) < 0 || write(1, "end\n", 4) < 0)
        perror("c_runtime: write");
    }
    const int len = snprintf(piece, sizeof piece, "unterminated %s", tag ? tag : "");
    if (write(1, piece, (size_t)len) < 0) perror("c_runtime: write");
    free(tag);
    buf_fmt(&out, "{\"lines\":%lld}", n);
  } else if (strcmp(action, "stream") == 0) {
    stream_action(id, event);
  } else if (strcmp(action, "env") == 0) {
    env_action(next, &out);
  } else if (strcmp(action, "tmpfill") == 0) {
    long long mb = json_int(event, "mb", 0), written = 0;
    int err = 0, fd = open("/tmp/fill", O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    static char chunk[1 << 20];
    memset(chunk, 'x', sizeof chunk);
    if (fd < 0) err = errno;
    for (; fd >= 0 && written < mb; ++written) {
      size_t off = 0;
      while (off < sizeof chunk) {
        ssize_t k = write(fd, chunk + off, sizeof chunk - off);
        if (k < 0 && errno == EINTR) continue;
        if (k <= 0) break;
        off += (size_t)k;
      }
      if (off < sizeof chunk) {
        err = errno ? errno : ENOSPC;
        break;
      }
    }
    if (fd >= 0 && fsync(fd) != 0 && !err) err = errno;
    if (fd >= 0) close(fd);
    buf_fmt(&out, "{\"written_mb\":%lld,\"errno\":%d}", written, err);
  } else if (strcmp(action, "forkbomb") == 0) {
    long n = 0;
    for (;;) {
      pid_t p = fork();
      if (p < 0) break;
      if (p == 0)
        for (;;) pause();
      ++n;
    }
    buf_fmt(&out, "{\"forked\":%ld,\"errno\":%d}", n, errno);
  } else {
    buf_str(&out, "{\"unknown_action\":");
    buf_json_str(&out, action);
    buf_str(&out, "}");
  }
  if (out.n) respond(id, out.p, out.n);
  free(out.p);
  free(action);
}

int main(void) {
  const char* v = getenv("INIT_CRASH");
  if (v && strcmp(v, "1") == 0) exit(2);
  const char* api = getenv("AWS_LAMBDA_RUNTIME_API");
  if (!api) {
    fprintf(stderr, "c_runtime: AWS_LAMBDA_RUNTIME_API is not set\n");
    return 1;
  }
  snprintf(api_host, sizeof api_host, "%s", api);
  char* colon = strrchr(api_host, ':');
  api_addr.sin_family = AF_INET;
  api_addr.sin_port = htons(colon ? (unsigned short)atoi(colon + 1) : 80);
  if (colon) *colon = 0;
  const char* ip = strcmp(api_host, "localhost") == 0 ? "127.0.0.1" : api_host;
  if (inet_pton(AF_INET, ip, &api_addr.sin_addr) != 1) {
    fprintf(stderr, "c_runtime: AWS_LAMBDA_RUNTIME_API=%s is not an IPv4 address:port\n", api);
    return 1;
  }
  if (colon) *colon = ':';
  if ((v = getenv("INIT_SLEEP_MS"))) sleep_ms(atol(v));
  if ((v = getenv("INIT_ERROR")) && strcmp(v, "1") == 0) {
    static const char err[] = "{\"errorMessage\":\"init failed\",\"errorType\":\"InitError\"}";
    post("/2018-06-01/runtime/init/error",
         "Content-Type: application/json\r\nLambda-Runtime-Function-Error-Type: Unhandled\r\n", err,
         sizeof err - 1);
    exit(1);
  }
  response_t next = {0};
  for (;;) {
    request("GET", "/2018-06-01/runtime/invocation/next", NULL, NULL, 0, &next);
    if (next.status != 200) {
      fprintf(stderr, "c_runtime: /next: HTTP %d %.*s\n", next.status, (int)next.body.n,
              next.body.p ? next.body.p : "");
      exit(1);
    }
    ++invocations;
    char id[256];
    if (!header(&next, "Lambda-Runtime-Aws-Request-Id", id, sizeof id)) {
      fprintf(stderr, "c_runtime: /next without Lambda-Runtime-Aws-Request-Id\n");
      exit(1);
    }
    handle(id, &next);
  }
}
