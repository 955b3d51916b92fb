// The web console's static files, built into the binary (cmake/EmbedConsole.cmake), and the HTTP
// answers that serve them under /console/ on the client listener (docs/console.md).
#pragma once

#include <optional>
#include <span>
#include <string>
#include <string_view>

#include "api/http_types.hpp"

namespace runtimed::console {

struct EmbeddedFile {
  std::string_view name;    // path under /console/, e.g. "app.js", "vendor/uPlot.min.js"
  std::string_view bytes;   // the file as it was in console/ when built
  std::string_view sha256;  // hex digest of bytes: the ETag
};

// Every embedded file (generated source).
std::span<const EmbeddedFile> embedded_files();

// The embedded file `name` names, if there is one.
std::optional<EmbeddedFile> find_file(std::string_view name);

// Content-Type by file extension; application/octet-stream for one not known.
std::string_view content_type(std::string_view name);

// True for the console's paths (/console and below): GET and HEAD of them need no signature, since
// a browser navigating to the page cannot sign; the page then signs its API calls itself.
bool is_console_path(std::string_view path);

// What the page needs to know before its first API call, served as /console/config.json.
struct PageSettings {
  bool sign_in = false;  // the daemon runs with --credentials: the page asks for a key pair
  std::string region;    // the SigV4 scope's region the daemon verifies
};

// The answer to GET `request` (its path is /console or below): /console redirects to /console/,
// which is index.html; config.json is `settings`; a known file with its type, ETag and
// Cache-Control: no-cache (304 when the client's If-None-Match still holds); anything else 404
// ResourceNotFoundException.
api::HttpResponse respond(const api::HttpRequest& request, const std::string& request_id,
                          const PageSettings& settings);

}  // namespace runtimed::console
