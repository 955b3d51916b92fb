// For TLS tests and benchmarks: a throwaway PKI made with the openssl command (a self-signed CA and
// a server certificate it signed for 127.0.0.1), and a blocking keep-alive HTTPS client on one
// connection with OpenSSL, lean enough to time.
#pragma once

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <memory>
#include <stdexcept>
#include <string>

namespace testsupport {

struct TestPki {
  std::filesystem::path ca_cert;      // ca.pem: what clients trust
  std::filesystem::path server_cert;  // server.pem
  std::filesystem::path server_key;   // server.key, mode 600
  std::filesystem::path other_key;    // other.key: a key of no certificate here, mode 600
};

inline void run_openssl(const std::string& args, const std::filesystem::path& dir) {
  const std::string command =
      "cd '" + dir.string() + "' && /usr/bin/openssl " + args + " >openssl.log 2>&1";
  if (std::system(command.c_str()) != 0)
    throw std::runtime_error("openssl " + args + " failed; see " + (dir / "openssl.log").string());
}

// `days`: the server certificate's lifetime (the CA's is ten years).
inline TestPki make_test_pki(const std::filesystem::path& dir, int days = 30) {
  std::filesystem::create_directories(dir);
  run_openssl(
      "req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout ca.key -out ca.pem "
      "-days 3650 -subj /CN=runtimed-test-ca",
      dir);
  run_openssl(
      "req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout server.key -out server.csr "
      "-subj /CN=127.0.0.1",
      dir);
  // What strict verifiers want of a leaf: its names in subjectAltName, a key identifier chain,
  // not a CA, for server authentication.
  {
    const std::string ext =
        "subjectAltName=IP:127.0.0.1,DNS:localhost\nbasicConstraints=critical,CA:FALSE\n"
        "keyUsage=critical,digitalSignature\nextendedKeyUsage=serverAuth\n"
        "subjectKeyIdentifier=hash\nauthorityKeyIdentifier=keyid:always\n";
    std::FILE* f = std::fopen((dir / "server.ext").c_str(), "w");
    if (f == nullptr) throw std::runtime_error("write server.ext");
    std::fputs(ext.c_str(), f);
    std::fclose(f);
  }
  run_openssl(
      "x509 -req -in server.csr -CA ca.pem -CAkey ca.key -CAcreateserial -out server.pem "
      "-days " +
          std::to_string(days) + " -extfile server.ext",
      dir);
  run_openssl("genpkey -algorithm ec -pkeyopt ec_paramgen_curve:P-256 -out other.key", dir);
  for (const char* key : {"ca.key", "server.key", "other.key"}) ::chmod((dir / key).c_str(), 0600);
  return {dir / "ca.pem", dir / "server.pem", dir / "server.key", dir / "other.key"};
}

// One TLS connection to 127.0.0.1:`port`, the server verified against `ca_cert`: whole HTTP/1.1
// requests, answers delimited by Content-Length. `max_version` (e.g. TLS1_1_VERSION) limits
// what the client offers. Throws std::runtime_error when the connection fails or is closed.
class TlsConnection {
 public:
  TlsConnection(int port, const std::filesystem::path& ca_cert, int max_version = 0) {
    // A write to a connection the server closed must fail here, not kill the process.
    ::signal(SIGPIPE, SIG_IGN);
    ctx_.reset(SSL_CTX_new(TLS_client_method()));
    if (!ctx_) throw std::runtime_error("SSL_CTX_new");
    if (max_version != 0) {
      // OpenSSL 3 offers nothing below TLS 1.2 at its default security level.
      SSL_CTX_set_security_level(ctx_.get(), 0);
      SSL_CTX_set_min_proto_version(ctx_.get(), 0);
      SSL_CTX_set_max_proto_version(ctx_.get(), max_version);
    }
    if (SSL_CTX_load_verify_locations(ctx_.get(), ca_cert.c_str(), nullptr) != 1)
      throw std::runtime_error("load " + ca_cert.string());
    SSL_CTX_set_verify(ctx_.get(), SSL_VERIFY_PEER, nullptr);
    fd_.reset(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
    int one = 1;
    ::setsockopt(fd_.get(), IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_port = htons(static_cast<uint16_t>(port));
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (::connect(fd_.get(), reinterpret_cast<sockaddr*>(&a), sizeof a) != 0)
      throw std::runtime_error("connect to port " + std::to_string(port));
    ssl_.reset(SSL_new(ctx_.get()));
    SSL_set_fd(ssl_.get(), fd_.get());
    X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(ssl_.get()), "127.0.0.1");
    if (SSL_connect(ssl_.get()) != 1) {
      char reason[256] = "closed";
      if (const unsigned long e = ERR_get_error(); e != 0)
        ERR_error_string_n(e, reason, sizeof reason);
      ERR_clear_error();
      throw std::runtime_error(std::string("TLS handshake: ") + reason);
    }
  }
  TlsConnection(const TlsConnection&) = delete;
  TlsConnection& operator=(const TlsConnection&) = delete;

  std::string version() const { return SSL_get_version(ssl_.get()); }

  // Returns the status code; the body in `body`. `extra_headers` are whole "Name: value\r\n" lines.
  int request(const std::string& method, const std::string& path, const std::string& payload,
              std::string* body = nullptr, const std::string& extra_headers = "") {
    const std::string req =
        method + " " + path + " HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n" +
        extra_headers + "Content-Length: " + std::to_string(payload.size()) + "\r\n\r\n" + payload;
    if (SSL_write(ssl_.get(), req.data(), static_cast<int>(req.size())) !=
        static_cast<int>(req.size()))
      throw std::runtime_error("TLS write");
    for (;;) {
      const auto end = buf_.find("\r\n\r\n");
      if (end != std::string::npos) {
        const int status = std::atoi(buf_.c_str() + 9);
        size_t length = 0;
        auto cl = buf_.find("Content-Length: ");
        if (cl == std::string::npos || cl > end) cl = buf_.find("content-length: ");
        if (cl != std::string::npos && cl < end)
          length = std::strtoul(buf_.c_str() + cl + 16, nullptr, 10);
        if (buf_.size() >= end + 4 + length) {
          if (body) *body = buf_.substr(end + 4, length);
          buf_.erase(0, end + 4 + length);
          return status;
        }
      }
      char chunk[65536];
      const int n = SSL_read(ssl_.get(), chunk, sizeof chunk);
      if (n <= 0) throw std::runtime_error("TLS read: connection closed");
      buf_.append(chunk, static_cast<size_t>(n));
    }
  }

 private:
  // Owners, so that a constructor that throws frees what it made.
  struct CtxFree {
    void operator()(SSL_CTX* c) const { SSL_CTX_free(c); }
  };
  struct SslFree {
    void operator()(SSL* s) const { SSL_free(s); }
  };
  struct Fd {
    int fd = -1;
    Fd() = default;
    Fd(const Fd&) = delete;
    Fd& operator=(const Fd&) = delete;
    ~Fd() { reset(-1); }
    void reset(int f) {
      if (fd >= 0) ::close(fd);
      fd = f;
    }
    int get() const { return fd; }
  };
  Fd fd_;  // declared first: closed after the SSL that uses it is freed
  std::unique_ptr<SSL_CTX, CtxFree> ctx_;
  std::unique_ptr<SSL, SslFree> ssl_;
  std::string buf_;
};

}  // namespace testsupport
