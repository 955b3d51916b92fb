// FunctionApi against an in-memory catalog: routing, validation, error shapes and JSON shapes.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <functional>
#include <map>
#include <nlohmann/json.hpp>

#include "api/alias_api.hpp"
#include "api/function_api.hpp"
#include "api/lambda_error.hpp"
#include "api/version_api.hpp"
#include "api/version_catalog.hpp"

namespace {

using api::ApiError;
using api::HttpRequest;
using api::HttpResponse;
using common::FunctionConfig;
using common::StoreError;
using nlohmann::json;
using ::testing::HasSubstr;

// Keeps functions in a map; code fields are derived trivially from the zip bytes. (The real
// store's versions and aliases are tested in daemon_function_store_test.)
class FakeCatalog : public api::VersionCatalog {
 public:
  std::map<std::string, FunctionConfig> functions;
  std::map<std::string, FunctionConfig> versions;  // NAME:VERSION
  std::map<std::pair<std::string, std::string>, api::AliasConfig> aliases;
  std::string last_zip;
  api::ConfigurationPatch last_patch;
  int revisions = 0;

  std::expected<FunctionConfig, StoreError> create(api::CreateFunctionRequest r) override {
    if (functions.contains(r.config.name))
      return std::unexpected(
          StoreError::already_exists(r.config.name, "Function already exist: " + r.config.name));
    last_zip = r.zip;
    FunctionConfig c = r.config;
    stamp(c, r.zip);
    functions[c.name] = c;
    return c;
  }
  std::expected<FunctionConfig, StoreError> get(const std::string& name) override {
    auto it = functions.find(name);
    if (it == functions.end()) return std::unexpected(StoreError::not_found(name, "x"));
    return it->second;
  }
  std::expected<api::FunctionPage, StoreError> list(const std::optional<std::string>& marker,
                                                    int max_items) override {
    api::FunctionPage page;
    for (auto it = marker ? functions.upper_bound(*marker) : functions.begin();
         it != functions.end(); ++it) {
      if (static_cast<int>(page.functions.size()) == max_items) {
        page.next_marker = page.functions.back().name;
        break;
      }
      page.functions.push_back(it->second);
    }
    return page;
  }
  std::expected<FunctionConfig, StoreError> update_code(
      const std::string& name, std::string zip, const std::optional<std::string>& rev) override {
    auto c = checked(name, rev);
    if (!c) return c;
    last_zip = zip;
    stamp(*c, zip);
    return functions[name] = *c;
  }
  std::expected<FunctionConfig, StoreError> update_configuration(
      const std::string& name, const api::ConfigurationPatch& patch,
      const std::optional<std::string>& rev) override {
    auto c = checked(name, rev);
    if (!c) return c;
    last_patch = patch;
    if (patch.timeout_s) c->timeout_s = *patch.timeout_s;
    if (patch.environment) c->environment = *patch.environment;
    c->revision_id = "rev-" + std::to_string(++revisions);
    return functions[name] = *c;
  }
  std::expected<FunctionConfig, StoreError> update_tags(
      const std::string& name, const std::map<std::string, std::string>& set,
      const std::vector<std::string>& remove) override {
    auto it = functions.find(name);
    if (it == functions.end()) return std::unexpected(StoreError::not_found(name, "x"));
    for (const auto& key : remove) it->second.tags.erase(key);
    for (const auto& [key, value] : set) it->second.tags[key] = value;
    if (it->second.tags.size() > 50) return std::unexpected(StoreError::invalid_value("too many"));
    return it->second;
  }
  std::expected<void, StoreError> remove(const std::string& name) override {
    if (!functions.erase(name)) return std::unexpected(StoreError::not_found(name, "x"));
    return {};
  }
  std::filesystem::path code_dir(const FunctionConfig& c) const override {
    return "/var/lib/runtimed/code/" + c.code_dir_key;
  }
  std::shared_ptr<void> hold_code(const FunctionConfig&) override { return nullptr; }

  std::expected<FunctionConfig, StoreError> publish_version(
      const std::string& name, const std::optional<std::string>&,
      const std::optional<std::string>& rev, const std::optional<std::string>&) override {
    auto c = checked(name, rev);
    if (!c) return c;
    int number = 1;
    while (versions.contains(name + ":" + std::to_string(number))) ++number;
    c->version = std::to_string(number);
    return versions[name + ":" + c->version] = *c;
  }
  std::expected<FunctionConfig, StoreError> get_version(const std::string& name,
                                                        const std::string& version) override {
    auto it = versions.find(name + ":" + version);
    if (it == versions.end())
      return std::unexpected(StoreError::not_found(name + ":" + version, "x"));
    return it->second;
  }
  std::expected<api::FunctionPage, StoreError> list_versions(const std::string& name,
                                                             const std::optional<std::string>&,
                                                             int) override {
    auto latest = get(name);
    if (!latest) return std::unexpected(latest.error());
    api::FunctionPage page{{*latest}, std::nullopt};
    for (const auto& [key, c] : versions)
      if (c.name == name) page.functions.push_back(c);
    return page;
  }
  std::expected<void, StoreError> remove_version(const std::string& name,
                                                 const std::string& version) override {
    for (const auto& [key, a] : aliases)
      if (key.first == name && a.routing.function_version == version)
        return std::unexpected(StoreError::conflict(name + ":" + version, "aliased"));
    if (!versions.erase(name + ":" + version))
      return std::unexpected(StoreError::not_found(name + ":" + version, "x"));
    return {};
  }
  std::expected<api::AliasConfig, StoreError> create_alias(api::AliasConfig alias) override {
    if (!functions.contains(alias.function_name))
      return std::unexpected(StoreError::not_found(alias.function_name, "x"));
    const auto& v = alias.routing.function_version;
    if (v != "$LATEST" && !versions.contains(alias.function_name + ":" + v))
      return std::unexpected(StoreError::not_found(alias.function_name + ":" + v, "x"));
    if (aliases.contains({alias.function_name, alias.name}))
      return std::unexpected(StoreError::already_exists(alias.name, "x"));
    alias.revision_id = "alias-rev-" + std::to_string(++revisions);
    return aliases[{alias.function_name, alias.name}] = alias;
  }
  std::expected<api::AliasConfig, StoreError> get_alias(const std::string& function,
                                                        const std::string& alias) override {
    auto it = aliases.find({function, alias});
    if (it == aliases.end())
      return std::unexpected(StoreError::not_found(function + ":" + alias, "x"));
    return it->second;
  }
  std::expected<api::AliasPage, StoreError> list_aliases(const std::string& function,
                                                         const std::optional<std::string>&,
                                                         const std::optional<std::string>&,
                                                         int) override {
    api::AliasPage page;
    for (const auto& [key, a] : aliases)
      if (key.first == function) page.aliases.push_back(a);
    return page;
  }
  std::expected<api::AliasConfig, StoreError> update_alias(
      api::AliasConfig alias, const std::optional<std::string>&) override {
    alias.revision_id = "alias-rev-" + std::to_string(++revisions);
    return aliases[{alias.function_name, alias.name}] = alias;
  }
  std::expected<void, StoreError> remove_alias(const std::string& function,
                                               const std::string& alias) override {
    if (!aliases.erase({function, alias}))
      return std::unexpected(StoreError::not_found(function + ":" + alias, "x"));
    return {};
  }
  std::expected<api::AliasRouting, StoreError> alias_routing(const std::string& function,
                                                             const std::string& alias) override {
    auto a = get_alias(function, alias);
    if (!a) return std::unexpected(a.error());
    return a->routing;
  }

