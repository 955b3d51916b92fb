// The one error type of the storage layer (runtimed/store, runtimed/async): what went wrong, in the
// domain's words. Nothing here knows HTTP; api/store_error_mapping turns it into Lambda's error.
#pragma once

#include <fmt/format.h>

#include <iosfwd>
#include <string>
#include <string_view>

namespace common {

enum class StoreErrorKind {
  NotFound,          // the named function, queue, message or setting does not exist
  AlreadyExists,     // a create found the name taken
  Conflict,          // the resource is in use by another (a version an alias routes to)
  RevisionMismatch,  // the caller's expected revision is not the current one
  InvalidValue,      // the value cannot be stored as given (a bad zip, a reservation too large)
  TooLarge,          // the value is over a size limit
  StorageFull,       // the code store's limit (--max-code-store-mb) or the disk is full
  Internal,          // the database or the file system failed; the detail was logged
};

// "NotFound", ... (for logs and test messages).
std::string_view kind_name(StoreErrorKind kind);

struct StoreError {
  StoreErrorKind kind;
  // Worded for the caller (the API passes it on unless it words the kind itself, as it does for a
  // missing function, whose message names the function's ARN).
  std::string message;
  // The name the error is about (a function or queue name), when there is one.
  std::string resource;

  static StoreError not_found(std::string resource, std::string message);
  static StoreError already_exists(std::string resource, std::string message);
  static StoreError conflict(std::string resource, std::string message);
  static StoreError revision_mismatch(std::string resource, std::string message);
  static StoreError invalid_value(std::string message);
  static StoreError too_large(std::string message);
  static StoreError storage_full(std::string message);
  static StoreError internal(std::string message);

  bool operator==(const StoreError&) const = default;
};

// Logs and test failures show the message.
std::ostream& operator<<(std::ostream& out, const StoreError& error);

}  // namespace common

template <>
struct fmt::formatter<common::StoreError> : fmt::formatter<std::string_view> {
  template <typename FormatContext>
  auto format(const common::StoreError& error, FormatContext& ctx) const {
    return fmt::formatter<std::string_view>::format(error.message, ctx);
  }
};
