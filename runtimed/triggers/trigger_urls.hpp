// Where the HTTP trigger listener (`serve --http-listen`) is reached from outside: the URL of a
// Function URL and the endpoint of an HTTP API. Without wildcard DNS a path prefix routes
// (/lambda-url/<url-id>/…, /execute-api/<api-id>/…); with it, the Host header does
// (<url-id>.lambda-url.…, <api-id>.execute-api.…), as on AWS.
#pragma once

#include <mutex>
#include <string>

namespace runtimed {

inline constexpr std::string_view kFunctionUrlPrefix = "/lambda-url/";
inline constexpr std::string_view kHttpApiPrefix = "/execute-api/";

class TriggerUrls {
 public:
  // "http://127.0.0.1:9001" (no trailing slash); empty while there is no listener.
  void set_base(std::string base) {
    std::lock_guard lock(mu_);
    base_ = std::move(base);
  }
  std::string base() const {
    std::lock_guard lock(mu_);
    return base_;
  }
  // Lambda's FunctionUrl ends with a slash.
  std::string function_url(const std::string& url_id) const {
    return base() + std::string(kFunctionUrlPrefix) + url_id + "/";
  }
  std::string api_endpoint(const std::string& api_id) const {
    return base() + std::string(kHttpApiPrefix) + api_id;
  }

 private:
  mutable std::mutex mu_;
  std::string base_;
};

}  // namespace runtimed