 private:
  void stamp(FunctionConfig& c, const std::string& zip) {
    c.code_size = static_cast<int64_t>(zip.size());
    c.code_sha256 = "sha-of-" + zip;
    c.code_dir_key = "key";
    c.last_modified = "2026-11-24T03:24:42.000+0000";
    c.revision_id = "rev-" + std::to_string(++revisions);
  }
  std::expected<FunctionConfig, StoreError> checked(const std::string& name,
                                                    const std::optional<std::string>& rev) {
    auto c = get(name);
    if (c && rev && *rev != c->revision_id)
      return std::unexpected(StoreError::revision_mismatch(name, "stale"));
    return c;
  }
};

constexpr char kArnPrefix[] = "arn:aws:lambda:us-east-1:000000000000:function:";

json valid_create_body() {
  return {
      {"FunctionName", "fn"},
      {"Runtime", "provided.al2023"},
      {"Role", "arn:aws:iam::000000000000:role/lambda"},
      {"Code", {{"ZipFile", "aGVsbG8="}}},  // "hello"
  };
}

class FunctionApiTest : public ::testing::Test {
 protected:
  FakeCatalog catalog;
  api::FunctionApi fapi{catalog, "us-east-1", "000000000000"};

  HttpResponse call(std::string method, std::string path, std::string body = {},
                    std::multimap<std::string, std::string> query = {}) {
    HttpRequest req;
    req.method = std::move(method);
    req.path = std::move(path);
    req.body = std::move(body);
    req.query = std::move(query);
    HttpResponse resp = fapi.handle(req, "req-1");
    EXPECT_EQ(header(resp, "x-amzn-RequestId"), "req-1") << req.method << " " << req.path;
    return resp;
  }
  HttpResponse create(const json& body) {
    return call("POST", "/2015-03-31/functions", body.dump());
  }
  static std::string header(const HttpResponse& r, const std::string& name) {
    for (const auto& [k, v] : r.headers)
      if (api::CaseInsensitiveLess{}(k, name) == false &&
          api::CaseInsensitiveLess{}(name, k) == false)
        return v;
    return "<none>";
  }
  static void expect_error(const HttpResponse& r, int status, const std::string& type,
                           const std::string& message_part) {
    EXPECT_EQ(r.status, status) << r.body;
    EXPECT_EQ(header(r, "x-amzn-ErrorType"), type) << r.body;
    EXPECT_EQ(header(r, "Content-Type"), "application/json");
    const json body = json::parse(r.body);
    EXPECT_EQ(body["Type"], "User");
    EXPECT_THAT(body["message"].get<std::string>(), HasSubstr(message_part));
  }
};

// ---- errors on the wire ----

TEST(LambdaErrorTest, UserErrorCarriesTypeHeaderRequestIdAndUserBody) {
  const auto r = api::to_http(ApiError::conflict("Function already exist: fn"), "rid");
  EXPECT_EQ(r.status, 409);
  const json body = json::parse(r.body);
  EXPECT_EQ(body, (json{{"Type", "User"}, {"message", "Function already exist: fn"}}));
  EXPECT_THAT(r.headers, ::testing::Contains(std::pair<std::string, std::string>(
                             "x-amzn-ErrorType", "ResourceConflictException")));
  EXPECT_THAT(r.headers,
              ::testing::Contains(std::pair<std::string, std::string>("x-amzn-RequestId", "rid")));
}

TEST(LambdaErrorTest, ServiceExceptionIsTypedService) {
  const auto r = api::to_http(ApiError::service("boom"), "rid");
  EXPECT_EQ(r.status, 500);
  EXPECT_EQ(json::parse(r.body)["Type"], "Service");
}

TEST(LambdaErrorTest, TooManyRequestsHasReasonAndRetryAfter) {
  const auto r =
      api::to_http(ApiError::too_many_requests("Rate exceeded",
                                               "ReservedFunctionConcurrentInvocationLimitExceeded"),
                   "rid");
  EXPECT_EQ(r.status, 429);
  EXPECT_EQ(json::parse(r.body)["Reason"], "ReservedFunctionConcurrentInvocationLimitExceeded");
  bool has_retry_after = false;
  for (const auto& [k, v] : r.headers) has_retry_after |= k == "Retry-After" && !v.empty();
  EXPECT_TRUE(has_retry_after);
}

TEST(LambdaErrorTest, StatusesMatchLambda) {
  using T = api::ApiErrorType;
  const std::vector<std::pair<T, int>> expected = {
      {T::InvalidParameterValue, 400}, {T::InvalidRequestContent, 400}, {T::ResourceNotFound, 404},
      {T::ResourceConflict, 409},      {T::PreconditionFailed, 412},    {T::RequestTooLarge, 413},
      {T::UnsupportedMediaType, 415},  {T::TooManyRequests, 429},       {T::Service, 500}};
  for (auto [type, status] : expected)
    EXPECT_EQ(api::http_status(type), status) << api::type_name(type);
  EXPECT_EQ(api::type_name(T::PreconditionFailed), "PreconditionFailedException");
}

// ---- CreateFunction validation, table-driven ----

struct CreateCase {
  std::string what;
  std::function<void(json&)> mutate;
  int status;
  std::string type;  // empty on success
  std::string message_part;
};

std::string repeat(char c, size_t n) { return std::string(n, c); }

std::vector<CreateCase> create_cases() {
  const std::string ipv = "InvalidParameterValueException";
  const std::string irc = "InvalidRequestContentException";
  auto env = [](json vars) {
    return [vars](json& b) { b["Environment"] = {{"Variables", vars}}; };
  };
  return {
      {"valid minimal", [](json&) {}, 201, "", ""},
      {"name of 64 chars", [](json& b) { b["FunctionName"] = repeat('a', 64); }, 201, "", ""},
      {"name of 65 chars", [](json& b) { b["FunctionName"] = repeat('a', 65); }, 400, ipv,
       "functionName"},
      {"name with a dot", [](json& b) { b["FunctionName"] = "a.b"; }, 400, ipv, "functionName"},
      {"name missing", [](json& b) { b.erase("FunctionName"); }, 400, ipv, "functionName"},
      {"name not a string", [](json& b) { b["FunctionName"] = 5; }, 400, irc, "FunctionName"},
      {"runtime missing", [](json& b) { b.erase("Runtime"); }, 400, ipv, "Runtime is required"},
      {"managed runtime needs a handler",
       [](json& b) {
         b["Runtime"] = "python3.12";
         b.erase("Handler");
       },
       400, ipv, "Handler is required"},
      {"python with a handler accepted",
       [](json& b) {
         b["Runtime"] = "python3.12";
         b["Handler"] = "app.handler";
       },
       201, "", ""},
      {"nodejs with a handler accepted",
       [](json& b) {
         b["Runtime"] = "nodejs20.x";
         b["Handler"] = "index.handler";
       },
       201, "", ""},
      {"runtime java refused", [](json& b) { b["Runtime"] = "java21"; }, 400, ipv, "not supported"},
      {"runtime unknown", [](json& b) { b["Runtime"] = "cobol85"; }, 400, ipv, "cobol85"},
      {"runtime provided", [](json& b) { b["Runtime"] = "provided"; }, 201, "", ""},
      {"runtime provided.al2", [](json& b) { b["Runtime"] = "provided.al2"; }, 201, "", ""},
      {"role missing", [](json& b) { b.erase("Role"); }, 400, ipv, "role"},
      {"role any string", [](json& b) { b["Role"] = "whatever"; }, 201, "", ""},
      {"handler 128", [](json& b) { b["Handler"] = repeat('h', 128); }, 201, "", ""},
      {"handler 129", [](json& b) { b["Handler"] = repeat('h', 129); }, 400, ipv, "handler"},
      {"handler with space", [](json& b) { b["Handler"] = "a b"; }, 400, ipv, "handler"},
      {"code missing", [](json& b) { b.erase("Code"); }, 400, ipv, "code"},
      {"zipfile missing", [](json& b) { b["Code"] = json::object(); }, 400, ipv,
       "source for function code"},
      {"zipfile not base64", [](json& b) { b["Code"]["ZipFile"] = "!!!!"; }, 400, ipv, "base64"},
      {"zipfile bad length", [](json& b) { b["Code"]["ZipFile"] = "aGVsbG8"; }, 400, ipv, "base64"},
      {"zipfile inner padding", [](json& b) { b["Code"]["ZipFile"] = "aG=sbG8="; }, 400, ipv,
       "base64"},
      {"s3 code refused",
       [](json& b) {
         b["Code"] = {{"S3Bucket", "b"}, {"S3Key", "k"}};
       },
       400, ipv, "S3Bucket"},
      {"image package refused", [](json& b) { b["PackageType"] = "Image"; }, 400, ipv, "Image"},
      {"memory 127", [](json& b) { b["MemorySize"] = 127; }, 400, ipv,
       "greater than or equal to 128"},
      {"memory 128", [](json& b) { b["MemorySize"] = 128; }, 201, "", ""},
      {"memory 10240", [](json& b) { b["MemorySize"] = 10240; }, 201, "", ""},
      {"memory 10241", [](json& b) { b["MemorySize"] = 10241; }, 400, ipv,
       "less than or equal to 10240"},
      {"memory as string", [](json& b) { b["MemorySize"] = "256"; }, 400, irc, "MemorySize"},
      {"timeout 0", [](json& b) { b["Timeout"] = 0; }, 400, ipv, "timeout"},
      {"timeout 900", [](json& b) { b["Timeout"] = 900; }, 201, "", ""},
      {"timeout 901", [](json& b) { b["Timeout"] = 901; }, 400, ipv, "timeout"},
      {"storage 511",
       [](json& b) {
         b["EphemeralStorage"] = {{"Size", 511}};
       },
       400, ipv, "ephemeralStorage"},
      {"storage 10241",
       [](json& b) {
         b["EphemeralStorage"] = {{"Size", 10241}};
       },
       400, ipv, "ephemeralStorage"},
      {"storage 10240",
       [](json& b) {
         b["EphemeralStorage"] = {{"Size", 10240}};
       },
       201, "", ""},
      {"description 256", [](json& b) { b["Description"] = repeat('d', 256); }, 201, "", ""},
      {"description 257", [](json& b) { b["Description"] = repeat('d', 257); }, 400, ipv,
       "description"},
      {"env key starting with digit", env({{"1A", "v"}}), 400, ipv, "1A"},
      {"env key of one char", env({{"A", "v"}}), 400, ipv, "offending key: A"},
      {"env key with dash", env({{"A-B", "v"}}), 400, ipv, "A-B"},
      {"env reserved AWS_REGION", env({{"AWS_REGION", "x"}}), 400, ipv,
       "Reserved keys used in this request: AWS_REGION"},
      {"env reserved _HANDLER", env({{"_HANDLER", "x"}}), 400, ipv, "_HANDLER"},
      {"env reserved LAMBDA_TASK_ROOT", env({{"LAMBDA_TASK_ROOT", "x"}}), 400, ipv,
       "LAMBDA_TASK_ROOT"},
      {"env value not a string", env({{"AB", 1}}), 400, irc, "AB"},
      {"env exactly 4 KB", env({{"AB", repeat('v', 4094)}}), 201, "", ""},
      {"env over 4 KB", env({{"AB", repeat('v', 4095)}}), 400, ipv, "4KB"},
      {"env over 4 KB across keys", env({{"AB", repeat('v', 2048)}, {"CD", repeat('v', 2048)}}),
       400, ipv, "4KB"},
      {"environment not an object", [](json& b) { b["Environment"] = "x"; }, 400, irc,
       "Environment"},
      {"publish not a boolean", [](json& b) { b["Publish"] = "yes"; }, 400, irc, "Publish"},
      {"arm64 refused", [](json& b) { b["Architectures"] = {"arm64"}; }, 400, ipv, "x86_64"},
  };
}

TEST_F(FunctionApiTest, CreateFunctionValidatesEveryRule) {
  for (const auto& c : create_cases()) {
    SCOPED_TRACE(c.what);
    catalog.functions.clear();
    json body = valid_create_body();
    c.mutate(body);
    const auto r = create(body);
    if (c.type.empty()) {
      EXPECT_EQ(r.status, c.status) << r.body;
      EXPECT_EQ(catalog.functions.size(), 1u);
    } else {
      expect_error(r, c.status, c.type, c.message_part);
      EXPECT_TRUE(catalog.functions.empty());
    }
  }
}

TEST_F(FunctionApiTest, BodyThatIsNotJsonIsInvalidRequestContent) {
  expect_error(call("POST", "/2015-03-31/functions", "{not json"), 400,
               "InvalidRequestContentException", "Could not parse request body");
  expect_error(call("POST", "/2015-03-31/functions", "[1,2]"), 400,
               "InvalidRequestContentException", "Could not parse request body");
}

TEST_F(FunctionApiTest, CreateBodyOverLambdaLimitIsRequestTooLarge) {
  std::string big(api::kMaxCodeRequestBytes + 1, ' ');
  expect_error(call("POST", "/2015-03-31/functions", std::move(big)), 413,
               "RequestTooLargeException", "Request must be smaller than 69905067 bytes");
}

TEST_F(FunctionApiTest, CreateDecodesZipFileAndPassesConfigToCatalog) {
  json body = valid_create_body();
  body["Code"]["ZipFile"] = "aGk=";  // "hi": one padding character
  body["MemorySize"] = 512;
  body["Timeout"] = 30;
  body["Environment"] = {{"Variables", {{"GREETING", "hello"}}}};
  ASSERT_EQ(create(body).status, 201);
  EXPECT_EQ(catalog.last_zip, "hi");
  const auto& c = catalog.functions.at("fn");
  EXPECT_EQ(c.memory_mb, 512);
  EXPECT_EQ(c.timeout_s, 30);
  EXPECT_EQ(c.ephemeral_storage_mb, 512);
  EXPECT_EQ(c.environment, (std::map<std::string, std::string>{{"GREETING", "hello"}}));
}

TEST_F(FunctionApiTest, CreateAppliesLambdaDefaults) {
  ASSERT_EQ(create(valid_create_body()).status, 201);
  const auto& c = catalog.functions.at("fn");
  EXPECT_EQ(c.memory_mb, 128);
  EXPECT_EQ(c.timeout_s, 3);
  EXPECT_EQ(c.ephemeral_storage_mb, 512);
  EXPECT_EQ(catalog.last_zip, "hello");
}

TEST_F(FunctionApiTest, CreatingAnExistingFunctionIsConflict) {
  ASSERT_EQ(create(valid_create_body()).status, 201);
  expect_error(create(valid_create_body()), 409, "ResourceConflictException",
               "Function already exist: fn");
}

// ---- configuration JSON ----

TEST_F(FunctionApiTest, ConfigurationJsonHasLambdaFields) {
  json body = valid_create_body();
  body["Handler"] = "bootstrap.handler";
  body["Description"] = "desc";
  const auto r = create(body);
  ASSERT_EQ(r.status, 201);
  EXPECT_EQ(header(r, "Content-Type"), "application/json");
  const json c = json::parse(r.body);
  EXPECT_EQ(c["FunctionName"], "fn");
  EXPECT_EQ(c["FunctionArn"], std::string(kArnPrefix) + "fn");
  EXPECT_EQ(c["Runtime"], "provided.al2023");
  EXPECT_EQ(c["Role"], "arn:aws:iam::000000000000:role/lambda");
  EXPECT_EQ(c["Handler"], "bootstrap.handler");
  EXPECT_EQ(c["CodeSize"], 5);
  EXPECT_EQ(c["Description"], "desc");
  EXPECT_EQ(c["Timeout"], 3);
  EXPECT_EQ(c["MemorySize"], 128);
  EXPECT_EQ(c["LastModified"], "2026-11-24T03:24:42.000+0000");
  EXPECT_EQ(c["CodeSha256"], "sha-of-hello");
  EXPECT_EQ(c["Version"], "$LATEST");
  EXPECT_EQ(c["TracingConfig"], (json{{"Mode", "PassThrough"}}));
  EXPECT_EQ(c["RevisionId"], catalog.functions.at("fn").revision_id);
  EXPECT_EQ(c["State"], "Active");
  EXPECT_EQ(c["LastUpdateStatus"], "Successful");
  EXPECT_EQ(c["PackageType"], "Zip");
  EXPECT_EQ(c["Architectures"], json::array({"x86_64"}));
  EXPECT_EQ(c["EphemeralStorage"], (json{{"Size", 512}}));
  EXPECT_EQ(c["SnapStart"], (json{{"ApplyOn", "None"}, {"OptimizationStatus", "Off"}}));
  EXPECT_EQ(c["LoggingConfig"], (json{{"LogFormat", "Text"}, {"LogGroup", "/aws/lambda/fn"}}));
  EXPECT_FALSE(c.contains("Environment"));
  EXPECT_FALSE(c.contains("DeadLetterConfig"));
}

TEST_F(FunctionApiTest, ConfigurationJsonShowsEnvironmentAndDeadLetterOnlyWhenSet) {
  json body = valid_create_body();
  body["Environment"] = {{"Variables", {{"KEY", "value"}}}};
  body["DeadLetterConfig"] = {{"TargetArn", "arn:aws:sqs:us-east-1:000000000000:dlq"}};
  const json c = json::parse(create(body).body);
  EXPECT_EQ(c["Environment"], (json{{"Variables", {{"KEY", "value"}}}}));
  EXPECT_EQ(c["DeadLetterConfig"], (json{{"TargetArn", "arn:aws:sqs:us-east-1:000000000000:dlq"}}));
}

TEST_F(FunctionApiTest, GetFunctionWrapsConfigurationWithCodeAndTags) {
  ASSERT_EQ(create(valid_create_body()).status, 201);
  const auto r = call("GET", "/2015-03-31/functions/fn");
  ASSERT_EQ(r.status, 200) << r.body;
  const json b = json::parse(r.body);
  EXPECT_EQ(b["Configuration"]["FunctionName"], "fn");
  EXPECT_EQ(b["Code"]["RepositoryType"], "S3");
  EXPECT_EQ(b["Code"]["Location"], "file:///var/lib/runtimed/code/key");
  EXPECT_EQ(b["Tags"], json::object());
}

TEST_F(FunctionApiTest, GetFunctionConfigurationReturnsBareConfiguration) {
  ASSERT_EQ(create(valid_create_body()).status, 201);
  const auto r = call("GET", "/2015-03-31/functions/fn/configuration");
  ASSERT_EQ(r.status, 200);
  EXPECT_EQ(json::parse(r.body)["FunctionName"], "fn");
  EXPECT_FALSE(json::parse(r.body).contains("Configuration"));
}

// ---- names, ARNs and qualifiers ----

TEST_F(FunctionApiTest, FunctionIsFoundByNameArnPartialArnAndLatestQualifier) {
  ASSERT_EQ(create(valid_create_body()).status, 201);
  for (const std::string id :
       {"fn", "fn:$LATEST", "arn:aws:lambda:us-east-1:000000000000:function:fn",
        "arn:aws:lambda:us-east-1:000000000000:function:fn:$LATEST", "000000000000:function:fn",
        "000000000000:function:fn:$LATEST"}) {
    EXPECT_EQ(call("GET", "/2015-03-31/functions/" + id).status, 200) << id;
  }
  EXPECT_EQ(call("GET", "/2015-03-31/functions/fn", "", {{"Qualifier", "$LATEST"}}).status, 200);
}

TEST_F(FunctionApiTest, OtherQualifiersAreNotFoundWithQualifiedArn) {
  ASSERT_EQ(create(valid_create_body()).status, 201);
  expect_error(call("GET", "/2015-03-31/functions/fn:prod"), 404, "ResourceNotFoundException",
               std::string("Function not found: ") + kArnPrefix + "fn:prod");
  expect_error(call("GET", "/2015-03-31/functions/fn", "", {{"Qualifier", "1"}}), 404,
               "ResourceNotFoundException",
               std::string("Function not found: ") + kArnPrefix + "fn:1");
  expect_error(call("DELETE", "/2015-03-31/functions/fn:live"), 404, "ResourceNotFoundException",
               "fn:live");
  EXPECT_TRUE(catalog.functions.contains("fn"));
}

TEST_F(FunctionApiTest, QualifierInNameAndQueryMustAgree) {
  ASSERT_EQ(create(valid_create_body()).status, 201);
  expect_error(call("GET", "/2015-03-31/functions/fn:$LATEST", "", {{"Qualifier", "prod"}}), 400,
               "InvalidParameterValueException", "derived qualifier");
}

TEST_F(FunctionApiTest, MissingFunctionIsNotFoundWithLambdaMessage) {
  const auto r = call("GET", "/2015-03-31/functions/nope");
  expect_error(r, 404, "ResourceNotFoundException", "");
  EXPECT_EQ(json::parse(r.body)["message"],
            "Function not found: arn:aws:lambda:us-east-1:000000000000:function:nope");
}

TEST_F(FunctionApiTest, ArnOfAnotherAccountOrRegionIsNotFound) {
  ASSERT_EQ(create(valid_create_body()).status, 201);
  expect_error(
      call("GET", "/2015-03-31/functions/arn:aws:lambda:us-east-1:111111111111:function:fn"), 404,
      "ResourceNotFoundException", "111111111111");
  expect_error(
      call("GET", "/2015-03-31/functions/arn:aws:lambda:eu-west-1:000000000000:function:fn"), 404,
      "ResourceNotFoundException", "eu-west-1");
}

TEST_F(FunctionApiTest, MalformedFunctionIdentifierIsInvalidParameter) {
  for (const std::string& id :
       std::vector<std::string>{"a.b", "arn:aws:s3:us-east-1:000000000000:function:fn",
                                "00:function:fn", repeat('x', 65), "a:b:c:d:e"})
    expect_error(call("GET", "/2015-03-31/functions/" + id), 400, "InvalidParameterValueException",
                 "functionName");
}

// ---- ListFunctions ----

TEST_F(FunctionApiTest, ListFunctionsPagesWithNextMarkerOnlyWhenMore) {
  for (const char* n : {"c", "a", "b"}) {
    json b = valid_create_body();
    b["FunctionName"] = n;
    ASSERT_EQ(create(b).status, 201);
  }
  auto r = call("GET", "/2015-03-31/functions/", "", {{"MaxItems", "2"}});
  ASSERT_EQ(r.status, 200) << r.body;
  json b = json::parse(r.body);
  ASSERT_EQ(b["Functions"].size(), 2u);
  EXPECT_EQ(b["Functions"][0]["FunctionName"], "a");
  EXPECT_EQ(b["Functions"][1]["FunctionName"], "b");
  ASSERT_TRUE(b.contains("NextMarker"));

  r = call("GET", "/2015-03-31/functions", "",
           {{"MaxItems", "2"}, {"Marker", b["NextMarker"].get<std::string>()}});
  b = json::parse(r.body);
  ASSERT_EQ(b["Functions"].size(), 1u);
  EXPECT_EQ(b["Functions"][0]["FunctionName"], "c");
  EXPECT_FALSE(b.contains("NextMarker"));
}

TEST_F(FunctionApiTest, ListFunctionsWithoutFunctionsIsEmptyArray) {
  const auto r = call("GET", "/2015-03-31/functions");
  ASSERT_EQ(r.status, 200);
  EXPECT_EQ(json::parse(r.body), (json{{"Functions", json::array()}}));
}

TEST_F(FunctionApiTest, ListFunctionsRejectsMaxItemsOutOfRange) {
  for (const char* v : {"0", "10001", "abc", "-1", "99999999999"})
    expect_error(call("GET", "/2015-03-31/functions/", "", {{"MaxItems", v}}), 400,
                 "InvalidParameterValueException", "maxItems");
  EXPECT_EQ(call("GET", "/2015-03-31/functions/", "", {{"MaxItems", "10000"}}).status, 200);
}

// ---- updates and delete ----

TEST_F(FunctionApiTest, UpdateFunctionCodeDecodesZipAndReturnsConfiguration) {
  ASSERT_EQ(create(valid_create_body()).status, 201);
  const auto r = call("PUT", "/2015-03-31/functions/fn/code", json{{"ZipFile", "d29ybGQ="}}.dump());
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(catalog.last_zip, "world");
  EXPECT_EQ(json::parse(r.body)["CodeSha256"], "sha-of-world");
}

TEST_F(FunctionApiTest, UpdateFunctionCodeValidates) {
  ASSERT_EQ(create(valid_create_body()).status, 201);
  expect_error(call("PUT", "/2015-03-31/functions/fn/code", "{}"), 400,
               "InvalidParameterValueException", "source for function code");
  expect_error(call("PUT", "/2015-03-31/functions/fn/code", json{{"ZipFile", "%%%%"}}.dump()), 400,
               "InvalidParameterValueException", "base64");
  expect_error(
      call("PUT", "/2015-03-31/functions/fn/code", std::string(api::kMaxCodeRequestBytes + 1, ' ')),
      413, "RequestTooLargeException", "UpdateFunctionCode");
  expect_error(call("PUT", "/2015-03-31/functions/nope/code", json{{"ZipFile", "aGk="}}.dump()),
               404, "ResourceNotFoundException", std::string(kArnPrefix) + "nope");
}

TEST_F(FunctionApiTest, RevisionIdIsPassedToCatalog) {
  ASSERT_EQ(create(valid_create_body()).status, 201);
  const std::string rev = catalog.functions.at("fn").revision_id;
  expect_error(call("PUT", "/2015-03-31/functions/fn/code",
                    json{{"ZipFile", "aGk="}, {"RevisionId", "stale"}}.dump()),
               412, "PreconditionFailedException", "");
  EXPECT_EQ(call("PUT", "/2015-03-31/functions/fn/configuration",
                 json{{"Timeout", 10}, {"RevisionId", rev}}.dump())
                .status,
            200);
}

TEST_F(FunctionApiTest, UpdateFunctionConfigurationPassesOnlyGivenFields) {
  ASSERT_EQ(create(valid_create_body()).status, 201);
  const auto r = call("PUT", "/2015-03-31/functions/fn/configuration",
                      json{{"Timeout", 60},
                           {"Environment", {{"Variables", {{"K1", "v"}}}}},
                           {"DeadLetterConfig", {{"TargetArn", ""}}}}
                          .dump());
  ASSERT_EQ(r.status, 200) << r.body;
  const auto& p = catalog.last_patch;
  EXPECT_EQ(p.timeout_s, 60);
  EXPECT_EQ(p.environment, (std::map<std::string, std::string>{{"K1", "v"}}));
  EXPECT_EQ(p.dead_letter_target_arn, "");
  EXPECT_FALSE(p.memory_mb);
  EXPECT_FALSE(p.runtime);
  EXPECT_FALSE(p.handler);
  EXPECT_EQ(json::parse(r.body)["Timeout"], 60);
}

TEST_F(FunctionApiTest, UpdateFunctionConfigurationValidatesLikeCreate) {
  ASSERT_EQ(create(valid_create_body()).status, 201);
  const std::vector<std::pair<json, std::string>> bad = {
      {{{"Timeout", 901}}, "InvalidParameterValueException"},
      {{{"MemorySize", 64}}, "InvalidParameterValueException"},
      {{{"EphemeralStorage", {{"Size", 100}}}}, "InvalidParameterValueException"},
      {{{"Runtime", "java21"}}, "InvalidParameterValueException"},
      {{{"Description", repeat('d', 257)}}, "InvalidParameterValueException"},
      {{{"Handler", repeat('h', 129)}}, "InvalidParameterValueException"},
      {{{"Environment", {{"Variables", {{"AWS_LAMBDA_RUNTIME_API", "x"}}}}}},
       "InvalidParameterValueException"},
      {{{"Timeout", "10"}}, "InvalidRequestContentException"},
  };
  for (const auto& [body, type] : bad) {
    SCOPED_TRACE(body.dump());
    expect_error(call("PUT", "/2015-03-31/functions/fn/configuration", body.dump()), 400, type, "");
  }
  EXPECT_EQ(catalog.functions.at("fn").timeout_s, 3);
}

TEST_F(FunctionApiTest, DeleteFunctionAnswers204ThenGetIs404) {
  ASSERT_EQ(create(valid_create_body()).status, 201);
  const auto r = call("DELETE", "/2015-03-31/functions/" + std::string(kArnPrefix) + "fn");
  EXPECT_EQ(r.status, 204);
  EXPECT_TRUE(r.body.empty());
  expect_error(call("GET", "/2015-03-31/functions/fn"), 404, "ResourceNotFoundException", "fn");
  expect_error(call("DELETE", "/2015-03-31/functions/fn"), 404, "ResourceNotFoundException", "fn");
}

// ---- versions and aliases ----

class VersionsAndAliasesTest : public FunctionApiTest {
 protected:
  api::VersionApi versions{catalog, fapi};
  api::AliasApi aliases{catalog, fapi};

