// Tests of HttpServer over real loopback sockets: keep-alive, 100-continue, limits, listeners.
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <fstream>
#include <future>
#include <mutex>
#include <thread>
#include <vector>

#include "api/http_server.hpp"
#include "api/streamed_body.hpp"
#include "tests/unit/raw_http_client.hpp"

namespace api {
namespace {

using testutil::RawHttpClient;

HttpResponse text(int status, std::string body) {
  HttpResponse r;
  r.status = status;
  r.set_header("Content-Type", "text/plain");
  r.body = std::move(body);
  return r;
}

// A server listening on an ephemeral loopback port with the given handler.
struct Served {
  explicit Served(HttpServer::Handler h, ListenerOptions o = {}, size_t threads = 2,
                  std::chrono::microseconds idle_spin = {})
      : server(threads, idle_spin) {
    auto id = server.listen("127.0.0.1", 0, std::move(h), std::move(o));
    EXPECT_TRUE(id.has_value()) << (id ? "" : id.error());
    listener = id.value_or(0);
    port = server.local_port(listener);
  }
  HttpServer server;
  ListenerId listener = 0;
  uint16_t port = 0;
};

HttpServer::Handler echo_handler() {
  return [](HttpRequest&& req, Reply reply) {
    HttpResponse r = text(200, std::move(req.body));
    r.set_header("X-Method", req.method);
    r.set_header("X-Path", req.path);
    reply(std::move(r));
  };
}

TEST(HttpServer, ServesAThousandRequestsOnOneKeepAliveConnection) {
  std::atomic<int> handled{0};
  Served s([&](HttpRequest&& req, Reply reply) {
    ++handled;
    reply(text(200, req.path));
  });
  RawHttpClient c(s.port);
  ASSERT_TRUE(c.connected());
  for (int i = 0; i < 1000; ++i) {
    auto r = c.request("GET", "/n/" + std::to_string(i));
    ASSERT_TRUE(r) << "request " << i;
    ASSERT_EQ(r->status, 200);
    ASSERT_EQ(r->body, "/n/" + std::to_string(i));
    ASSERT_NE(r->header("Connection"), "close");
  }
  EXPECT_EQ(handled.load(), 1000);
  EXPECT_FALSE(c.closed_within(50));
}

TEST(HttpServer, SpinningIoThreadsServeRequestsAndStillSleepAndStop) {
  std::atomic<int> handled{0};
  auto s = std::make_unique<Served>(
      [&](HttpRequest&& req, Reply reply) {
        ++handled;
        reply(text(200, req.path));
      },
      ListenerOptions{}, 2, std::chrono::microseconds(200));
  RawHttpClient c(s->port);
  ASSERT_TRUE(c.connected());
  for (int i = 0; i < 200; ++i) {
    auto r = c.request("GET", "/s/" + std::to_string(i));
    ASSERT_TRUE(r) << "request " << i;
    ASSERT_EQ(r->body, "/s/" + std::to_string(i));
    if (i % 50 == 49) std::this_thread::sleep_for(std::chrono::milliseconds(5));  // past the spin
  }
  EXPECT_EQ(handled.load(), 200);
  // Idle past the spin, the io threads sleep rather than burn a CPU each.
  std::this_thread::sleep_for(std::chrono::milliseconds(50));
  timespec cpu0{}, cpu1{};
  ::clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &cpu0);
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  ::clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &cpu1);
  const double cpu_ms = static_cast<double>(cpu1.tv_sec - cpu0.tv_sec) * 1e3 +
                        static_cast<double>(cpu1.tv_nsec - cpu0.tv_nsec) / 1e6;
  EXPECT_LT(cpu_ms, 60.0) << "idle io threads kept spinning";
  const auto t0 = std::chrono::steady_clock::now();
  s.reset();
  EXPECT_LT(std::chrono::steady_clock::now() - t0, std::chrono::seconds(2));
}

TEST(HttpServer, AnswersExpect100ContinueBeforeReadingTheBody) {
  Served s(echo_handler());
  RawHttpClient c(s.port);
  const std::string body(3 * 1024 * 1024, 'b');
  ASSERT_TRUE(
      c.send_all("POST /upload HTTP/1.1\r\nHost: x\r\nExpect: 100-continue\r\n"
                 "Content-Length: " +
                 std::to_string(body.size()) + "\r\n\r\n"));
  const std::string interim = "HTTP/1.1 100 Continue\r\n\r\n";
  auto got = c.read_exact(interim.size());
  ASSERT_TRUE(got) << "no 100 Continue";
  EXPECT_EQ(*got, interim);
  ASSERT_TRUE(c.send_all(body));
  auto r = c.read_response();
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 200);
  EXPECT_EQ(r->body.size(), body.size());
  EXPECT_EQ(r->body, body);
}

