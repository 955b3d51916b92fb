// Per-route request body limits of the client API, decided from the request head so that an
// oversized body is refused before any of it is buffered.
#pragma once

#include <cstddef>
#include <string>

#include "api/http_types.hpp"

namespace api {

inline constexpr size_t kMaxSyncInvokeRequest = 6 * 1024 * 1024;    // 6291456, as Lambda
inline constexpr size_t kMaxEventInvokeRequest = 1024 * 1024;       // Event payloads: 1 MB
inline constexpr size_t kMaxCodeUploadRequest = 69905067;           // 50 MB zip, base64 in JSON
inline constexpr size_t kMaxOtherRequest = 1024 * 1024;             // every other route
inline constexpr size_t kMaxBenchReportRequest = 64 * 1024 * 1024;  // a saved bench run to draw

struct RouteBodyLimit {
  size_t bytes;
  std::string operation;  // Lambda's operation name, for the error message
};

// The body limit of the route `head` addresses: sync Invoke (and DryRun) 6 MB, Event 1 MB,
// CreateFunction and UpdateFunctionCode 69,905,067 bytes, a saved bench run to draw 64 MB,
// everything else 1 MB.
RouteBodyLimit client_body_limit(const HttpRequest& head);
// The largest of those: what the listener's parser must allow at most.
inline constexpr size_t kMaxClientRequest = kMaxCodeUploadRequest;
static_assert(kMaxBenchReportRequest <= kMaxClientRequest);

// Lambda's answer to a request over its route's limit: 413 RequestEntityTooLargeException, with
// Lambda's messages ("Request must be smaller than 6291456 bytes for the InvokeFunction
// operation"; for Event: "N byte payload is too large for the Event invocation type (limit
// 1048576 bytes)"). `head` is the request without its body; its Content-Length gives N.
HttpResponse request_entity_too_large(const HttpRequest& head, const std::string& request_id);

}  // namespace api
