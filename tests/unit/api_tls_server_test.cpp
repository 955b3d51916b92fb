// HTTPS listeners: loading the certificate and key (each refusal names its reason) and HttpServer
// serving TLS over real loopback sockets to httplib's OpenSSL client.
#include <gtest/gtest.h>
#include <httplib.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <sys/stat.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <thread>

#include "api/http_server.hpp"
#include "api/tls_context.hpp"
#include "tests/tls_test_support.hpp"
#include "tests/unit/raw_http_client.hpp"

namespace api {
namespace {

namespace fs = std::filesystem;

// A directory of its own under the system temp dir, removed at the end.
struct ScratchDir {
  ScratchDir() {
    std::string pattern = (fs::temp_directory_path() / "rt-tls-XXXXXX").string();
    if (::mkdtemp(pattern.data()) == nullptr) throw std::runtime_error("mkdtemp");
    path = pattern;
  }
  ~ScratchDir() {
    std::error_code ec;
    fs::remove_all(path, ec);
  }
  fs::path path;
};

class TlsContextLoad : public ::testing::Test {
 protected:
  ScratchDir dir_;
  testsupport::TestPki pki_ = testsupport::make_test_pki(dir_.path / "pki");
};

TEST_F(TlsContextLoad, AMatchingCertificateAndKeyLoad) {
  auto tls = TlsServerContext::load(pki_.server_cert, pki_.server_key);
  ASSERT_TRUE(tls) << tls.error();
  EXPECT_NE((*tls)->summary().find("CN=127.0.0.1"), std::string::npos) << (*tls)->summary();
}

TEST_F(TlsContextLoad, EachBadFileIsRefusedWithItsReason) {
  auto missing = TlsServerContext::load(dir_.path / "nope.pem", pki_.server_key);
  ASSERT_FALSE(missing);
  EXPECT_NE(missing.error().find("cannot read"), std::string::npos) << missing.error();
  EXPECT_NE(missing.error().find("nope.pem"), std::string::npos) << missing.error();

  std::ofstream(dir_.path / "garbage.pem") << "not a certificate\n";
  auto garbage = TlsServerContext::load(dir_.path / "garbage.pem", pki_.server_key);
  ASSERT_FALSE(garbage);
  EXPECT_NE(garbage.error().find("not a PEM certificate chain"), std::string::npos)
      << garbage.error();

  // The certificate where the key should be.
  fs::copy_file(pki_.server_cert, dir_.path / "cert-as-key.pem");
  ::chmod((dir_.path / "cert-as-key.pem").c_str(), 0600);
  auto not_key = TlsServerContext::load(pki_.server_cert, dir_.path / "cert-as-key.pem");
  ASSERT_FALSE(not_key);
  EXPECT_NE(not_key.error().find("not an unencrypted PEM private key"), std::string::npos)
      << not_key.error();

  auto mismatch = TlsServerContext::load(pki_.server_cert, pki_.other_key);
  ASSERT_FALSE(mismatch);
  EXPECT_NE(mismatch.error().find("does not belong to the certificate"), std::string::npos)
      << mismatch.error();
}

TEST_F(TlsContextLoad, AKeyEveryUserCanReadIsRefusedAGroupReadableOneIsNot) {
  ::chmod(pki_.server_key.c_str(), 0644);
  auto open = TlsServerContext::load(pki_.server_cert, pki_.server_key);
  ASSERT_FALSE(open);
  EXPECT_NE(open.error().find("accessible by every user"), std::string::npos) << open.error();
  ::chmod(pki_.server_key.c_str(), 0640);
  auto group = TlsServerContext::load(pki_.server_cert, pki_.server_key);
  EXPECT_TRUE(group) << group.error();
}

TEST_F(TlsContextLoad, AnExpiredCertificateIsRefused) {
  // The server certificate re-signed by the CA with a validity that ended an hour ago.
  std::FILE* f = std::fopen(pki_.server_cert.c_str(), "r");
  ASSERT_NE(f, nullptr);
  X509* cert = PEM_read_X509(f, nullptr, nullptr, nullptr);
  std::fclose(f);
  f = std::fopen((dir_.path / "pki" / "ca.key").c_str(), "r");
  ASSERT_NE(f, nullptr);
  EVP_PKEY* ca_key = PEM_read_PrivateKey(f, nullptr, nullptr, nullptr);
  std::fclose(f);
  ASSERT_TRUE(cert && ca_key);
  X509_gmtime_adj(X509_getm_notBefore(cert), -7200);
  X509_gmtime_adj(X509_getm_notAfter(cert), -3600);
  ASSERT_GT(X509_sign(cert, ca_key, EVP_sha256()), 0);
  const fs::path expired = dir_.path / "expired.pem";
  f = std::fopen(expired.c_str(), "w");
  ASSERT_NE(f, nullptr);
  PEM_write_X509(f, cert);
  std::fclose(f);
  X509_free(cert);
  EVP_PKEY_free(ca_key);

  auto tls = TlsServerContext::load(expired, pki_.server_key);
  ASSERT_FALSE(tls);
  EXPECT_NE(tls.error().find("expired on"), std::string::npos) << tls.error();
}

// The same throwaway PKI, for the server's tests.
class HttpsListener : public TlsContextLoad {};

HttpServer::Handler path_handler(std::atomic<int>* handled) {
  return [handled](HttpRequest&& req, Reply reply) {
    ++*handled;
    HttpResponse r;
    r.status = 200;
    r.body = req.path + ":" + req.body;
    reply(std::move(r));
  };
}

// An HTTPS listener on an ephemeral loopback port.
struct ServedTls {
  ServedTls(const testsupport::TestPki& pki, ListenerOptions o = {}) : server(2) {
    auto tls = TlsServerContext::load(pki.server_cert, pki.server_key);
    EXPECT_TRUE(tls) << (tls ? "" : tls.error());
    if (tls) o.tls = *tls;
    auto id = server.listen("127.0.0.1", 0, path_handler(&handled), std::move(o));
    EXPECT_TRUE(id.has_value()) << (id ? "" : id.error());
    listener = id.value_or(0);
    port = server.local_port(listener);
  }
  std::atomic<int> handled{0};
  HttpServer server;
  ListenerId listener = 0;
  uint16_t port = 0;
};

httplib::Client tls_client(uint16_t port, const fs::path& ca) {
  httplib::Client c("https://127.0.0.1:" + std::to_string(port));
  c.set_ca_cert_path(ca.string());
  c.enable_server_certificate_verification(true);
  c.set_connection_timeout(5, 0);
  c.set_read_timeout(5, 0);
  return c;
}

TEST_F(HttpsListener, ServesKeepAliveRequestsOnOneConnection) {
  ServedTls s(pki_);
  auto c = tls_client(s.port, pki_.ca_cert);
  c.set_keep_alive(true);
  auto first = c.Post("/one", "a", "text/plain");
  ASSERT_TRUE(first) << httplib::to_string(first.error());
  EXPECT_EQ(first->status, 200);
  EXPECT_EQ(first->body, "/one:a");
  auto second = c.Post("/two", std::string(100000, 'b'), "text/plain");
  ASSERT_TRUE(second) << httplib::to_string(second.error());
  EXPECT_EQ(second->body, "/two:" + std::string(100000, 'b'));
  EXPECT_EQ(s.handled.load(), 2);
  EXPECT_EQ(s.server.connection_count(s.listener), 1u);  // both on one TLS connection
}

TEST_F(HttpsListener, AClientThatDoesNotTrustTheCaOrSpeaksPlainHttpIsNotServed) {
  ServedTls s(pki_);
  ScratchDir other;
  const auto other_pki = testsupport::make_test_pki(other.path);
  auto untrusting = tls_client(s.port, other_pki.ca_cert);
  auto refused = untrusting.Get("/x");
  ASSERT_FALSE(refused);
  EXPECT_EQ(refused.error(), httplib::Error::SSLServerVerification);

  testutil::RawHttpClient plain(s.port, 5000);
  ASSERT_TRUE(plain.connected());
  auto answer = plain.request("GET", "/x", "");
  EXPECT_FALSE(answer.has_value());  // the handshake failed on a request line: closed, no answer
  EXPECT_EQ(s.handled.load(), 0);
}

TEST_F(HttpsListener, AHandshakeThatNeverStartsIsDroppedAfterTheRequestTimeout) {
  ListenerOptions o;
  o.request_timeout = std::chrono::milliseconds(300);
  ServedTls s(pki_, o);
  testutil::RawHttpClient silent(s.port, 5000);
  ASSERT_TRUE(silent.connected());
  for (int i = 0; i < 100 && s.server.connection_count(s.listener) == 0; ++i)
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  ASSERT_EQ(s.server.connection_count(s.listener), 1u);
  const auto start = std::chrono::steady_clock::now();
  while (s.server.connection_count(s.listener) > 0 &&
         std::chrono::steady_clock::now() - start < std::chrono::seconds(3))
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  const auto waited = std::chrono::steady_clock::now() - start;
  EXPECT_EQ(s.server.connection_count(s.listener), 0u);
  EXPECT_GE(waited, std::chrono::milliseconds(200));
  EXPECT_LT(waited, std::chrono::milliseconds(300) + 2 * HttpServer::kSweepPeriod +
                        std::chrono::milliseconds(500));
}

TEST_F(HttpsListener, TheListenersLimitsApplyInsideTls) {
  ListenerOptions o;
  o.body_limit = 1000;
  o.header_limit = 2000;
  o.max_connections = 1;
  ServedTls s(pki_, o);
  // The body limit: 413 before the body is read.
  {
    testsupport::TlsConnection c(s.port, pki_.ca_cert);
    std::string body;
    EXPECT_EQ(c.request("POST", "/big", std::string(5000, 'x'), &body), 413) << body;
  }
  // The head limit: 431.
  {
    testsupport::TlsConnection c(s.port, pki_.ca_cert);
    std::string body;
    EXPECT_EQ(c.request("GET", "/", "", &body, "X-Big: " + std::string(4000, 'h') + "\r\n"), 431)
        << body;
  }
  for (int i = 0; i < 200 && s.server.connection_count(s.listener) > 0; ++i)
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  // The connection cap: an idle TLS connection gives its place up to a new one.
  testsupport::TlsConnection idle(s.port, pki_.ca_cert);
  std::string body;
  ASSERT_EQ(idle.request("GET", "/first", "", &body), 200);
  testsupport::TlsConnection next(s.port, pki_.ca_cert);
  EXPECT_EQ(next.request("GET", "/second", "", &body), 200);
  EXPECT_EQ(body, "/second:");
  EXPECT_THROW(idle.request("GET", "/again", "", &body), std::runtime_error);  // closed
}

TEST_F(HttpsListener, ReplacedCertificatesServeNewConnections) {
  ServedTls s(pki_);
  ScratchDir other;
  const auto next = testsupport::make_test_pki(other.path);
  auto next_tls = TlsServerContext::load(next.server_cert, next.server_key);
  ASSERT_TRUE(next_tls) << next_tls.error();
  ASSERT_TRUE(s.server.replace_tls(s.listener, *next_tls));
  auto with_new_ca = tls_client(s.port, next.ca_cert);
  auto ok = with_new_ca.Get("/after");
  ASSERT_TRUE(ok) << httplib::to_string(ok.error());
  EXPECT_EQ(ok->status, 200);
  auto with_old_ca = tls_client(s.port, pki_.ca_cert);
  auto refused = with_old_ca.Get("/after");
  ASSERT_FALSE(refused);
  EXPECT_EQ(refused.error(), httplib::Error::SSLServerVerification);
}

}  // namespace
}  // namespace api