TEST(HttpServer, CurlWithExpectContinueDoesNotWaitForItsTimeout) {
  Served s(echo_handler());
  const std::string file = ::testing::TempDir() + "/http_server_3mb.bin";
  std::ofstream(file) << std::string(3 * 1024 * 1024, 'c');
  // With a 10 s expect timeout, a server that never sends 100 Continue makes curl take 10 s.
  const std::string cmd =
      "curl -sS -o /dev/null -w '%{http_code} %{size_upload} %{time_total}' "
      "--expect100-timeout 10 -H 'Expect: 100-continue' --data-binary @" +
      file + " http://127.0.0.1:" + std::to_string(s.port) + "/up";
  FILE* p = ::popen(cmd.c_str(), "r");
  ASSERT_NE(p, nullptr);
  char out[256] = {};
  const size_t n = std::fread(out, 1, sizeof out - 1, p);
  ::pclose(p);
  int code = 0;
  double uploaded = 0, seconds = 0;
  ASSERT_EQ(std::sscanf(std::string(out, n).c_str(), "%d %lf %lf", &code, &uploaded, &seconds), 3)
      << out;
  EXPECT_EQ(code, 200);
  EXPECT_EQ(uploaded, 3.0 * 1024 * 1024);
  EXPECT_LT(seconds, 5.0);
}

TEST(HttpServer, OversizedBodyGetsTheListenersTooLargeAnswer) {
  ListenerOptions o;
  o.body_limit = 1000;
  std::atomic<int> handled{0};
  std::string seen_path;
  o.on_too_large = [&](const HttpRequest& head) {
    seen_path = head.path;
    return text(413, "too big: " + head.header("X-Tag"));
  };
  Served s([&](HttpRequest&&, Reply reply) { ++handled, reply(text(200, "ok")); }, o);
  RawHttpClient c(s.port);
  auto r = c.request("POST", "/big", std::string(1001, 'x'), "X-Tag: t1\r\n");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 413);
  EXPECT_EQ(r->body, "too big: t1");
  EXPECT_EQ(seen_path, "/big");
  EXPECT_EQ(handled.load(), 0);
  EXPECT_TRUE(c.closed_within(2000));

  RawHttpClient exact(s.port);
  auto ok = exact.request("POST", "/fits", std::string(1000, 'x'));
  ASSERT_TRUE(ok);
  EXPECT_EQ(ok->status, 200);
}

TEST(HttpServer, OversizedChunkedBodyIsRefusedMidStream) {
  ListenerOptions o;
  o.body_limit = 100;
  Served s(echo_handler(), o);
  RawHttpClient c(s.port);
  ASSERT_TRUE(
      c.send_all("POST /c HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"
                 "40\r\n" +
                 std::string(64, 'a') + "\r\n40\r\n" + std::string(64, 'a') + "\r\n0\r\n\r\n"));
  auto r = c.read_response();
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 413);
}

TEST(HttpServer, AcceptsChunkedRequestBodies) {
  Served s(echo_handler());
  RawHttpClient c(s.port);
  ASSERT_TRUE(
      c.send_all("POST /c HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"
                 "5\r\nhello\r\n6\r\n world\r\n0\r\n\r\n"));
  auto r = c.read_response();
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 200);
  EXPECT_EQ(r->body, "hello world");
}

// Answers every request with a 200 whose body is `body`, streamed.
HttpServer::Handler stream_handler(const std::shared_ptr<StreamedBody>& body) {
  return [body](HttpRequest&&, Reply reply) {
    HttpResponse r = text(200, "");
    r.stream = body;
    reply(std::move(r));
  };
}

// Reads a chunked body's chunks from `c` until the last one (or a failure): the pieces in order.
std::optional<std::vector<std::string>> read_chunks(RawHttpClient& c) {
  std::vector<std::string> chunks;
  for (;;) {
    std::string size_line;
    for (;;) {
      auto ch = c.read_exact(1);
      if (!ch) return std::nullopt;
      size_line += *ch;
      if (size_line.ends_with("\r\n")) break;
    }
    const size_t size = std::stoul(size_line, nullptr, 16);
    if (size == 0) {
      if (c.read_exact(2) != "\r\n") return std::nullopt;
      return chunks;
    }
    auto data = c.read_exact(size + 2);
    if (!data) return std::nullopt;
    chunks.push_back(data->substr(0, size));
  }
}

