// Serves the embedded console files (see console_assets.hpp).
#include "runtimed/console/console_assets.hpp"

#include <algorithm>
#include <nlohmann/json.hpp>
#include <string>

#include "api/lambda_error.hpp"

namespace runtimed::console {

namespace {

constexpr std::string_view kPrefix = "/console/";

// The console's page may load only its own files and talk only to this daemon: no inline script,
// no third-party origin (the machine may be offline, and the page holds a secret key).
constexpr std::string_view kContentSecurityPolicy =
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self'; object-src 'none'; base-uri 'none'; frame-ancestors 'none'; "
    "form-action 'self'";

bool ends_with(std::string_view s, std::string_view suffix) { return s.ends_with(suffix); }

}  // namespace

std::optional<EmbeddedFile> find_file(std::string_view name) {
  const auto files = embedded_files();
  const auto it = std::find_if(files.begin(), files.end(),
                               [&](const EmbeddedFile& f) { return f.name == name; });
  if (it == files.end()) return std::nullopt;
  return *it;
}

std::string_view content_type(std::string_view name) {
  if (ends_with(name, ".html")) return "text/html; charset=utf-8";
  if (ends_with(name, ".js") || ends_with(name, ".mjs")) return "text/javascript; charset=utf-8";
  if (ends_with(name, ".css")) return "text/css; charset=utf-8";
  if (ends_with(name, ".svg")) return "image/svg+xml";
  if (ends_with(name, ".png")) return "image/png";
  if (ends_with(name, ".json")) return "application/json";
  if (ends_with(name, ".md") || ends_with(name, "LICENSE")) return "text/plain; charset=utf-8";
  return "application/octet-stream";
}

bool is_console_path(std::string_view path) {
  return path == "/console" || path.starts_with(kPrefix);
}

api::HttpResponse respond(const api::HttpRequest& request, const std::string& request_id,
                          const PageSettings& settings) {
  api::HttpResponse r;
  r.set_header("x-amzn-RequestId", request_id);
  if (request.path == "/console") {
    r.status = 301;
    r.set_header("Location", "/console/");
    r.set_header("Cache-Control", "no-cache");
    return r;
  }
  std::string_view name = std::string_view(request.path).substr(kPrefix.size());
  if (name.empty()) name = "index.html";
  if (name == "config.json") {
    r.set_header("Cache-Control", "no-store");
    r.set_header("Content-Type", "application/json");
    r.body = nlohmann::json{{"signIn", settings.sign_in}, {"region", settings.region}}.dump();
    return r;
  }
  const auto file = find_file(name);
  if (!file) {
    return api::to_http(api::ApiError::not_found("The console has no file " + request.path),
                        request_id);
  }
  const std::string etag = "\"" + std::string(file->sha256.substr(0, 32)) + "\"";
  // no-cache: revalidate every time (one small request), so a new daemon's console is never mixed
  // with an old one's cached scripts; the ETag makes the revalidation a 304 without a body.
  r.set_header("Cache-Control", "no-cache");
  r.set_header("ETag", etag);
  r.set_header("X-Content-Type-Options", "nosniff");
  r.set_header("Referrer-Policy", "no-referrer");
  if (name.ends_with(".html")) {
    r.set_header("Content-Security-Policy", std::string(kContentSecurityPolicy));
    r.set_header("X-Frame-Options", "DENY");
  }
  if (request.header("If-None-Match") == etag) {
    r.status = 304;
    return r;
  }
  r.status = 200;
  r.set_header("Content-Type", std::string(content_type(name)));
  r.body = std::string(file->bytes);
  return r;
}

}  // namespace runtimed::console
