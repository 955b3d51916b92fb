// A listener's TLS settings: a certificate chain and private key loaded from PEM files into an
// OpenSSL context that speaks TLS 1.2 and later only.
#pragma once

#include <expected>
#include <filesystem>
#include <memory>
#include <string>

namespace boost::asio::ssl {
class context;
}  // namespace boost::asio::ssl

namespace api {

class TlsServerContext {
 public:
  // Reads both files now. Refused with a message naming the file and the reason: unreadable, not
  // PEM, a key that does not belong to the certificate, an expired certificate, or a key file
  // that every user may read.
  static std::expected<std::shared_ptr<TlsServerContext>, std::string> load(
      const std::filesystem::path& cert_chain_file, const std::filesystem::path& key_file);
  ~TlsServerContext();
  TlsServerContext(const TlsServerContext&) = delete;
  TlsServerContext& operator=(const TlsServerContext&) = delete;

  // Connections take it when they start; a reload builds a new context instead of changing this
  // one, so a connection in its handshake never sees half of a change.
  boost::asio::ssl::context& context() { return *context_; }
  // The certificate's subject and expiry, for the log.
  const std::string& summary() const { return summary_; }

 private:
  TlsServerContext();
  std::unique_ptr<boost::asio::ssl::context> context_;
  std::string summary_;
};

}  // namespace api
