// AWS Signature Version 4 as the AWS CLI, boto3 and the JS SDK sign Lambda requests: the canonical
// request, the string to sign, the derived signing key, and the check of a request's
// Authorization header (or presigned query) against a secret. HMAC and SHA-256 are OpenSSL's.
// https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_sigv-create-signed-request.html
#pragma once

#include <chrono>
#include <expected>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "api/http_types.hpp"
#include "api/lambda_error.hpp"

namespace api {

// What a signature names, parsed from "AWS4-HMAC-SHA256 Credential=AKID/20260101/us-east-1/
// lambda/aws4_request, SignedHeaders=host;x-amz-date, Signature=…" or the X-Amz-* query.
struct SigV4Authorization {
  std::string access_key_id;
  std::string date;  // yyyymmdd of the scope
  std::string region;
  std::string service;
  std::vector<std::string> signed_headers;  // lowercase, as listed
  std::string signature;                    // lowercase hex
  std::string amz_date;                     // yyyymmddThhmmssZ
  bool presigned = false;
  std::optional<int64_t> expires_s;  // X-Amz-Expires of a presigned request
};

// Parses the request's signature; MissingAuthenticationToken when there is none, and
// IncompleteSignature when one is there but malformed.
std::expected<SigV4Authorization, ApiError> parse_sigv4(const HttpRequest& request);

// The canonical request over `signed_headers` (the payload hash is x-amz-content-sha256 when
// sent, else the SHA-256 of the body). `raw_path` is the path as sent, still percent-encoded.
std::string sigv4_canonical_request(const HttpRequest& request,
                                    const std::vector<std::string>& signed_headers);
std::string sigv4_string_to_sign(const SigV4Authorization& auth,
                                 const std::string& canonical_request);
// hex(HMAC(signing key derived from secret/date/region/service, string to sign)).
std::string sigv4_signature(std::string_view secret, const SigV4Authorization& auth,
                            std::string_view string_to_sign);
std::string sha256_hex(std::string_view data);

struct SigV4Policy {
  std::string region;
  std::string service = "lambda";
  std::chrono::seconds max_skew{300};
  std::chrono::system_clock::time_point now;
};

// Verifies `request`: the scope names this daemon's region and service, the date is within the
// skew window (or a presigned request's expiry), and the signature matches the one computed with
// `secret_of(access key id)`, compared in constant time. Answers the access key id, or the error
// AWS answers with (UnrecognizedClient for an unknown key, InvalidSignature otherwise).
std::expected<std::string, ApiError> verify_sigv4(
    const HttpRequest& request, const SigV4Policy& policy,
    const std::function<std::optional<std::string>(const std::string& access_key_id)>& secret_of);

// Signs a request as a client would (adds x-amz-date, host and Authorization): the runtimed CLI's
// signer, and the tests'.
void sign_sigv4(HttpRequest& request, std::string_view access_key_id, std::string_view secret,
                std::string_view region, std::string_view service,
                std::chrono::system_clock::time_point now);

}  // namespace api
