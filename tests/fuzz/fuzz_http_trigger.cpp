// HTTP triggers (api/http_event_v2, api/http_route_match, api/http_cors): what a function answers
// read as a gateway reads it, an HTTP request turned into a payload-2.0 event, and a request path
// matched against route keys. A function's answer and a web client's request are both untrusted.
// Checks: an accepted answer has a status in [100, 599]; every event is valid JSON whose body
// (base64-decoded when so marked) is the request's; a matched route is one of the keys given.
#include <fuzzer/FuzzedDataProvider.h>

#include <cstdlib>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "api/http_cors.hpp"
#include "api/http_event_v2.hpp"
#include "api/http_route_match.hpp"
#include "common/base64.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  FuzzedDataProvider in(data, size);
  switch (in.ConsumeIntegralInRange<int>(0, 2)) {
    case 0: {
      const std::string answer = in.ConsumeRemainingBytesAsString();
      if (auto response = api::http_response_v2(answer))
        if (response->status < 100 || response->status > 599) std::abort();
      break;
    }
    case 1: {
      api::HttpRequest r;
      r.method = in.ConsumeRandomLengthString(10);
      r.raw_path = "/" + in.ConsumeRandomLengthString(60);
      r.raw_query = in.ConsumeRandomLengthString(60);
      for (int i = in.ConsumeIntegralInRange<int>(0, 6); i > 0; --i)
        r.headers.emplace(in.ConsumeRandomLengthString(20), in.ConsumeRandomLengthString(60));
      for (int i = in.ConsumeIntegralInRange<int>(0, 4); i > 0; --i)
        r.query.emplace(in.ConsumeRandomLengthString(20), in.ConsumeRandomLengthString(40));
      api::HttpEventContext context;
      context.raw_path = r.raw_path;
      context.domain_name = in.ConsumeRandomLengthString(40);
      r.body = in.ConsumeRemainingBytesAsString();
      const auto event = nlohmann::json::parse(api::http_event_v2(r, context), nullptr, false);
      if (!event.is_object()) std::abort();
      const std::string body = event.value("body", std::string());
      const bool base64 = event.value("isBase64Encoded", false);
      if ((base64 ? common::base64_decode(body).value_or("\x01") : body) != r.body) std::abort();
      nlohmann::json cors = {{"AllowOrigins", {"*"}}, {"AllowMethods", {r.method}}};
      api::HttpResponse answer;
      api::add_cors_headers(cors, r.header("origin"), answer);
      (void)api::cors_preflight(cors, r);
      break;
    }
    default: {
      std::vector<std::string> keys;
      for (int i = in.ConsumeIntegralInRange<int>(0, 5); i > 0; --i)
        keys.push_back(in.ConsumeRandomLengthString(40));
      const std::string method = in.ConsumeRandomLengthString(8);
      const std::string path = in.ConsumeRemainingBytesAsString();
      if (auto match = api::match_http_route(keys, method, path))
        if (match->route_index >= keys.size() || keys[match->route_index] != match->route_key)
          std::abort();
      break;
    }
  }
  return 0;
}
