// The one place a storage error (common::StoreError) becomes a Lambda API error.
#pragma once

#include "api/lambda_error.hpp"
#include "common/store_error.hpp"

namespace api {

// Status and x-amzn-ErrorType by kind; the message is the store's, unchanged:
//   NotFound → 404 ResourceNotFoundException       AlreadyExists → 409 ResourceConflictException
//   RevisionMismatch → 412 PreconditionFailedException
//   InvalidValue → 400 InvalidParameterValueException   TooLarge → 413 RequestTooLargeException
//   StorageFull → 400 CodeStorageExceededException      Internal → 500 ServiceException
// A handler that words a kind itself (a missing function names its ARN) does so after mapping.
ApiError to_api_error(const common::StoreError& error);

}  // namespace api
