// The closed list of Lambda API error types, their HTTP statuses, and how they go on the wire.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <utility>

#include "api/http_types.hpp"

namespace api {

enum class ApiErrorType {
  InvalidParameterValue,                 // 400
  InvalidRequestContent,                 // 400
  ResourceNotFound,                      // 404
  ProvisionedConcurrencyConfigNotFound,  // 404
  ResourceConflict,                      // 409
  PreconditionFailed,                    // 412
  RequestTooLarge,                       // 413
  UnsupportedMediaType,                  // 415
  TooManyRequests,                       // 429
  Service,                               // 500
  // ServiceException on the wire, as Lambda's, with the status that tells a client more:
  ServiceUnavailable,  // 503: nothing was done (e.g. an event not stored); the same call may
                       // succeed later
  ServiceBadGateway,   // 502: a peer node broke off mid-call; the call may have run there
  // Not Lambda's own list, but what a client must be able to tell from "no such function":
  UnknownOperation,     // 404: no Lambda operation has this method and path (AWS's gateway)
  NotImplemented,       // 501: a Lambda operation runtimed does not implement
  CodeStorageExceeded,  // 400: the code store is full (Lambda's CodeStorageExceededException)
  // Authentication (SigV4), as AWS's front end answers them (docs/security.md):
  MissingAuthenticationToken,  // 403: no signature at all
  IncompleteSignature,         // 400: an Authorization header missing a part
  InvalidSignature,            // 403: a signature that does not match, or out of the clock window
  UnrecognizedClient,          // 403: an access key id nobody issued
  AccessDenied,                // 403: a key that may not do this (a non-admin key on /metrics)
};

// "InvalidParameterValueException", ...
std::string_view type_name(ApiErrorType type);
int http_status(ApiErrorType type);

struct ApiError {
  ApiError(ApiErrorType type, std::string message, std::optional<std::string> reason = {})
      : type(type), message(std::move(message)), reason(std::move(reason)) {}

  ApiErrorType type;
  std::string message;
  std::optional<std::string>
      reason;  // 429 only: e.g. "ReservedFunctionConcurrentInvocationLimitExceeded"

  static ApiError invalid_parameter(std::string message);
  static ApiError invalid_request_content(std::string message);
  static ApiError not_found(std::string message);
  static ApiError conflict(std::string message);
  static ApiError precondition_failed(std::string message);
  static ApiError too_large(std::string message);
  static ApiError unsupported_media_type(std::string message);
  static ApiError too_many_requests(std::string message, std::string reason);
  static ApiError service(std::string message);
  static ApiError service_unavailable(std::string message);
  static ApiError bad_gateway(std::string message);
  static ApiError unknown_operation(std::string message);
  static ApiError not_implemented(std::string message);
  static ApiError code_storage_exceeded(std::string message);
  static ApiError auth(ApiErrorType type, std::string message) {
    return ApiError(type, std::move(message));
  }

  bool operator==(const ApiError&) const = default;
};

// Status, x-amzn-ErrorType, x-amzn-RequestId and the JSON body {"Type":"User","message":...}.
HttpResponse to_http(const ApiError& error, const std::string& request_id);

}  // namespace api
