// SigV4 verification (api/sigv4.cpp): a fuzzed Authorization header (or presigned query), date,
// signed headers, path and body through verify_sigv4. It must never verify a request it did not
// see signed with the key's secret, and every refusal is a 400/403 in Lambda's error shape. Half
// the inputs start from a validly signed request and fuzz one part of it.
#include <fuzzer/FuzzedDataProvider.h>

#include <cstdlib>
#include <nlohmann/json.hpp>
#include <string>

#include "api/lambda_error.hpp"
#include "api/sigv4.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  FuzzedDataProvider in(data, size);
  const auto now = std::chrono::system_clock::from_time_t(1796413964);
  api::HttpRequest r;
  r.method = in.ConsumeBool() ? "GET" : "POST";
  r.raw_path = "/" + in.ConsumeRandomLengthString(100);
  r.path = r.raw_path;
  r.headers.emplace("Host", in.ConsumeRandomLengthString(30));
  if (in.ConsumeBool())
    r.query.emplace(in.ConsumeRandomLengthString(20), in.ConsumeRandomLengthString(40));
  const bool start_signed = in.ConsumeBool();
  if (start_signed) {
    api::sign_sigv4(r, "AKIDFUZZ", "secret", "us-east-1", "lambda",
                    now - std::chrono::seconds(in.ConsumeIntegralInRange<int>(-600, 600)));
    switch (in.ConsumeIntegralInRange<int>(0, 3)) {
      case 0:
        r.headers.find("Authorization")->second = in.ConsumeRandomLengthString(300);
        break;
      case 1:
        r.headers.find("X-Amz-Date")->second = in.ConsumeRandomLengthString(20);
        break;
      case 2:
        r.headers.emplace(in.ConsumeRandomLengthString(20), in.ConsumeRandomLengthString(40));
        break;
      default:
        break;  // the body below may still change
    }
  } else {
    if (in.ConsumeBool()) r.headers.emplace("Authorization", in.ConsumeRandomLengthString(400));
    if (in.ConsumeBool()) r.headers.emplace("X-Amz-Date", in.ConsumeRandomLengthString(20));
    for (const char* key : {"X-Amz-Algorithm", "X-Amz-Credential", "X-Amz-Date", "X-Amz-Expires",
                            "X-Amz-SignedHeaders", "X-Amz-Signature"})
      if (in.ConsumeBool()) r.query.emplace(key, in.ConsumeRandomLengthString(80));
  }
  const std::string original_body = r.body;
  r.body = in.ConsumeRemainingBytesAsString();
  const api::SigV4Policy policy{"us-east-1", "lambda", std::chrono::seconds(300), now};
  auto verified =
      api::verify_sigv4(r, policy, [](const std::string& key) -> std::optional<std::string> {
        if (key == "AKIDFUZZ") return "secret";
        return std::nullopt;
      });
  if (verified) {
    // Only a request the signer made and nobody changed verifies: not a forged one.
    if (!start_signed || *verified != "AKIDFUZZ") std::abort();
    return 0;
  }
  const api::HttpResponse answer = api::to_http(verified.error(), "req-1");
  if (answer.status != 400 && answer.status != 403) std::abort();
  if (!nlohmann::json::accept(answer.body)) std::abort();
  return 0;
}