TEST(HttpServer, AStreamedResponseIsSentPieceByPieceAsItIsWritten) {
  auto body = std::make_shared<StreamedBody>();
  Served s(stream_handler(body));
  RawHttpClient c(s.port);
  ASSERT_TRUE(c.send_request("GET", "/stream"));
  auto head = c.read_response();
  ASSERT_TRUE(head);
  EXPECT_EQ(head->status, 200);
  EXPECT_EQ(head->header("Transfer-Encoding"), "chunked");
  EXPECT_FALSE(head->has_header("Content-Length"));
  ASSERT_TRUE(body->write("one"));
  // The piece arrives while the body is still open.
  EXPECT_EQ(c.read_exact(8), "3\r\none\r\n");
  ASSERT_TRUE(body->write("two"));
  ASSERT_TRUE(body->write("three"));
  body->finish();
  auto rest = read_chunks(c);
  ASSERT_TRUE(rest);
  std::string joined;
  for (const auto& chunk : *rest) joined += chunk;
  EXPECT_EQ(joined, "twothree");
  // The server counts bytes as sent when its write completes, which may be after the client has
  // read them.
  for (int i = 0; i < 200 && body->backlog() > 0; ++i)
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  EXPECT_EQ(body->backlog(), 0u);
  // Keep-alive: the connection serves the next request.
  EXPECT_FALSE(body->write("late")) << "a finished body takes no more";
  ASSERT_TRUE(c.send_request("GET", "/again"));
  auto again = c.read_response();
  ASSERT_TRUE(again);
  EXPECT_EQ(again->header("Transfer-Encoding"), "chunked");
}

TEST(HttpServer, AStreamToAnHttp10ClientIsItsBytesEndedByClosing) {
  auto body = std::make_shared<StreamedBody>();
  Served s(stream_handler(body));
  RawHttpClient c(s.port);
  ASSERT_TRUE(c.send_all("GET /stream HTTP/1.0\r\nHost: x\r\n\r\n"));
  body->write("plain ");
  body->write("bytes");
  body->finish();
  auto head = c.read_response();
  ASSERT_TRUE(head);
  EXPECT_EQ(head->status, 200);
  EXPECT_FALSE(head->has_header("Transfer-Encoding"));
  EXPECT_FALSE(head->has_header("Content-Length"));
  EXPECT_EQ(c.read_exact(11), "plain bytes");
  EXPECT_TRUE(c.closed_within(5000));
}

TEST(HttpServer, HeadIsAnsweredWithTheHeadAloneStreamedOrNot) {
  auto body = std::make_shared<StreamedBody>();
  Served s([&](HttpRequest&& req, Reply reply) {
    HttpResponse r = text(200, "a body of 18 bytes");
    if (req.path == "/stream") r.stream = body;
    reply(std::move(r));
  });
  RawHttpClient c(s.port);
  // (read_response would wait for the body Content-Length announces.)
  auto read_head = [&c] {
    std::string head;
    while (!head.ends_with("\r\n\r\n")) {
      auto ch = c.read_exact(1);
      if (!ch) return std::string("(closed)");
      head += *ch;
    }
    return head;
  };
  ASSERT_TRUE(c.send_request("HEAD", "/plain"));
  EXPECT_NE(read_head().find("Content-Length: 18\r\n"), std::string::npos);
  // Nothing follows the head: the next answer on the connection is the next request's.
  ASSERT_TRUE(c.send_request("HEAD", "/stream"));
  body->write("dropped");
  EXPECT_NE(read_head().find("Transfer-Encoding: chunked\r\n"), std::string::npos);
  auto next = c.request("GET", "/plain");
  ASSERT_TRUE(next);
  EXPECT_EQ(next->body, "a body of 18 bytes");
  for (int i = 0; i < 200 && !body->abandoned(); ++i)
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  EXPECT_TRUE(body->abandoned()) << "the producer is not told to stop";
}

// Found by fuzz_http_request: after a HEAD, a request refused before it was parsed got its
// answer's Content-Length without the body, and the client waited for bytes that never came.
TEST(HttpServer, ARefusalAfterAHeadKeepsItsBody) {
  ListenerOptions options;
  options.header_limit = 1024;
  Served s([](HttpRequest&&, Reply reply) { reply(text(200, "a body of 18 bytes")); }, options);
  RawHttpClient c(s.port);
  ASSERT_TRUE(c.send_request("HEAD", "/plain"));
  std::string head;
  while (!head.ends_with("\r\n\r\n")) {
    auto ch = c.read_exact(1);
    ASSERT_TRUE(ch);
    head += *ch;
  }
  // Over the limit only with its last byte: the server has read it all when it answers, so its
  // close resets nothing that could take the answer with it.
  ASSERT_TRUE(c.send_all("GET /x HTTP/1.1\r\nHost: h\r\nX-Long: " + std::string(1100, 'a')));
  auto refused = c.read_response();
  ASSERT_TRUE(refused);
  EXPECT_EQ(refused->status, 431);
  EXPECT_NE(refused->body.find("too large"), std::string::npos) << refused->body;
}

TEST(HttpServer, AFailedStreamIsCutOffWithoutItsLastChunk) {
  auto body = std::make_shared<StreamedBody>();
  Served s(stream_handler(body));
  RawHttpClient c(s.port);
  ASSERT_TRUE(c.send_request("GET", "/stream"));
  ASSERT_TRUE(c.read_response());
  ASSERT_TRUE(body->write("partial"));
  body->fail();
  EXPECT_EQ(c.read_exact(std::string("7\r\npartial\r\n").size()), "7\r\npartial\r\n");
  EXPECT_TRUE(c.closed_within(5000)) << "the connection stays open after a failed stream";
}

