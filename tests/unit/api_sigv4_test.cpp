// SigV4 verification against signatures botocore made (python3-botocore's SigV4Auth, the AWS CLI's
// signer, for the same requests), and each way a signature can fail, answered as AWS answers it.
#include <gtest/gtest.h>

#include "api/percent_decode.hpp"
#include "api/sigv4.hpp"

namespace {

using namespace api;

constexpr const char* kKey = "AKIDEXAMPLE";
constexpr const char* kSecret = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY";

std::chrono::system_clock::time_point at(int minutes_after_signing) {
  // 2026-12-04T19:52:44Z, when botocore signed the requests below.
  return std::chrono::system_clock::from_time_t(1796413964) +
         std::chrono::minutes(minutes_after_signing);
}

HttpRequest request(std::string method, std::string target, std::string body, Headers headers) {
  HttpRequest r;
  r.method = std::move(method);
  const auto q = target.find('?');
  r.raw_path = target.substr(0, q);
  r.path = percent_decode(r.raw_path);
  if (q != std::string::npos) r.query = parse_query(std::string_view(target).substr(q + 1));
  r.headers = std::move(headers);
  r.headers.emplace("Host", "127.0.0.1:9000");
  r.body = std::move(body);
  return r;
}

// botocore 1.29 (Debian 12), SigV4Auth(Credentials(kKey, kSecret), "lambda", "us-east-1").
HttpRequest botocore_list() {
  return request("GET", "/2015-03-31/functions/?MaxItems=10&Marker=a%20b", "",
                 {{"X-Amz-Date", "20261204T195244Z"},
                  {"Authorization",
                   "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20261204/us-east-1/lambda/"
                   "aws4_request, SignedHeaders=host;x-amz-date, "
                   "Signature=520ff694a41388c5dfb0383367027d8edad978649436a86d68e81a15f431ff64"}});
}
HttpRequest botocore_invoke() {
  return request(
      "POST",
      "/2015-03-31/functions/arn%3Aaws%3Alambda%3Aus-east-1%3A000000000000%3Afunction%3Afn/"
      "invocations",
      R"({"a":1})",
      {{"X-Amz-Invocation-Type", "Event"},
       {"Content-Type", "application/json"},
       {"X-Amz-Date", "20261204T195244Z"},
       {"Authorization",
        "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20261204/us-east-1/lambda/aws4_request, "
        "SignedHeaders=content-type;host;x-amz-date;x-amz-invocation-type, "
        "Signature=2a46f32d26eee22e1da2ba43d23a573656f7ecf01e18956974c3fcade93154a1"}});
}

std::expected<std::string, ApiError> verify(const HttpRequest& r, int minutes_after = 1,
                                            std::string region = "us-east-1") {
  SigV4Policy policy{std::move(region), "lambda", std::chrono::seconds(300), at(minutes_after)};
  return verify_sigv4(r, policy, [](const std::string& key) -> std::optional<std::string> {
    if (key == kKey) return kSecret;
    return std::nullopt;
  });
}

void expect_error(const std::expected<std::string, ApiError>& r, ApiErrorType type, int status,
                  const std::string& message_part) {
  ASSERT_FALSE(r) << "verified as " << *r;
  EXPECT_EQ(r.error().type, type) << r.error().message;
  EXPECT_EQ(http_status(r.error().type), status);
  EXPECT_NE(r.error().message.find(message_part), std::string::npos) << r.error().message;
}

TEST(SigV4, VerifiesWhatBotocoreSigned) {
  EXPECT_EQ(verify(botocore_list()).value_or("failed"), kKey);
  EXPECT_EQ(verify(botocore_invoke()).value_or("failed"), kKey);
}

TEST(SigV4, ATamperedRequestDoesNotMatch) {
  auto body = botocore_invoke();
  body.body = R"({"a":2})";
  expect_error(verify(body), ApiErrorType::InvalidSignature, 403,
               "The request signature we calculated does not match");
  auto query = botocore_list();
  query.query.find("MaxItems")->second = "11";
  expect_error(verify(query), ApiErrorType::InvalidSignature, 403, "does not match");
  auto header = botocore_invoke();
  header.headers.find("X-Amz-Invocation-Type")->second = "RequestResponse";
  expect_error(verify(header), ApiErrorType::InvalidSignature, 403, "does not match");
}

TEST(SigV4, EachFailureHasItsOwnAnswer) {
  auto unsigned_request = request("GET", "/2015-03-31/functions/", "", {});
  expect_error(verify(unsigned_request), ApiErrorType::MissingAuthenticationToken, 403,
               "Missing Authentication Token");
  EXPECT_EQ(type_name(ApiErrorType::MissingAuthenticationToken),
            "MissingAuthenticationTokenException");

  auto unknown = botocore_list();
  auto& auth = unknown.headers.find("Authorization")->second;
  auth.replace(auth.find("AKIDEXAMPLE"), 11, "AKIDUNKNOWN");
  expect_error(verify(unknown), ApiErrorType::UnrecognizedClient, 403,
               "The security token included in the request is invalid.");

  expect_error(verify(botocore_list(), 6), ApiErrorType::InvalidSignature, 403,
               "Signature expired: 20261204T195244Z is now earlier than 20261204T195344Z "
               "(20261204T195844Z - 5 min.)");
  expect_error(verify(botocore_list(), -6), ApiErrorType::InvalidSignature, 403,
               "Signature not yet current: 20261204T195244Z is still later than");
  expect_error(verify(botocore_list(), 1, "eu-west-1"), ApiErrorType::InvalidSignature, 403,
               "Credential should be scoped to a valid region, not 'us-east-1'");

  auto incomplete = botocore_list();
  incomplete.headers.find("Authorization")->second =
      "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20261204/us-east-1/lambda/aws4_request";
  expect_error(verify(incomplete), ApiErrorType::IncompleteSignature, 400,
               "requires 'SignedHeaders' parameter");
}

TEST(SigV4, WhatTheSignerSignsVerifies) {
  auto r = request("PUT", "/2015-03-31/functions/fn%3A1/configuration", R"({"Timeout":5})",
                   {{"Content-Type", "application/json"}});
  r.query.emplace("Qualifier", "$LATEST");
  sign_sigv4(r, kKey, kSecret, "us-east-1", "lambda", at(0));
  EXPECT_EQ(verify(r).value_or("failed"), kKey);
  r.body += " ";
  EXPECT_FALSE(verify(r));
}

}  // namespace
