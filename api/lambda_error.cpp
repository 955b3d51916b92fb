#include "api/lambda_error.hpp"

#include <nlohmann/json.hpp>

namespace api {

std::string_view type_name(ApiErrorType type) {
  switch (type) {
    case ApiErrorType::InvalidParameterValue:
      return "InvalidParameterValueException";
    case ApiErrorType::InvalidRequestContent:
      return "InvalidRequestContentException";
    case ApiErrorType::ResourceNotFound:
      return "ResourceNotFoundException";
    case ApiErrorType::ProvisionedConcurrencyConfigNotFound:
      return "ProvisionedConcurrencyConfigNotFoundException";
    case ApiErrorType::ResourceConflict:
      return "ResourceConflictException";
    case ApiErrorType::PreconditionFailed:
      return "PreconditionFailedException";
    case ApiErrorType::RequestTooLarge:
      return "RequestTooLargeException";
    case ApiErrorType::UnsupportedMediaType:
      return "UnsupportedMediaTypeException";
    case ApiErrorType::TooManyRequests:
      return "TooManyRequestsException";
    case ApiErrorType::Service:
    case ApiErrorType::ServiceUnavailable:
    case ApiErrorType::ServiceBadGateway:
      return "ServiceException";
    case ApiErrorType::UnknownOperation:
      return "UnknownOperationException";
    case ApiErrorType::NotImplemented:
      return "NotImplementedException";
    case ApiErrorType::CodeStorageExceeded:
      return "CodeStorageExceededException";
    case ApiErrorType::MissingAuthenticationToken:
      return "MissingAuthenticationTokenException";
    case ApiErrorType::IncompleteSignature:
      return "IncompleteSignatureException";
    case ApiErrorType::InvalidSignature:
      return "InvalidSignatureException";
    case ApiErrorType::UnrecognizedClient:
      return "UnrecognizedClientException";
    case ApiErrorType::AccessDenied:
      return "AccessDeniedException";
  }
  return "ServiceException";
}

int http_status(ApiErrorType type) {
  switch (type) {
    case ApiErrorType::InvalidParameterValue:
    case ApiErrorType::InvalidRequestContent:
    case ApiErrorType::CodeStorageExceeded:
    case ApiErrorType::IncompleteSignature:
      return 400;
    case ApiErrorType::MissingAuthenticationToken:
    case ApiErrorType::InvalidSignature:
    case ApiErrorType::UnrecognizedClient:
    case ApiErrorType::AccessDenied:
      return 403;
    case ApiErrorType::ResourceNotFound:
    case ApiErrorType::ProvisionedConcurrencyConfigNotFound:
    case ApiErrorType::UnknownOperation:
      return 404;
    case ApiErrorType::NotImplemented:
      return 501;
    case ApiErrorType::ResourceConflict:
      return 409;
    case ApiErrorType::PreconditionFailed:
      return 412;
    case ApiErrorType::RequestTooLarge:
      return 413;
    case ApiErrorType::UnsupportedMediaType:
      return 415;
    case ApiErrorType::TooManyRequests:
      return 429;
    case ApiErrorType::Service:
      return 500;
    case ApiErrorType::ServiceUnavailable:
      return 503;
    case ApiErrorType::ServiceBadGateway:
      return 502;
  }
  return 500;
}

ApiError ApiError::invalid_parameter(std::string m) {
  return {ApiErrorType::InvalidParameterValue, std::move(m), {}};
}
ApiError ApiError::invalid_request_content(std::string m) {
  return {ApiErrorType::InvalidRequestContent, std::move(m), {}};
}
ApiError ApiError::not_found(std::string m) {
  return {ApiErrorType::ResourceNotFound, std::move(m), {}};
}
ApiError ApiError::conflict(std::string m) {
  return {ApiErrorType::ResourceConflict, std::move(m), {}};
}
ApiError ApiError::precondition_failed(std::string m) {
  return {ApiErrorType::PreconditionFailed, std::move(m), {}};
}
ApiError ApiError::too_large(std::string m) {
  return {ApiErrorType::RequestTooLarge, std::move(m), {}};
}
ApiError ApiError::unsupported_media_type(std::string m) {
  return {ApiErrorType::UnsupportedMediaType, std::move(m), {}};
}
ApiError ApiError::too_many_requests(std::string m, std::string reason) {
  return {ApiErrorType::TooManyRequests, std::move(m), std::move(reason)};
}
ApiError ApiError::service(std::string m) { return {ApiErrorType::Service, std::move(m), {}}; }
ApiError ApiError::service_unavailable(std::string m) {
  return {ApiErrorType::ServiceUnavailable, std::move(m), {}};
}
ApiError ApiError::bad_gateway(std::string m) {
  return {ApiErrorType::ServiceBadGateway, std::move(m), {}};
}
ApiError ApiError::unknown_operation(std::string m) {
  return {ApiErrorType::UnknownOperation, std::move(m), {}};
}
ApiError ApiError::not_implemented(std::string m) {
  return {ApiErrorType::NotImplemented, std::move(m), {}};
}
ApiError ApiError::code_storage_exceeded(std::string m) {
  return {ApiErrorType::CodeStorageExceeded, std::move(m), {}};
}

HttpResponse to_http(const ApiError& error, const std::string& request_id) {
  const int status = http_status(error.type);
  // Lambda's fault side: ours for every 5xx, the caller's for every 4xx.
  nlohmann::json body = {
      {"Type", status >= 500 ? "Service" : "User"},
      {"message", error.message},
  };
  HttpResponse resp;
  resp.status = status;
  resp.set_header("x-amzn-ErrorType", std::string(type_name(error.type)));
  resp.set_header("x-amzn-RequestId", request_id);
  resp.set_header("Content-Type", "application/json");
  if (error.type == ApiErrorType::TooManyRequests) {
    body["Reason"] = error.reason.value_or("");
    resp.set_header("Retry-After", "1");  // throttles here are momentary; clients back off anyway
  }
  // Replace invalid UTF-8 (a message may quote client input) rather than throw.
  resp.body = body.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  return resp;
}

}  // namespace api