  static HttpRequest request(std::string body = {},
                             std::multimap<std::string, std::string> query = {}) {
    HttpRequest r;
    r.body = std::move(body);
    r.query = std::move(query);
    return r;
  }
  HttpResponse create_alias(const json& body) {
    return aliases.create(request(body.dump()), "fn", "req-2");
  }
  void SetUp() override {
    ASSERT_EQ(create(valid_create_body()).status, 201);
    ASSERT_EQ(versions.publish(request(), "fn", "r").status, 201);  // version 1
    ASSERT_EQ(versions.publish(request(), "fn", "r").status, 201);  // version 2
  }
};

TEST_F(VersionsAndAliasesTest, PublishOnCreateAnswersTheVersionWithAQualifiedArn) {
  json body = valid_create_body();
  body["FunctionName"] = "other";
  body["Publish"] = true;
  auto r = create(body);
  ASSERT_EQ(r.status, 201) << r.body;
  const json j = json::parse(r.body);
  EXPECT_EQ(j["Version"], "1");
  EXPECT_EQ(j["FunctionArn"], std::string(kArnPrefix) + "other:1");
  auto listed = versions.list(request(), "other", "r");
  ASSERT_EQ(listed.status, 200);
  const json list = json::parse(listed.body);
  ASSERT_EQ(list["Versions"].size(), 2u);
  EXPECT_EQ(list["Versions"][0]["Version"], "$LATEST");
  EXPECT_EQ(list["Versions"][0]["FunctionArn"], std::string(kArnPrefix) + "other");
  EXPECT_EQ(list["Versions"][1]["Version"], "1");
}

TEST_F(VersionsAndAliasesTest, GetByVersionOrAliasAndMissingQualifiersNameTheirArn) {
  ASSERT_EQ(create_alias({{"Name", "live"}, {"FunctionVersion", "2"}}).status, 201);
  auto by_version = call("GET", "/2015-03-31/functions/fn:1/configuration");
  ASSERT_EQ(by_version.status, 200) << by_version.body;
  EXPECT_EQ(json::parse(by_version.body)["FunctionArn"], std::string(kArnPrefix) + "fn:1");
  auto by_alias = call("GET", "/2015-03-31/functions/fn", "", {{"Qualifier", "live"}});
  ASSERT_EQ(by_alias.status, 200) << by_alias.body;
  const json j = json::parse(by_alias.body)["Configuration"];
  EXPECT_EQ(j["Version"], "2");
  EXPECT_EQ(j["FunctionArn"], std::string(kArnPrefix) + "fn:live");
  expect_error(call("GET", "/2015-03-31/functions/fn:9"), 404, "ResourceNotFoundException",
               std::string("Function not found: ") + kArnPrefix + "fn:9");
  expect_error(call("GET", "/2015-03-31/functions/fn:nope"), 404, "ResourceNotFoundException",
               std::string("Function not found: ") + kArnPrefix + "fn:nope");
}

TEST_F(VersionsAndAliasesTest, DeleteFunctionWithQualifierDeletesOnlyAnUnaliasedVersion) {
  ASSERT_EQ(create_alias({{"Name", "live"}, {"FunctionVersion", "1"}}).status, 201);
  expect_error(call("DELETE", "/2015-03-31/functions/fn", "", {{"Qualifier", "$LATEST"}}), 400,
               "InvalidParameterValueException", "$LATEST version cannot be deleted");
  expect_error(call("DELETE", "/2015-03-31/functions/fn:live"), 400,
               "InvalidParameterValueException", "DeleteAlias");
  expect_error(call("DELETE", "/2015-03-31/functions/fn:1"), 409, "ResourceConflictException",
               "aliased");
  EXPECT_EQ(call("DELETE", "/2015-03-31/functions/fn:2").status, 204);
  expect_error(call("DELETE", "/2015-03-31/functions/fn:2"), 404, "ResourceNotFoundException",
               std::string(kArnPrefix) + "fn:2");
  EXPECT_EQ(call("GET", "/2015-03-31/functions/fn").status, 200);  // $LATEST stays
}

TEST_F(VersionsAndAliasesTest, CreateAliasValidatesAsLambda) {
  const std::string ipv = "InvalidParameterValueException";
  expect_error(create_alias({{"Name", "123"}, {"FunctionVersion", "1"}}), 400, ipv, "name");
  expect_error(create_alias({{"Name", "a.b"}, {"FunctionVersion", "1"}}), 400, ipv, "name");
  expect_error(create_alias({{"Name", "live"}}), 400, ipv, "functionVersion");
  expect_error(create_alias({{"Name", "live"}, {"FunctionVersion", "x"}}), 400, ipv,
               "functionVersion");
  expect_error(create_alias({{"Name", "live"},
                             {"FunctionVersion", "1"},
                             {"RoutingConfig", {{"AdditionalVersionWeights", {{"2", 1.5}}}}}}),
               400, ipv, "additionalVersionWeights");
  expect_error(
      create_alias({{"Name", "live"},
                    {"FunctionVersion", "1"},
                    {"RoutingConfig", {{"AdditionalVersionWeights", {{"2", 0.1}, {"3", 0.1}}}}}}),
      400, ipv, "cannot be greater than 1");
  expect_error(create_alias({{"Name", "live"},
                             {"FunctionVersion", "$LATEST"},
                             {"RoutingConfig", {{"AdditionalVersionWeights", {{"2", 0.5}}}}}}),
               400, ipv, "$LATEST is not supported");
  expect_error(create_alias({{"Name", "live"}, {"FunctionVersion", "7"}}), 404,
               "ResourceNotFoundException", std::string(kArnPrefix) + "fn:7");
  expect_error(
      aliases.create(request(json{{"Name", "live"}, {"FunctionVersion", "1"}}.dump()), "nope", "r"),
      404, "ResourceNotFoundException", std::string(kArnPrefix) + "nope");
}

TEST_F(VersionsAndAliasesTest, AliasLifecycleInLambdasShapes) {
  auto created = create_alias({{"Name", "live"},
                               {"FunctionVersion", "1"},
                               {"Description", "prod"},
                               {"RoutingConfig", {{"AdditionalVersionWeights", {{"2", 0.2}}}}}});
  ASSERT_EQ(created.status, 201) << created.body;
  json j = json::parse(created.body);
  EXPECT_EQ(j["AliasArn"], std::string(kArnPrefix) + "fn:live");
  EXPECT_EQ(j["Name"], "live");
  EXPECT_EQ(j["FunctionVersion"], "1");
  EXPECT_EQ(j["Description"], "prod");
  EXPECT_EQ(j["RoutingConfig"]["AdditionalVersionWeights"]["2"], 0.2);
  EXPECT_FALSE(j["RevisionId"].get<std::string>().empty());
  expect_error(create_alias({{"Name", "live"}, {"FunctionVersion", "1"}}), 409,
               "ResourceConflictException",
               std::string("Alias already exists: ") + kArnPrefix + "fn:live");

  // An update without RoutingConfig keeps the split; with an empty one it clears it.
  auto updated =
      aliases.update(request(json{{"Description", "still prod"}}.dump()), "fn", "live", "r");
  ASSERT_EQ(updated.status, 200) << updated.body;
  j = json::parse(updated.body);
  EXPECT_EQ(j["Description"], "still prod");
  EXPECT_EQ(j["RoutingConfig"]["AdditionalVersionWeights"]["2"], 0.2);
  // Moving the primary onto the additional version is refused, as Lambda does.
  expect_error(aliases.update(request(json{{"FunctionVersion", "2"}}.dump()), "fn", "live", "r"),
               400, "InvalidParameterValueException", "already included");
  updated = aliases.update(
      request(json{{"FunctionVersion", "2"}, {"RoutingConfig", json::object()}}.dump()), "fn",
      "live", "r");
  ASSERT_EQ(updated.status, 200) << updated.body;
  j = json::parse(updated.body);
  EXPECT_EQ(j["FunctionVersion"], "2");
  EXPECT_FALSE(j.contains("RoutingConfig"));

  auto got = aliases.get(request(), "fn", "live", "r");
  ASSERT_EQ(got.status, 200);
  EXPECT_EQ(json::parse(got.body)["FunctionVersion"], "2");
  auto listed = aliases.list(request(), "fn", "r");
  ASSERT_EQ(listed.status, 200);
  EXPECT_EQ(json::parse(listed.body)["Aliases"].size(), 1u);
  EXPECT_EQ(aliases.remove(request(), "fn", "live", "r").status, 204);
  expect_error(aliases.get(request(), "fn", "live", "r"), 404, "ResourceNotFoundException",
               std::string("Alias not found: ") + kArnPrefix + "fn:live");
}

// ---- routing ----

TEST(FunctionApiRouting, MatchesOnlyFunctionManagementPaths) {
  auto req = [](std::string method, std::string path) {
    HttpRequest r;
    r.method = std::move(method);
    r.path = std::move(path);
    return r;
  };
  EXPECT_TRUE(api::FunctionApi::matches(req("GET", "/2015-03-31/functions")));
  EXPECT_TRUE(api::FunctionApi::matches(req("GET", "/2015-03-31/functions/")));
  EXPECT_TRUE(api::FunctionApi::matches(req("GET", "/2015-03-31/functions/fn")));
  EXPECT_TRUE(api::FunctionApi::matches(req("PUT", "/2015-03-31/functions/fn/code")));
  EXPECT_TRUE(api::FunctionApi::matches(req("PUT", "/2015-03-31/functions/fn/configuration")));
  EXPECT_FALSE(api::FunctionApi::matches(req("POST", "/2015-03-31/functions/fn/invocations")));
  EXPECT_FALSE(api::FunctionApi::matches(req("GET", "/2015-03-31/functionsX")));
  EXPECT_FALSE(api::FunctionApi::matches(req("GET", "/2018-06-01/runtime/invocation/next")));
}

// Not ResourceNotFoundException: SDKs and Terraform read that as "the function does not exist".
TEST_F(FunctionApiTest, UnknownOperationIsNotFoundButNotAMissingFunction) {
  expect_error(call("PATCH", "/2015-03-31/functions/fn"), 404, "UnknownOperationException",
               "Unknown operation");
  expect_error(call("GET", "/2015-03-31/functions/fn/code"), 404, "UnknownOperationException",
               "Unknown operation");
  expect_error(call("GET", "/2015-03-31/functions/fn/nonsense"), 404, "UnknownOperationException",
               "Unknown operation");
}

}  // namespace