TEST(HttpServer, AStreamWhoseClientLeftDropsWritesAndResumesItsWaiter) {
  auto body = std::make_shared<StreamedBody>();
  Served s(stream_handler(body));
  std::promise<void> resumed;
  {
    RawHttpClient c(s.port);
    ASSERT_TRUE(c.send_request("GET", "/stream"));
    ASSERT_TRUE(c.read_response());
    // Fill the socket until the backlog stays up, then wait for it to drain.
    const std::string piece(1024 * 1024, 'x');
    for (int i = 0; i < 64 && body->backlog() < 8 * piece.size(); ++i) body->write(piece);
    body->when_below(0, [&] { resumed.set_value(); });
  }  // the client goes away without reading
  ASSERT_EQ(resumed.get_future().wait_for(std::chrono::seconds(10)), std::future_status::ready);
  for (int i = 0; i < 100 && !body->abandoned(); ++i)
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  EXPECT_TRUE(body->abandoned());
  EXPECT_FALSE(body->write("more"));
}

TEST(HttpServer, AStreamedRequestBodyIsReadPieceByPieceWithItsTrailers) {
  ListenerOptions o;
  o.stream_body = [](const HttpRequest& head) -> std::optional<size_t> {
    if (head.path != "/stream") return std::nullopt;
    return 1024;
  };
  std::mutex mu;
  std::condition_variable cv;
  std::vector<BodyReader::Piece> pieces;
  // Reads the body to its end, then answers (declared before the server, which it outlives).
  std::function<void(std::shared_ptr<BodyReader>, Reply)> pump =
      [&](std::shared_ptr<BodyReader> reader, Reply reply) {
        reader->read([&, reader, reply](BodyReader::Piece p) {
          const bool more = !p.last && !p.failed;
          const bool too_large = p.too_large;
          {
            std::lock_guard lock(mu);
            pieces.push_back(std::move(p));
            cv.notify_all();
          }
          if (more) return pump(reader, reply);
          reply(text(too_large ? 413 : 202, "done"));
        });
      };
  Served s(
      [&](HttpRequest&& req, Reply reply) {
        if (!req.body_reader) return reply(text(200, "whole:" + req.body));
        pump(req.body_reader, std::move(reply));
      },
      std::move(o));
  RawHttpClient c(s.port);
  ASSERT_TRUE(
      c.send_all("POST /stream HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n"
                 "Trailer: X-Check\r\n\r\n5\r\nhello\r\n"));
  {
    std::unique_lock lock(mu);
    ASSERT_TRUE(cv.wait_for(lock, std::chrono::seconds(10), [&] { return !pieces.empty(); }));
    EXPECT_EQ(pieces[0].data, "hello");
    EXPECT_FALSE(pieces[0].last);
  }
  ASSERT_TRUE(c.send_all("6\r\n world\r\n0\r\nX-Check: yes\r\n\r\n"));
  auto r = c.read_response();
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 202);
  {
    std::lock_guard lock(mu);
    std::string all;
    for (const auto& p : pieces) all += p.data;
    EXPECT_EQ(all, "hello world");
    ASSERT_TRUE(pieces.back().last);
    EXPECT_EQ(pieces.back().trailers.size(), 1u);
    EXPECT_EQ(pieces.back().trailers.count("x-check"), 1u);
    EXPECT_EQ(pieces.back().trailers.find("X-Check")->second, "yes");
  }
  // Other paths still get their body whole; the connection is kept.
  auto whole = c.request("POST", "/other", "abc");
  ASSERT_TRUE(whole);
  EXPECT_EQ(whole->body, "whole:abc");
  // Past the stream's limit: the handler hears too_large, answers, and the connection ends.
  ASSERT_TRUE(c.send_all("POST /stream HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n" +
                         std::string("800\r\n") + std::string(0x800, 'y') + "\r\n"));
  auto refused = c.read_response();
  ASSERT_TRUE(refused);
  EXPECT_EQ(refused->status, 413);
  EXPECT_EQ(refused->header("Connection"), "close");
  std::lock_guard lock(mu);
  EXPECT_TRUE(pieces.back().too_large);
}

TEST(HttpServer, DecodesPathAndQuery) {
  std::promise<HttpRequest> seen;
  Served s([&](HttpRequest&& req, Reply reply) {
    reply(text(204, ""));
    seen.set_value(std::move(req));
  });
  RawHttpClient c(s.port);
  auto r = c.request("GET", "/functions/my%20fn%3Aalias/x?Qualifier=v%201&a=b+c&flag&a=2");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 204);
  HttpRequest req = seen.get_future().get();
  EXPECT_EQ(req.path, "/functions/my fn:alias/x");
  EXPECT_EQ(req.query_param("Qualifier"), "v 1");
  EXPECT_EQ(req.query.count("a"), 2u);
  EXPECT_EQ(req.query_param("a"), "b c");
  EXPECT_TRUE(req.query.contains("flag"));
  EXPECT_EQ(req.header("host"), "127.0.0.1");
}

