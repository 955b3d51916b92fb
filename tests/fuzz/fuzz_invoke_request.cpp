// Invoke request parsing (api/invoke_api.cpp): a fuzzed function name, qualifier, Invoke headers
// and body through parse_invoke_request, then the answer through to_http.
#include <fuzzer/FuzzedDataProvider.h>

#include <cstdlib>
#include <nlohmann/json.hpp>
#include <string>

#include "api/invoke_api.hpp"
#include "api/lambda_error.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  FuzzedDataProvider in(data, size);
  api::HttpRequest http;
  http.method = in.ConsumeBool() ? "POST" : in.ConsumeRandomLengthString(8);
  http.path = "/2015-03-31/functions/" + in.ConsumeRandomLengthString(200) + "/invocations";
  if (in.ConsumeBool()) http.query.emplace("Qualifier", in.ConsumeRandomLengthString(40));
  for (const char* name :
       {"X-Amz-Invocation-Type", "X-Amz-Log-Type", "X-Amz-Client-Context", "X-Amzn-Trace-Id"}) {
    if (in.ConsumeBool()) http.headers.emplace(name, in.ConsumeRandomLengthString(600));
  }
  const bool function_error = in.ConsumeBool();
  const std::string log_tail = in.ConsumeRandomLengthString(5000);
  http.body = in.ConsumeRemainingBytesAsString();
  if (!api::is_invoke_path(http.path)) return 0;  // the router only hands over invoke paths

  auto parsed = api::parse_invoke_request(http);
  if (!parsed) {
    const api::HttpResponse r = api::to_http(parsed.error(), "req-1");
    if (r.status < 400 || r.status > 599) std::abort();
    if (!nlohmann::json::accept(r.body)) std::abort();
    return 0;
  }
  if (parsed->function_name.empty()) std::abort();
  if (!nlohmann::json::accept(parsed->payload)) std::abort();
  api::InvokeResult result;
  result.function_error = function_error;
  result.payload = http.body;
  result.log_tail = log_tail;
  const api::HttpResponse r = api::to_http(result, *parsed, "req-1");
  if (r.status != 200 && r.status != 202 && r.status != 204) std::abort();
  return 0;
}
