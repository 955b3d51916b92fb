// The one mapping from storage errors to Lambda's wire errors: status, x-amzn-ErrorType, body Type
// and message, for every kind.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "api/store_error_mapping.hpp"

namespace {

using common::StoreError;
using common::StoreErrorKind;
using nlohmann::json;

std::string header(const api::HttpResponse& r, const std::string& name) {
  for (const auto& [k, v] : r.headers)
    if (k == name) return v;
  return "";
}

struct WireCase {
  StoreError error;
  int status;
  std::string error_type;
  std::string body_type;
};

TEST(StoreErrorMapping, EveryKindHasLambdasStatusTypeAndTheStoresMessage) {
  const std::vector<WireCase> cases = {
      {StoreError::not_found("fn", "Function not found: fn"), 404, "ResourceNotFoundException",
       "User"},
      {StoreError::already_exists("fn", "Function already exist: fn"), 409,
       "ResourceConflictException", "User"},
      {StoreError::revision_mismatch("fn", "The Revision Id provided does not match"), 412,
       "PreconditionFailedException", "User"},
      {StoreError::invalid_value("Could not unzip uploaded file"), 400,
       "InvalidParameterValueException", "User"},
      {StoreError::too_large("Zipped size must be smaller than 52428800 bytes"), 413,
       "RequestTooLargeException", "User"},
      {StoreError::storage_full("Code storage limit exceeded"), 400, "CodeStorageExceededException",
       "User"},
      {StoreError::internal("Internal error while accessing the function database"), 500,
       "ServiceException", "Service"},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(std::string(common::kind_name(c.error.kind)));
    const api::ApiError mapped = api::to_api_error(c.error);
    EXPECT_EQ(mapped.message, c.error.message);
    EXPECT_FALSE(mapped.reason);
    const auto r = api::to_http(mapped, "rid");
    EXPECT_EQ(r.status, c.status);
    EXPECT_EQ(header(r, "x-amzn-ErrorType"), c.error_type);
    EXPECT_EQ(header(r, "x-amzn-RequestId"), "rid");
    EXPECT_EQ(json::parse(r.body), (json{{"Type", c.body_type}, {"message", c.error.message}}));
  }
}

TEST(StoreErrorMapping, CoversEveryKind) {
  // A kind added to StoreErrorKind without a mapping would fall through to ServiceException.
  for (auto kind :
       {StoreErrorKind::NotFound, StoreErrorKind::AlreadyExists, StoreErrorKind::RevisionMismatch,
        StoreErrorKind::InvalidValue, StoreErrorKind::TooLarge, StoreErrorKind::StorageFull}) {
    EXPECT_NE(api::to_api_error({kind, "m", ""}).type, api::ApiErrorType::Service)
        << common::kind_name(kind);
  }
}

}  // namespace