TEST(HttpServer, AdoptedListeningFdRunsItsConnectionsOnTheChosenThread) {
  HttpServer server(2);
  std::promise<std::thread::id> io1;
  server.post(1, [&] { io1.set_value(std::this_thread::get_id()); });
  const std::thread::id thread1 = io1.get_future().get();
  std::mutex mu;
  std::vector<std::thread::id> handler_threads;
  uint16_t port = 0;
  const int fd = testutil::make_listening_socket(&port);
  auto id = server.add_listener(
      fd,
      [&](HttpRequest&&, Reply reply) {
        {
          std::lock_guard lock(mu);
          handler_threads.push_back(std::this_thread::get_id());
        }
        reply(text(200, "adopted"));
      },
      1);
  ASSERT_TRUE(id.has_value()) << id.error();
  EXPECT_EQ(server.local_port(*id), port);
  for (int i = 0; i < 4; ++i) {  // separate connections: none may land on thread 0
    RawHttpClient c(port);
    auto r = c.request("GET", "/");
    ASSERT_TRUE(r);
    EXPECT_EQ(r->body, "adopted");
  }
  std::lock_guard lock(mu);
  ASSERT_EQ(handler_threads.size(), 4u);
  for (auto t : handler_threads) EXPECT_EQ(t, thread1);
}

TEST(HttpServer, CurrentThreadIndexNamesTheIoThreadOnlyOnIt) {
  HttpServer server(2), other(1);
  EXPECT_EQ(server.current_thread_index(), -1);
  for (long i = 0; i < 2; ++i) {
    std::promise<std::pair<long, long>> seen;
    server.post(static_cast<size_t>(i), [&] {
      seen.set_value({server.current_thread_index(), other.current_thread_index()});
    });
    const auto [mine, theirs] = seen.get_future().get();
    EXPECT_EQ(mine, i);
    EXPECT_EQ(theirs, -1);
  }
}

TEST(HttpServer, AddListenerRefusesAnFdThatIsNotASocket) {
  HttpServer server(1);
  int pipefd[2];
  ASSERT_EQ(::pipe(pipefd), 0);
  ::close(pipefd[1]);
  auto id = server.add_listener(pipefd[0], echo_handler(), 0);
  EXPECT_FALSE(id.has_value());
}

TEST(HttpServer, RemoveListenerClosesLiveConnectionsAndDropsPendingReplies) {
  std::mutex mu;
  std::vector<Reply> parked;
  Served s([&](HttpRequest&& req, Reply reply) {
    if (req.path == "/park") {
      std::lock_guard lock(mu);
      parked.push_back(std::move(reply));
      return;
    }
    reply(text(200, "ok"));
  });
  RawHttpClient idle(s.port), waiting(s.port);
  auto r = idle.request("GET", "/");
  ASSERT_TRUE(r);
  ASSERT_TRUE(waiting.send_request("GET", "/park"));
  for (int i = 0; i < 200; ++i) {
    std::lock_guard lock(mu);
    if (!parked.empty()) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  ASSERT_EQ(parked.size(), 1u);

  std::thread([&] { s.server.remove_listener(s.listener); }).join();  // from a foreign thread
  EXPECT_TRUE(idle.closed_within(2000));
  EXPECT_TRUE(waiting.closed_within(2000));
  parked[0](text(200, "too late"));  // a no-op now
  RawHttpClient after(s.port);
  EXPECT_FALSE(after.connected() && after.request("GET", "/").has_value());
}

TEST(HttpServer, ReplyFromAnotherThreadCompletesTheRequest) {
  std::vector<std::thread> helpers;
  std::mutex mu;
  Served s([&](HttpRequest&& req, Reply reply) {
    std::lock_guard lock(mu);
    helpers.emplace_back([reply = std::move(reply), path = req.path] {
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
      reply(text(200, "late " + path));
    });
  });
  RawHttpClient c(s.port);
  for (int i = 0; i < 3; ++i) {
    auto r = c.request("GET", "/" + std::to_string(i));
    ASSERT_TRUE(r);
    EXPECT_EQ(r->body, "late /" + std::to_string(i));
  }
  std::lock_guard lock(mu);
  for (auto& t : helpers) t.join();
}

TEST(HttpServer, SecondCallOfAReplyIsIgnored) {
  Served s([](HttpRequest&& req, Reply reply) {
    reply(text(200, "first " + req.path));
    reply(text(500, "second"));
  });
  RawHttpClient c(s.port);
  for (int i = 0; i < 2; ++i) {
    auto r = c.request("GET", "/x");
    ASSERT_TRUE(r);
    EXPECT_EQ(r->status, 200);
    EXPECT_EQ(r->body, "first /x");
  }
  EXPECT_FALSE(c.readable_within(100));  // no stray second response
}

TEST(HttpServer, PipelinedRequestsAreAnsweredInOrder) {
  Served s(echo_handler());
  RawHttpClient c(s.port);
  ASSERT_TRUE(
      c.send_all("GET /one HTTP/1.1\r\nHost: x\r\n\r\nPOST /two HTTP/1.1\r\nHost: x\r\n"
                 "Content-Length: 3\r\n\r\nabcGET /three HTTP/1.1\r\nHost: x\r\n\r\n"));
  for (const char* path : {"/one", "/two", "/three"}) {
    auto r = c.read_response();
    ASSERT_TRUE(r);
    EXPECT_EQ(r->header("X-Path"), path);
  }
}

TEST(HttpServer, ConnectionCloseRequestIsHonoured) {
  Served s(echo_handler());
  RawHttpClient c(s.port);
  auto r = c.request("GET", "/", "", "Connection: close\r\n");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->header("Connection"), "close");
  EXPECT_TRUE(c.closed_within(2000));
}

