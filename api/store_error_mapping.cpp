// Storage errors → Lambda API errors (see store_error_mapping.hpp).
#include "api/store_error_mapping.hpp"

namespace api {

namespace {

ApiErrorType api_type(common::StoreErrorKind kind) {
  using common::StoreErrorKind;
  switch (kind) {
    case StoreErrorKind::NotFound:
      return ApiErrorType::ResourceNotFound;
    case StoreErrorKind::AlreadyExists:
    case StoreErrorKind::Conflict:
      return ApiErrorType::ResourceConflict;
    case StoreErrorKind::RevisionMismatch:
      return ApiErrorType::PreconditionFailed;
    case StoreErrorKind::InvalidValue:
      return ApiErrorType::InvalidParameterValue;
    case StoreErrorKind::TooLarge:
      return ApiErrorType::RequestTooLarge;
    case StoreErrorKind::StorageFull:
      return ApiErrorType::CodeStorageExceeded;
    case StoreErrorKind::Internal:
      return ApiErrorType::Service;
  }
  return ApiErrorType::Service;
}

}  // namespace

ApiError to_api_error(const common::StoreError& error) {
  return ApiError(api_type(error.kind), error.message);
}

}  // namespace api
