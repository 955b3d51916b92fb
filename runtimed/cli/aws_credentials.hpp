// The keys the runtimed CLI signs with, found as the AWS CLI finds them: `--profile NAME` (read
// from the shared credentials file), else AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, else the
// profile AWS_PROFILE names (or "default") in AWS_SHARED_CREDENTIALS_FILE (or
// ~/.aws/credentials). None found: requests go unsigned.
#pragma once

#include <expected>
#include <optional>
#include <string>

namespace runtimed {

struct AwsKeys {
  std::string access_key_id;
  std::string secret_access_key;
};

// `--profile`, when the command line gives it (it wins over the environment's keys).
void set_cli_profile(std::string profile);

// The keys to sign with; an error when a profile asked for by name is not in the file.
std::expected<std::optional<AwsKeys>, std::string> find_aws_credentials();

}  // namespace runtimed