TEST(HttpServer, IdleTimeoutClosesIdleConnectionsOnlyWhenConfigured) {
  ListenerOptions o;
  o.idle_timeout = std::chrono::milliseconds(100);
  Served timed(echo_handler(), o);
  Served untimed(echo_handler());
  RawHttpClient a(timed.port), b(untimed.port);
  ASSERT_TRUE(a.request("GET", "/"));
  ASSERT_TRUE(b.request("GET", "/"));
  EXPECT_TRUE(a.closed_within(2000));
  EXPECT_FALSE(b.closed_within(400));
  auto r = b.request("GET", "/still");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->header("X-Path"), "/still");
}

// Slowloris: a head or body begun but not finished within request_timeout closes the
// connection; an idle connection (idle_timeout zero) and a request being handled are left alone.
TEST(HttpServer, RequestTimeoutClosesHalfSentRequestsButNotIdleOrParkedOnes) {
  std::mutex mu;
  std::vector<Reply> parked;
  ListenerOptions o;
  o.request_timeout = std::chrono::milliseconds(300);
  Served s(
      [&](HttpRequest&& req, Reply reply) {
        if (req.path == "/park") {
          std::lock_guard lock(mu);
          parked.push_back(std::move(reply));
          return;
        }
        reply(text(200, req.path));
      },
      o);
  RawHttpClient head(s.port), body(s.port), chunked(s.port), idle(s.port), park(s.port);
  ASSERT_TRUE(head.send_all("GET /slow HTTP/1.1\r\nHost: x\r\nX-A: "));
  ASSERT_TRUE(body.send_all("POST /slow HTTP/1.1\r\nHost: x\r\nContent-Length: 10\r\n\r\nabc"));
  ASSERT_TRUE(chunked.send_all(
      "POST /slow HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n"));
  ASSERT_TRUE(idle.request("GET", "/done"));
  ASSERT_TRUE(park.send_request("GET", "/park"));
  const auto start = std::chrono::steady_clock::now();
  EXPECT_TRUE(head.closed_within(3000));
  EXPECT_TRUE(body.closed_within(3000));
  EXPECT_TRUE(chunked.closed_within(3000));
  const auto elapsed = std::chrono::steady_clock::now() - start;
  EXPECT_GE(elapsed, std::chrono::milliseconds(250));
  EXPECT_FALSE(idle.closed_within(200));
  EXPECT_FALSE(park.closed_within(200));
  {
    std::lock_guard lock(mu);
    ASSERT_EQ(parked.size(), 1u);
    parked[0](text(200, "late"));
  }
  auto r = park.read_response();
  ASSERT_TRUE(r);
  EXPECT_EQ(r->body, "late");
  auto again = idle.request("GET", "/again");
  ASSERT_TRUE(again);
  EXPECT_EQ(again->body, "/again");
}

// A client sending its request a byte at a time gets no more than request_timeout in all.
TEST(HttpServer, RequestTimeoutBoundsTheWholeRequestNotEachRead) {
  ListenerOptions o;
  o.request_timeout = std::chrono::milliseconds(500);
  Served s(echo_handler(), o);
  RawHttpClient c(s.port);
  const std::string head = "GET /slowloris HTTP/1.1\r\nHost: x\r\nX-Pad: " + std::string(200, 'p');
  const auto start = std::chrono::steady_clock::now();
  bool closed = false;
  for (char ch : head) {
    if (!c.send_all(std::string(1, ch)) || c.closed_within(50)) {
      closed = true;
      break;
    }
  }
  EXPECT_TRUE(closed);
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::milliseconds(2000));
}

