// The function API's JSON (api/function_api.cpp, common/function_config.cpp) over the real
// FunctionStore (SQLite and the code store on tmpfs): fuzzed method, path, query and body through
// FunctionApi::handle. Every answer must be well-formed Lambda JSON, and never a 500.
#include <fuzzer/FuzzedDataProvider.h>

#include <cstdlib>
#include <nlohmann/json.hpp>
#include <string>

#include "api/function_api.hpp"
#include "fuzz_support.hpp"
#include "runtimed/store/function_store.hpp"

namespace {

struct Fixture {
  std::unique_ptr<runtimed::FunctionStore> store;
  std::unique_ptr<api::FunctionApi> api;
  Fixture() {
    fuzz::openssl_without_exit_cleanup();
    fuzz::quiet_logs();
    auto opened = runtimed::FunctionStore::open(
        fuzz::scratch_dir("function-api"),
        runtimed::CodeLimits{.max_zip_bytes = 1 << 20, .max_unzipped_bytes = 4 << 20});
    if (!opened) std::abort();
    store = std::move(*opened);
    api = std::make_unique<api::FunctionApi>(*store, "us-east-1", "123456789012");
  }
};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static Fixture f;
  FuzzedDataProvider in(data, size);
  api::HttpRequest request;
  static const char* const kMethods[] = {"GET", "POST", "PUT", "DELETE", "PATCH"};
  request.method = kMethods[in.ConsumeIntegralInRange<size_t>(0, 4)];
  const std::string name = in.ConsumeRandomLengthString(80);
  static const char* const kSuffixes[] = {"", "/configuration", "/code", "/"};
  switch (in.ConsumeIntegralInRange<int>(0, 2)) {
    case 0:
      request.path = "/2015-03-31/functions";
      break;
    case 1:
      request.path = "/2015-03-31/functions/" + name + kSuffixes[in.ConsumeIntegralInRange(0, 3)];
      break;
    default:
      request.path = "/2015-03-31/functions/" + in.ConsumeRandomLengthString(120);
  }
  for (const char* q : {"Qualifier", "Marker", "MaxItems"}) {
    if (in.ConsumeBool()) request.query.emplace(q, in.ConsumeRandomLengthString(24));
  }
  request.body = in.ConsumeRemainingBytesAsString();
  if (!api::FunctionApi::matches(request)) return 0;

  const api::HttpResponse r = f.api->handle(request, "req-1");
  if (r.status < 200 || r.status >= 500) std::abort();
  if (!r.body.empty() && !nlohmann::json::accept(r.body)) std::abort();
  // Keep the store small: what one input created does not outlive it.
  if (r.status == 201) {
    auto page = f.store->list(std::nullopt, 100);
    if (!page) std::abort();
    for (const auto& c : page->functions) {
      if (!f.store->remove(c.name)) std::abort();
    }
  }
  return 0;
}
