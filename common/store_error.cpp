// The storage layer's error type (see store_error.hpp).
#include "common/store_error.hpp"

#include <ostream>

namespace common {

std::string_view kind_name(StoreErrorKind kind) {
  switch (kind) {
    case StoreErrorKind::NotFound:
      return "NotFound";
    case StoreErrorKind::AlreadyExists:
      return "AlreadyExists";
    case StoreErrorKind::Conflict:
      return "Conflict";
    case StoreErrorKind::RevisionMismatch:
      return "RevisionMismatch";
    case StoreErrorKind::InvalidValue:
      return "InvalidValue";
    case StoreErrorKind::TooLarge:
      return "TooLarge";
    case StoreErrorKind::StorageFull:
      return "StorageFull";
    case StoreErrorKind::Internal:
      return "Internal";
  }
  return "Internal";
}

StoreError StoreError::not_found(std::string resource, std::string message) {
  return {StoreErrorKind::NotFound, std::move(message), std::move(resource)};
}
StoreError StoreError::already_exists(std::string resource, std::string message) {
  return {StoreErrorKind::AlreadyExists, std::move(message), std::move(resource)};
}
StoreError StoreError::conflict(std::string resource, std::string message) {
  return {StoreErrorKind::Conflict, std::move(message), std::move(resource)};
}
StoreError StoreError::revision_mismatch(std::string resource, std::string message) {
  return {StoreErrorKind::RevisionMismatch, std::move(message), std::move(resource)};
}
StoreError StoreError::invalid_value(std::string message) {
  return {StoreErrorKind::InvalidValue, std::move(message), {}};
}
StoreError StoreError::too_large(std::string message) {
  return {StoreErrorKind::TooLarge, std::move(message), {}};
}
StoreError StoreError::storage_full(std::string message) {
  return {StoreErrorKind::StorageFull, std::move(message), {}};
}
StoreError StoreError::internal(std::string message) {
  return {StoreErrorKind::Internal, std::move(message), {}};
}

std::ostream& operator<<(std::ostream& out, const StoreError& error) {
  return out << error.message;
}

}  // namespace common