TEST(HttpServer, ConnectionCapClosesTheOldestIdleConnectionToMakeRoom) {
  ListenerOptions o;
  o.max_connections = 2;
  Served s(echo_handler(), o, 1);
  RawHttpClient idle(s.port), busy(s.port);
  ASSERT_TRUE(idle.request("GET", "/idle"));
  ASSERT_TRUE(busy.send_all("GET /unfinished HTTP/1.1\r\n"));
  RawHttpClient third(s.port);
  auto r = third.request("GET", "/third");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->header("X-Path"), "/third");
  EXPECT_TRUE(idle.closed_within(2000));
  EXPECT_FALSE(busy.closed_within(100));
  EXPECT_LE(s.server.connection_count(s.listener), 2u);
}

TEST(HttpServer, ConnectionCapMakesNewConnectionsWaitWhileNoneIsIdle) {
  ListenerOptions o;
  o.max_connections = 2;
  Served s(echo_handler(), o, 1);
  auto a = std::make_unique<RawHttpClient>(s.port);
  RawHttpClient b(s.port);
  ASSERT_TRUE(a->send_all("GET /a HTTP/1.1\r\n"));
  ASSERT_TRUE(b.send_all("GET /b HTTP/1.1\r\n"));
  // Both accepted and their bytes in: neither is idle.
  for (int i = 0; i < 200 && s.server.connection_count(s.listener) < 2; ++i)
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  std::this_thread::sleep_for(std::chrono::milliseconds(50));
  // Hundreds more wait in the backlog (or are refused by it) without being accepted.
  std::vector<std::unique_ptr<RawHttpClient>> extra;
  for (int i = 0; i < 50; ++i) extra.push_back(std::make_unique<RawHttpClient>(s.port, 200));
  RawHttpClient waiting(s.port);
  ASSERT_TRUE(waiting.send_request("GET", "/waiting"));
  EXPECT_FALSE(waiting.readable_within(300));
  EXPECT_EQ(s.server.connection_count(s.listener), 2u);
  extra.clear();  // closed before being accepted
  a.reset();      // room for one
  auto r = waiting.read_response();
  ASSERT_TRUE(r);
  EXPECT_EQ(r->header("X-Path"), "/waiting");
  EXPECT_LE(s.server.connection_count(s.listener), 2u);
  // A connection that finishes a request while others wait gives its place up.
  ASSERT_TRUE(b.send_all("Host: x\r\n\r\n"));
  auto rb = b.read_response();
  ASSERT_TRUE(rb);
  EXPECT_EQ(rb->header("X-Path"), "/b");
}

TEST(HttpServer, BodiesBeyondMaxBodyReadersAtOnceAreRefused) {
  ListenerOptions o;
  o.max_body_readers = 1;
  Served s(echo_handler(), o, 1);
  RawHttpClient a(s.port), b(s.port);
  ASSERT_TRUE(a.send_all("POST /a HTTP/1.1\r\nHost: x\r\nContent-Length: 6\r\n\r\nabc"));
  std::this_thread::sleep_for(std::chrono::milliseconds(100));
  ASSERT_TRUE(b.send_all("POST /b HTTP/1.1\r\nHost: x\r\nContent-Length: 6\r\n\r\nabc"));
  auto refused = b.read_response();
  ASSERT_TRUE(refused);
  EXPECT_EQ(refused->status, 503);
  ASSERT_TRUE(a.send_all("def"));
  auto done = a.read_response();
  ASSERT_TRUE(done);
  EXPECT_EQ(done->body, "abcdef");
  // The slot is free again.
  RawHttpClient c(s.port);
  auto again = c.request("POST", "/c", "ghi");
  ASSERT_TRUE(again);
  EXPECT_EQ(again->body, "ghi");
}

TEST(HttpServer, PerRouteBodyLimitRefusesFromTheHeadBeforeTheBodyArrives) {
  ListenerOptions o;
  o.body_limit = 1000;
  o.body_limit_for = [](const HttpRequest& head) -> size_t {
    return head.path == "/small" ? 10 : 1000;
  };
  o.on_too_large = [](const HttpRequest& head) {
    HttpResponse r = text(413, "too large for " + head.path);
    r.set_header("x-amzn-ErrorType", "RequestEntityTooLargeException");
    return r;
  };
  Served s(echo_handler(), o);
  {
    // Only the head is sent: the answer must not wait for the body.
    RawHttpClient c(s.port);
    ASSERT_TRUE(c.send_all("POST /small HTTP/1.1\r\nHost: x\r\nContent-Length: 11\r\n\r\n"));
    ASSERT_TRUE(c.readable_within(2000));
    auto r = c.read_response();
    ASSERT_TRUE(r);
    EXPECT_EQ(r->status, 413);
    EXPECT_EQ(r->header("x-amzn-ErrorType"), "RequestEntityTooLargeException");
    EXPECT_EQ(r->body, "too large for /small");
  }
  {
    // Expect: 100-continue over the limit is refused without a 100 Continue.
    RawHttpClient c(s.port);
    ASSERT_TRUE(
        c.send_all("POST /small HTTP/1.1\r\nHost: x\r\nContent-Length: 500\r\n"
                   "Expect: 100-continue\r\n\r\n"));
    auto r = c.read_response();
    ASSERT_TRUE(r);
    EXPECT_EQ(r->status, 413);
  }
  {
    // A chunked body is cut off at the route's limit.
    RawHttpClient c(s.port);
    ASSERT_TRUE(
        c.send_all("POST /small HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"
                   "8\r\n12345678\r\n8\r\n12345678\r\n0\r\n\r\n"));
    auto r = c.read_response();
    ASSERT_TRUE(r);
    EXPECT_EQ(r->status, 413);
  }
  RawHttpClient ok(s.port);
  auto big = ok.request("POST", "/large", std::string(500, 'x'));
  ASSERT_TRUE(big);
  EXPECT_EQ(big->status, 200);
  auto small = ok.request("POST", "/small", "0123456789");
  ASSERT_TRUE(small);
  EXPECT_EQ(small->status, 200);
}

