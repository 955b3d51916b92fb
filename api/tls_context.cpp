// Loads a listener's certificate chain and key into an OpenSSL server context (TLS 1.2+ only).
#include "api/tls_context.hpp"

#include <fmt/format.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <sys/stat.h>

#include <boost/asio/ssl/context.hpp>
#include <boost/asio/ssl/error.hpp>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>

namespace api {

namespace asio = boost::asio;
namespace ssl = boost::asio::ssl;

namespace {

std::expected<std::string, std::string> read_file(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in)
    return std::unexpected(fmt::format("cannot read {}: {}", path.string(), std::strerror(errno)));
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

// OpenSSL's reason for the last failure ("no start line", "key values mismatch").
std::string openssl_reason(const boost::system::error_code& ec) {
  std::string reason = ec ? ec.message() : std::string();
  if (const unsigned long e = ERR_peek_last_error(); reason.empty() && e != 0) {
    char buf[256];
    ERR_error_string_n(e, buf, sizeof buf);
    reason = buf;
  }
  ERR_clear_error();
  return reason.empty() ? "unknown OpenSSL error" : reason;
}

std::string asn1_time_text(const ASN1_TIME* t) {
  BIO* bio = BIO_new(BIO_s_mem());
  if (bio == nullptr) return "?";
  ASN1_TIME_print(bio, t);
  char* data = nullptr;
  const long n = BIO_get_mem_data(bio, &data);
  std::string text(data, static_cast<size_t>(n > 0 ? n : 0));
  BIO_free(bio);
  return text;
}

std::string subject_text(X509* cert) {
  char buf[512];
  X509_NAME_oneline(X509_get_subject_name(cert), buf, sizeof buf);
  return buf;
}

}  // namespace

TlsServerContext::TlsServerContext()
    : context_(std::make_unique<ssl::context>(ssl::context::tls_server)) {}

TlsServerContext::~TlsServerContext() = default;

std::expected<std::shared_ptr<TlsServerContext>, std::string> TlsServerContext::load(
    const std::filesystem::path& cert_chain_file, const std::filesystem::path& key_file) {
  auto cert_pem = read_file(cert_chain_file);
  if (!cert_pem) return std::unexpected(cert_pem.error());
  // As ssh with its keys: a private key every user can read is not private any more. Group
  // access stays allowed (Debian's ssl-cert group reads /etc/ssl/private).
  struct stat st {};
  if (::stat(key_file.c_str(), &st) == 0 && (st.st_mode & 007) != 0) {
    return std::unexpected(
        fmt::format("TLS key {} is accessible by every user (mode {:04o}): chmod 600 (or 640) it",
                    key_file.string(), st.st_mode & 07777));
  }
  auto key_pem = read_file(key_file);
  if (!key_pem) return std::unexpected(key_pem.error());

  auto tls = std::shared_ptr<TlsServerContext>(new TlsServerContext());
  ssl::context& ctx = *tls->context_;
  SSL_CTX* native = ctx.native_handle();
  ERR_clear_error();
  // TLS 1.0 and 1.1 are deprecated (RFC 8996); no compression (CRIME), no renegotiation (a
  // client could make the server redo handshakes at will).
  SSL_CTX_set_min_proto_version(native, TLS1_2_VERSION);
  ctx.set_options(ssl::context::default_workarounds | ssl::context::no_compression);
  SSL_CTX_set_options(native, SSL_OP_NO_RENEGOTIATION | SSL_OP_CIPHER_SERVER_PREFERENCE);
  // An encrypted key would make OpenSSL ask for its passphrase on the terminal: a daemon has
  // none, so the key is refused instead.
  ctx.set_password_callback([](size_t, ssl::context::password_purpose) { return std::string(); });

  boost::system::error_code ec;
  ctx.use_certificate_chain(asio::buffer(*cert_pem), ec);
  if (ec) {
    return std::unexpected(fmt::format("TLS certificate {}: not a PEM certificate chain ({})",
                                       cert_chain_file.string(), openssl_reason(ec)));
  }
  ctx.use_private_key(asio::buffer(*key_pem), ssl::context::pem, ec);
  // OpenSSL compares the key with the certificate as it takes it.
  const bool mismatch =
      ec && ec.category() == asio::error::get_ssl_category() &&
      ERR_GET_REASON(static_cast<unsigned long>(ec.value())) == X509_R_KEY_VALUES_MISMATCH;
  if (ec && !mismatch) {
    return std::unexpected(fmt::format("TLS key {}: not an unencrypted PEM private key ({})",
                                       key_file.string(), openssl_reason(ec)));
  }
  if (mismatch || SSL_CTX_check_private_key(native) != 1) {
    return std::unexpected(fmt::format("TLS key {} does not belong to the certificate in {}",
                                       key_file.string(), cert_chain_file.string()));
  }
  ERR_clear_error();
  X509* cert = SSL_CTX_get0_certificate(native);
  if (cert == nullptr) {
    return std::unexpected(
        fmt::format("TLS certificate {}: no certificate", cert_chain_file.string()));
  }
  const std::string not_after = asn1_time_text(X509_get0_notAfter(cert));
  if (X509_cmp_current_time(X509_get0_notAfter(cert)) <= 0) {
    return std::unexpected(
        fmt::format("TLS certificate {} expired on {}", cert_chain_file.string(), not_after));
  }
  tls->summary_ = fmt::format("{} (valid until {})", subject_text(cert), not_after);
  return tls;
}

}  // namespace api