TEST(HttpServer, SetsTcpNodelayOnAcceptedSockets) {
  HttpServer server(1);
  uint16_t port = 0;
  const int fd = testutil::make_listening_socket(&port);
  auto id = server.add_listener(
      fd, [](HttpRequest&&, Reply reply) { reply(text(200, "x")); }, 0);
  ASSERT_TRUE(id);
  RawHttpClient c(port);
  ASSERT_TRUE(c.request("GET", "/"));
  sockaddr_in mine{};
  socklen_t len = sizeof mine;
  ASSERT_EQ(::getsockname(c.fd(), reinterpret_cast<sockaddr*>(&mine), &len), 0);
  // The server's end of this connection is an fd of this process: the one whose peer is us.
  int server_end = -1;
  for (int candidate = 3; candidate < 1024 && server_end < 0; ++candidate) {
    sockaddr_in peer{};
    socklen_t plen = sizeof peer;
    if (candidate == c.fd() ||
        ::getpeername(candidate, reinterpret_cast<sockaddr*>(&peer), &plen) != 0)
      continue;
    if (peer.sin_family == AF_INET && peer.sin_port == mine.sin_port) server_end = candidate;
  }
  ASSERT_GE(server_end, 0);
  int nodelay = 0;
  socklen_t olen = sizeof nodelay;
  ASSERT_EQ(::getsockopt(server_end, IPPROTO_TCP, TCP_NODELAY, &nodelay, &olen), 0);
  EXPECT_NE(nodelay, 0);
}

TEST(HttpServer, StopLetsAnInFlightRequestFinish) {
  auto server = std::make_unique<HttpServer>(1);
  std::promise<Reply> held;
  auto id = server->listen("127.0.0.1", 0,
                           [&](HttpRequest&&, Reply reply) { held.set_value(std::move(reply)); });
  ASSERT_TRUE(id);
  RawHttpClient c(server->local_port(*id));
  ASSERT_TRUE(c.send_request("GET", "/slow"));
  Reply reply = held.get_future().get();
  std::thread replier([&] {
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
    reply(text(200, "finished"));
  });
  server->stop(std::chrono::seconds(5));
  replier.join();
  auto r = c.read_response();
  ASSERT_TRUE(r);
  EXPECT_EQ(r->body, "finished");
  EXPECT_EQ(r->header("Connection"), "close");
}

TEST(HttpServer, HandlerExceptionBecomes500ServiceExceptionAndServingGoesOn) {
  Served s([](HttpRequest&& req, Reply reply) {
    if (req.path == "/throw") throw std::runtime_error("boom");
    if (req.path == "/throw-int") throw 42;
    reply(text(200, req.path));
  });
  RawHttpClient c(s.port);
  for (const char* path : {"/throw", "/throw-int"}) {
    auto r = c.request("GET", path);
    ASSERT_TRUE(r);
    EXPECT_EQ(r->status, 500);
    EXPECT_EQ(r->header("x-amzn-ErrorType"), "ServiceException");
    EXPECT_NE(r->body.find(R"("Type":"Service")"), std::string::npos) << r->body;
  }
  auto ok = c.request("GET", "/fine");
  ASSERT_TRUE(ok);
  EXPECT_EQ(ok->status, 200);
}

// A task posted to an io thread that throws must not end the thread (std::terminate).
TEST(HttpServer, ThrowingPostedTaskIsLoggedAndTheIoThreadKeepsServing) {
  Served s(echo_handler(), ListenerOptions{}, 1);
  for (int i = 0; i < 3; ++i) s.server.post(0, [] { throw std::runtime_error("posted boom"); });
  std::promise<void> ran;
  s.server.post(0, [&] { ran.set_value(); });
  ASSERT_EQ(ran.get_future().wait_for(std::chrono::seconds(5)), std::future_status::ready);
  RawHttpClient c(s.port);
  auto r = c.request("GET", "/after");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->header("X-Path"), "/after");
}

}  // namespace
}  // namespace api
