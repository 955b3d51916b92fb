#include "api/function_api.hpp"

#include <spdlog/spdlog.h>

#include <array>
#include <cctype>
#include <string_view>
#include <vector>

#include "api/event_invoke_config_api.hpp"
#include "api/function_name.hpp"
#include "api/function_tags.hpp"
#include "api/json_body.hpp"
#include "api/json_response.hpp"
#include "api/layer_arn.hpp"
#include "api/list_paging.hpp"
#include "api/store_error_mapping.hpp"
#include "common/account_scope.hpp"
#include "common/base64.hpp"
#include "common/module_logger.hpp"
#include "common/runtime_catalog.hpp"

namespace api {

using nlohmann::json;

namespace {

constexpr std::string_view kPrefix = "/2015-03-31/functions";

std::shared_ptr<spdlog::logger> logger() {
  static const auto log = common::module_logger("function_api");
  return log;
}

// Lambda refuses these environment keys: the runtime sets them.
constexpr std::array<std::string_view, 18> kReservedEnvKeys = {
    "_HANDLER",
    "_X_AMZN_TRACE_ID",
    "AWS_DEFAULT_REGION",
    "AWS_REGION",
    "AWS_EXECUTION_ENV",
    "AWS_LAMBDA_FUNCTION_NAME",
    "AWS_LAMBDA_FUNCTION_MEMORY_SIZE",
    "AWS_LAMBDA_FUNCTION_VERSION",
    "AWS_LAMBDA_INITIALIZATION_TYPE",
    "AWS_LAMBDA_LOG_GROUP_NAME",
    "AWS_LAMBDA_LOG_STREAM_NAME",
    "AWS_ACCESS_KEY",
    "AWS_ACCESS_KEY_ID",
    "AWS_SECRET_ACCESS_KEY",
    "AWS_SESSION_TOKEN",
    "AWS_LAMBDA_RUNTIME_API",
    "LAMBDA_TASK_ROOT",
    "LAMBDA_RUNTIME_DIR",
};

// The path after the prefix, split on '/': {} for the collection, {id}, {id, "configuration"}...
std::optional<std::vector<std::string>> route_segments(const std::string& path) {
  if (path.compare(0, kPrefix.size(), kPrefix) != 0) return std::nullopt;
  std::string_view rest = std::string_view(path).substr(kPrefix.size());
  if (rest.empty() || rest == "/") return std::vector<std::string>{};
  if (rest.front() != '/') return std::nullopt;
  rest.remove_prefix(1);
  std::vector<std::string> segments;
  while (true) {
    const size_t slash = rest.find('/');
    segments.emplace_back(rest.substr(0, slash));
    if (slash == std::string_view::npos) break;
    rest.remove_prefix(slash + 1);
  }
  for (const auto& s : segments)
    if (s.empty()) return std::nullopt;
  return segments;
}

ApiError bad_function_name(std::string_view id) {
  return ApiError::invalid_parameter(fmt::format(
      "1 validation error detected: Value '{}' at 'functionName' failed to satisfy constraint: "
      "Member must be a function name (1-64 of [A-Za-z0-9_-]) or a function ARN",
      id));
}

std::expected<std::string, ApiError> decode_zip_file(std::string_view in) {
  auto bytes = common::base64_decode(in);
  if (!bytes)
    return std::unexpected(ApiError::invalid_parameter(
        "Could not decode Code.ZipFile: it must be the zip file's bytes in base64"));
  return std::move(*bytes);
}

std::expected<void, ApiError> check_range(std::string_view field, int64_t v, int64_t lo,
                                          int64_t hi) {
  if (v < lo)
    return std::unexpected(ApiError::invalid_parameter(fmt::format(
        "1 validation error detected: Value '{}' at '{}' failed to satisfy constraint: Member "
        "must have value greater than or equal to {}",
        v, field, lo)));
  if (v > hi)
    return std::unexpected(ApiError::invalid_parameter(fmt::format(
        "1 validation error detected: Value '{}' at '{}' failed to satisfy constraint: Member "
        "must have value less than or equal to {}",
        v, field, hi)));
  return {};
}

std::expected<void, ApiError> check_runtime(const std::string& runtime) {
  switch (common::runtime_support(runtime)) {
    case common::RuntimeSupport::Supported:
      return {};
    case common::RuntimeSupport::NotSupported:
      return std::unexpected(ApiError::invalid_parameter(
          fmt::format("The runtime parameter of {} is not supported in this version of runtimed; "
                      "supported runtimes: {}",
                      runtime, common::supported_runtimes_text())));
    case common::RuntimeSupport::Unknown:
      break;
  }
  return std::unexpected(ApiError::invalid_parameter(
      fmt::format("Value {} at 'runtime' failed to satisfy constraint: Member must be a valid "
                  "Lambda runtime identifier; supported runtimes: {}",
                  runtime, common::supported_runtimes_text())));
}

std::expected<void, ApiError> check_handler(const std::string& handler) {
  if (handler.size() > common::kMaxHandlerLength)
    return std::unexpected(ApiError::invalid_parameter(
        fmt::format("1 validation error detected: Value at 'handler' failed to satisfy "
                    "constraint: Member must have length less than or equal to {}",
                    common::kMaxHandlerLength)));
  for (char c : handler)
    if (std::isspace(static_cast<unsigned char>(c)))
      return std::unexpected(ApiError::invalid_parameter(
          "1 validation error detected: Value at 'handler' failed to satisfy constraint: Member "
          "must satisfy regular expression pattern: [^\\s]+"));
  return {};
}

std::expected<void, ApiError> check_description(const std::string& description) {
  if (description.size() > common::kMaxDescriptionLength)
    return std::unexpected(ApiError::invalid_parameter(
        fmt::format("1 validation error detected: Value at 'description' failed to satisfy "
                    "constraint: Member must have length less than or equal to {}",
                    common::kMaxDescriptionLength)));
  return {};
}

bool valid_env_key(std::string_view key) {
  if (key.size() < 2 || !std::isalpha(static_cast<unsigned char>(key[0]))) return false;
  for (char c : key)
    if (!std::isalnum(static_cast<unsigned char>(c)) && c != '_') return false;
  return true;
}

// Environment: {"Variables": {...}} → the validated map.
std::expected<std::map<std::string, std::string>, ApiError> parse_environment(const json& env) {
  std::map<std::string, std::string> vars;
  auto variables = opt_object(env, "Variables");
  if (!variables) return std::unexpected(variables.error());
  if (*variables == nullptr) return vars;
  size_t total = 0;
  std::string reserved;
  for (const auto& [key, value] : (*variables)->items()) {
    if (!value.is_string())
      return std::unexpected(wrong_type("Environment.Variables." + key, "a string"));
    if (!valid_env_key(key))
      return std::unexpected(ApiError::invalid_parameter(fmt::format(
          "1 validation error detected: Value at 'environment.variables' failed to satisfy "
          "constraint: Map keys must satisfy constraint: [Member must satisfy regular expression "
          "pattern: [a-zA-Z]([a-zA-Z0-9_])+]; offending key: {}",
          key)));
    for (auto r : kReservedEnvKeys)
      if (key == r) reserved += reserved.empty() ? key : "," + key;
    total += key.size() + value.get_ref<const std::string&>().size();
    vars.emplace(key, value.get<std::string>());
  }
  if (!reserved.empty())
    return std::unexpected(ApiError::invalid_parameter(
        "Lambda was unable to configure your environment variables because the environment "
        "variables you have provided contains reserved keys that are currently not supported "
        "for modification. Reserved keys used in this request: " +
        reserved));
  if (total > common::kMaxEnvironmentBytes)
    return std::unexpected(ApiError::invalid_parameter(
        "Lambda was unable to configure your environment variables because the environment "
        "variables you have provided exceeded the 4KB limit."));
  return vars;
}

std::expected<std::optional<std::string>, ApiError> parse_dead_letter(
    const json& body, const LambdaIdentity& identity) {
  auto dlc = opt_object(body, "DeadLetterConfig");
  if (!dlc) return std::unexpected(dlc.error());
  if (*dlc == nullptr) return std::nullopt;
  auto arn = opt_string(**dlc, "TargetArn");
  if (!arn) return std::unexpected(arn.error());
  // Lambda treats a DeadLetterConfig without TargetArn, or with "", as removing it.
  const std::string target = arn->value_or("");
  // Dead letters go to the daemon's local queues; SNS topics are not available.
  if (!target.empty() && (!target.starts_with("arn:aws:sqs:") || !deliverable_destination(target)))
    return std::unexpected(ApiError::invalid_parameter(
        "The provided target ARN " + target +
        " is not supported by runtimed: use a local queue, arn:aws:sqs:REGION:ACCOUNT:NAME"));
  if (!target.empty() && !destination_in_account(target, identity.account_id))
    return std::unexpected(ApiError::invalid_parameter(
        "The provided target ARN " + target +
        " is another account's: runtimed keeps accounts "
        "apart, so a dead-letter queue is one of the function's own account"));
  return target;
}

// The fields every code-carrying request shares: Code.ZipFile (or ZipFile), no S3, no image.
std::expected<std::string, ApiError> decode_zip(const json& code_obj) {
  for (auto key : {"S3Bucket", "S3Key", "S3ObjectVersion", "ImageUri"})
    if (code_obj.contains(key) && !code_obj[key].is_null())
      return std::unexpected(ApiError::invalid_parameter(
          fmt::format("{} is not supported by runtimed: upload the code as ZipFile", key)));
  auto zip = opt_string(code_obj, "ZipFile");
  if (!zip) return std::unexpected(zip.error());
  if (!*zip)
    return std::unexpected(
        ApiError::invalid_parameter("Please provide a source for function code."));
  return decode_zip_file(**zip);
}

std::expected<void, ApiError> refuse_true(const json& body, std::string_view key,
                                          std::string_view what) {
  auto v = opt_bool(body, key);
  if (!v) return std::unexpected(v.error());
  if (v->value_or(false))
    return std::unexpected(ApiError::invalid_parameter(
        fmt::format("{} is not supported in this version of runtimed", what)));
  return {};
}

HttpResponse error_response(const ApiError& error, const std::string& request_id) {
  if (error.type == ApiErrorType::Service)
    logger()->error("request {}: {}", request_id, error.message);
  else
    logger()->debug("request {}: {}: {}", request_id, type_name(error.type), error.message);
  return to_http(error, request_id);
}

// The settings CreateFunction and UpdateFunctionConfiguration share, each set in `patch` only when
// the body gives it; the first invalid one is the answer.
// Layers: at most 5 layer version ARNs of this region and account, one version per layer.
std::expected<std::optional<std::vector<common::LayerRef>>, ApiError> parse_layers(
    const json& body, const LambdaIdentity& identity, std::string_view scope) {
  auto it = body.find("Layers");
  if (it == body.end() || it->is_null()) return std::nullopt;
  if (!it->is_array()) return std::unexpected(wrong_type("Layers", "a list of layer version ARNs"));
  if (it->size() > 5)
    return std::unexpected(ApiError::invalid_parameter("Cannot reference more than 5 layers."));
  std::vector<common::LayerRef> layers;
  for (const auto& arn : *it) {
    if (!arn.is_string()) return std::unexpected(wrong_type("Layers", "a list of strings"));
    auto layer = parse_layer_version_arn(arn.get<std::string>(), identity);
    if (!layer) return std::unexpected(layer.error());
    layer->name = common::scoped_name(scope, layer->name);
    for (const auto& other : layers)
      if (other.name == layer->name)
        return std::unexpected(ApiError::invalid_parameter(
            "Two different versions of the same layer are not allowed to be referenced in the "
            "same function. " +
            other.arn + " and " + layer->arn + " are versions of the same layer."));
    layers.push_back(std::move(*layer));
  }
  return layers;
}

// `identity` is the caller's (caller_identity), `scope` their account's scope
// (HttpRequest::account).
std::expected<void, ApiError> parse_shared_settings(const json& body, ConfigurationPatch& patch,
                                                    const LambdaIdentity& identity,
                                                    std::string_view scope) {
  auto description = opt_string(body, "Description");
  if (!description) return std::unexpected(description.error());
  if (*description) {
    if (auto ok = check_description(**description); !ok) return std::unexpected(ok.error());
    patch.description = **description;
  }
  for (auto [key, field, lo, hi, dest] :
       {std::tuple{"MemorySize", "memorySize", common::kMinMemoryMb, common::kMaxMemoryMb,
                   &patch.memory_mb},
        std::tuple{"Timeout", "timeout", common::kMinTimeoutS, common::kMaxTimeoutS,
                   &patch.timeout_s}}) {
    auto v = opt_int(body, key);
    if (!v) return std::unexpected(v.error());
    if (*v) {
      if (auto ok = check_range(field, **v, lo, hi); !ok) return std::unexpected(ok.error());
      *dest = static_cast<int>(**v);
    }
  }
  auto storage = opt_object(body, "EphemeralStorage");
  if (!storage) return std::unexpected(storage.error());
  if (*storage) {
    auto size = opt_int(**storage, "Size");
    if (!size) return std::unexpected(size.error());
    if (*size) {
      if (auto ok = check_range("ephemeralStorage.size", **size, common::kMinEphemeralStorageMb,
                                common::kMaxEphemeralStorageMb);
          !ok)
        return std::unexpected(ok.error());
      patch.ephemeral_storage_mb = static_cast<int>(**size);
    }
  }
  auto env = opt_object(body, "Environment");
  if (!env) return std::unexpected(env.error());
  if (*env) {
    auto vars = parse_environment(**env);
    if (!vars) return std::unexpected(vars.error());
    patch.environment = std::move(*vars);
  }
  auto dlq = parse_dead_letter(body, identity);
  if (!dlq) return std::unexpected(dlq.error());
  patch.dead_letter_target_arn = *dlq;
  // Lambda's VPC attachment has no meaning here; an empty VpcConfig (the CLI's way to detach) is
  // accepted, anything else is refused rather than silently ignored.
  if (auto vpc = opt_object(body, "VpcConfig"); !vpc) {
    return std::unexpected(vpc.error());
  } else if (*vpc) {
    for (auto key : {"SubnetIds", "SecurityGroupIds"}) {
      auto it = (*vpc)->find(key);
      if (it != (*vpc)->end() && !it->is_null() && !(it->is_array() && it->empty()))
        return std::unexpected(ApiError::invalid_parameter(
            "VpcConfig is not supported by runtimed: functions reach the network through the "
            "host's bridge by default (see docs/networking.md); tag a function "
            "runtimed:network=none to give it loopback only"));
    }
  }
  auto layers = parse_layers(body, identity, scope);
  if (!layers) return std::unexpected(layers.error());
  patch.layers = std::move(*layers);
  return {};
}

}  // namespace

FunctionApi::FunctionApi(VersionCatalog& catalog, std::string region, std::string account_id)
    : catalog_(catalog), region_(std::move(region)), account_id_(std::move(account_id)) {}

bool FunctionApi::matches(const HttpRequest& request) {
  auto segments = route_segments(request.path);
  if (!segments) return false;
  if (segments->size() <= 1) return true;
  return segments->size() == 2 && ((*segments)[1] == "configuration" || (*segments)[1] == "code");
}

std::string FunctionApi::function_arn(const std::string& name) const {
  return common::function_arn({region_, account_id_}, name);
}

json FunctionApi::configuration_json(const common::FunctionConfig& c,
                                     const std::string& qualifier) const {
  std::string arn = function_arn(c.name);
  if (!qualifier.empty())
    arn += ":" + qualifier;
  else if (c.version != "$LATEST")
    arn += ":" + c.version;
  json j = {
      {"FunctionName", common::display_name(c.name)},
      {"FunctionArn", arn},
      {"Runtime", c.runtime},
      {"Role", c.role},
      {"CodeSize", c.code_size},
      {"Description", c.description},
      {"Timeout", c.timeout_s},
      {"MemorySize", c.memory_mb},
      {"LastModified", c.last_modified},
      {"CodeSha256", c.code_sha256},
      {"Version", c.version},
      {"TracingConfig", {{"Mode", "PassThrough"}}},
      {"RevisionId", c.revision_id},
      {"State", "Active"},
      {"LastUpdateStatus", "Successful"},
      {"PackageType", "Zip"},
      {"Architectures", json::array({"x86_64"})},
      {"EphemeralStorage", {{"Size", c.ephemeral_storage_mb}}},
      {"SnapStart", {{"ApplyOn", "None"}, {"OptimizationStatus", "Off"}}},
      {"LoggingConfig",
       {{"LogFormat", "Text"},
        {"LogGroup", "/aws/lambda/" + std::string(common::display_name(c.name))}}},
  };
  // Lambda leaves out a Handler that was never set (provided runtimes need none).
  if (!c.handler.empty()) j["Handler"] = c.handler;
  if (!c.environment.empty()) j["Environment"] = {{"Variables", c.environment}};
  if (c.dead_letter_target_arn) j["DeadLetterConfig"] = {{"TargetArn", *c.dead_letter_target_arn}};
  if (!c.layers.empty()) {
    json layers = json::array();
    for (const auto& l : c.layers) layers.push_back({{"Arn", l.arn}, {"CodeSize", l.code_size}});
    j["Layers"] = std::move(layers);
  }
  return j;
}

std::expected<std::string, ApiError> FunctionApi::resolve_name(const HttpRequest& request,
                                                               const std::string& id) const {
  return resolve_name_for_caller(id, request.query_param("Qualifier"), request,
                                 LambdaIdentity{region_, account_id_});
}

std::expected<QualifiedFunctionName, ApiError> FunctionApi::resolve_qualified(
    const HttpRequest& request, const std::string& id) const {
  return resolve_for_caller(id, request.query_param("Qualifier"), request,
                            LambdaIdentity{region_, account_id_});
}

std::expected<common::FunctionConfig, ApiError> FunctionApi::configuration_of(
    const QualifiedFunctionName& function) {
  const std::string& name = function.name;
  std::string version = function.qualifier.value_or("$LATEST");
  if (version != "$LATEST" && !is_version_qualifier(version)) {
    auto alias = catalog_.get_alias(name, version);
    if (!alias) return std::unexpected(from_catalog(alias.error(), name + ":" + version));
    version = alias->routing.function_version;
  }
  auto config = version == "$LATEST" ? catalog_.get(name) : catalog_.get_version(name, version);
  if (!config) return std::unexpected(from_catalog(config.error(), pool_key(name, version)));
  return std::move(*config);
}

HttpResponse FunctionApi::publish_after(const common::FunctionConfig& latest, int status,
                                        const std::string& request_id) {
  auto version =
      catalog_.publish_version(latest.name, std::nullopt, latest.revision_id, std::nullopt);
  if (!version) return error_response(from_catalog(version.error(), latest.name), request_id);
  logger()->info("published {} version {}", latest.name, version->version);
  return json_response(status, configuration_json(*version), request_id);
}

ApiError FunctionApi::from_catalog(const common::StoreError& error, const std::string& name) const {
  ApiError api_error = to_api_error(error);
  if (error.kind == common::StoreErrorKind::NotFound)
    api_error.message = function_not_found_message(function_arn(name));
  return api_error;
}

HttpResponse FunctionApi::handle(const HttpRequest& request, const std::string& request_id) {
  try {
    return dispatch(request, request_id);
  } catch (const std::exception& e) {
    return error_response(ApiError::service(fmt::format("Internal error: {}", e.what())),
                          request_id);
  }
}

HttpResponse FunctionApi::dispatch(const HttpRequest& request, const std::string& request_id) {
  const auto segments = route_segments(request.path);
  const std::string& m = request.method;
  if (segments && segments->empty()) {
    if (m == "POST") return create_function(request, request_id);
    if (m == "GET") return list_functions(request, request_id);
  } else if (segments && segments->size() == 1) {
    if (m == "GET") return get_function(request, (*segments)[0], false, request_id);
    if (m == "DELETE") return delete_function(request, (*segments)[0], request_id);
  } else if (segments && segments->size() == 2 && (*segments)[1] == "configuration") {
    if (m == "GET") return get_function(request, (*segments)[0], true, request_id);
    if (m == "PUT") return update_configuration(request, (*segments)[0], request_id);
  } else if (segments && segments->size() == 2 && (*segments)[1] == "code") {
    if (m == "PUT") return update_code(request, (*segments)[0], request_id);
  }
  return error_response(
      ApiError::unknown_operation(fmt::format("Unknown operation: {} {}", m, request.path)),
      request_id);
}

HttpResponse FunctionApi::create_function(const HttpRequest& request,
                                          const std::string& request_id) {
  // Runs the validation steps in order and answers with the first failure.
  auto build = [&]() -> std::expected<CreateFunctionRequest, ApiError> {
    if (request.body.size() > kMaxCodeRequestBytes)
      return std::unexpected(ApiError::too_large(
          fmt::format("Request must be smaller than {} bytes for the CreateFunction operation",
                      kMaxCodeRequestBytes)));
    auto body = parse_json_object_body(request);
    if (!body) return std::unexpected(body.error());
    CreateFunctionRequest out;
    common::FunctionConfig& c = out.config;

    auto name = opt_string(*body, "FunctionName");
    if (!name) return std::unexpected(name.error());
    if (!*name)
      return std::unexpected(ApiError::invalid_parameter(
          "1 validation error detected: Value null at 'functionName' failed to satisfy "
          "constraint: Member must not be null"));
    if (!valid_function_name(**name)) return std::unexpected(bad_function_name(**name));
    c.name = common::scoped_name(request.account, **name);

    auto package = opt_string(*body, "PackageType");
    if (!package) return std::unexpected(package.error());
    if (*package && **package != "Zip")
      return std::unexpected(ApiError::invalid_parameter(
          "PackageType " + **package + " is not supported: only Zip is supported"));

    auto runtime = opt_string(*body, "Runtime");
    if (!runtime) return std::unexpected(runtime.error());
    if (!*runtime)
      return std::unexpected(
          ApiError::invalid_parameter("Runtime is required for .zip file deployment packages."));
    if (auto ok = check_runtime(**runtime); !ok) return std::unexpected(ok.error());
    c.runtime = **runtime;

    auto role = opt_string(*body, "Role");
    if (!role) return std::unexpected(role.error());
    if (!*role || (*role)->empty())
      return std::unexpected(ApiError::invalid_parameter(
          "1 validation error detected: Value null at 'role' failed to satisfy constraint: "
          "Member must not be null"));
    c.role = **role;

    auto handler = opt_string(*body, "Handler");
    if (!handler) return std::unexpected(handler.error());
    if (*handler) {
      if (auto ok = check_handler(**handler); !ok) return std::unexpected(ok.error());
      c.handler = **handler;
    } else if (!c.is_provided_runtime()) {
      return std::unexpected(ApiError::invalid_parameter(
          "Handler is required for .zip file deployment packages with runtime " + c.runtime));
    }

    ConfigurationPatch settings;
    if (auto ok = parse_shared_settings(
            *body, settings, caller_identity({region_, account_id_}, request), request.account);
        !ok)
      return std::unexpected(ok.error());
    settings.apply_to(c);

    auto arch = body->find("Architectures");
    if (arch != body->end() && !arch->is_null() && *arch != json::array({"x86_64"}))
      return std::unexpected(ApiError::invalid_parameter(
          "Architectures: only [\"x86_64\"] is supported in this version of runtimed"));
    auto publish = opt_bool(*body, "Publish");
    if (!publish) return std::unexpected(publish.error());
    out.publish = publish->value_or(false);

    auto tags = opt_object(*body, "Tags");
    if (!tags) return std::unexpected(tags.error());
    if (*tags) {
      auto parsed = parse_tags(**tags);
      if (!parsed) return std::unexpected(parsed.error());
      c.tags = std::move(*parsed);
    }

    auto code = opt_object(*body, "Code");
    if (!code) return std::unexpected(code.error());
    if (!*code)
      return std::unexpected(ApiError::invalid_parameter(
          "1 validation error detected: Value null at 'code' failed to satisfy constraint: "
          "Member must not be null"));
    auto zip = decode_zip(**code);
    if (!zip) return std::unexpected(zip.error());
    out.zip = std::move(*zip);
    return out;
  };

  auto create = build();
  if (!create) return error_response(create.error(), request_id);
  const std::string name = create->config.name;
  const bool publish = create->publish;
  auto created = catalog_.create(std::move(*create));
  if (!created) return error_response(from_catalog(created.error(), name), request_id);
  logger()->info("created function {} (revision {})", name, created->revision_id);
  if (publish) return publish_after(*created, 201, request_id);
  return json_response(201, configuration_json(*created), request_id);
}

HttpResponse FunctionApi::list_functions(const HttpRequest& request,
                                         const std::string& request_id) {
  auto paging = parse_list_paging(request);
  if (!paging) return error_response(paging.error(), request_id);
  auto page = catalog_.list(paging->marker, paging->max_items);
  if (!page) return error_response(to_api_error(page.error()), request_id);
  json functions = json::array();
  for (const auto& c : page->functions)
    if (common::in_account(c.name, request.account)) functions.push_back(configuration_json(c));
  json body = {{"Functions", std::move(functions)}};
  if (page->next_marker) body["NextMarker"] = *page->next_marker;
  return json_response(200, body, request_id);
}

HttpResponse FunctionApi::get_function(const HttpRequest& request, const std::string& id,
                                       bool config_only, const std::string& request_id) {
  auto function = resolve_qualified(request, id);
  if (!function) return error_response(function.error(), request_id);
  auto config = configuration_of(*function);
  if (!config) return error_response(config.error(), request_id);
  // An alias's FunctionArn names the alias; a version's, its number.
  const std::string arn_qualifier =
      function->qualifier && *function->qualifier != "$LATEST" ? *function->qualifier : "";
  const json configuration = configuration_json(*config, arn_qualifier);
  if (config_only) return json_response(200, configuration, request_id);
  json body = {
      {"Configuration", configuration},
      {"Code",
       {{"RepositoryType", "S3"}, {"Location", "file://" + catalog_.code_dir(*config).string()}}},
      {"Tags", config->tags},
  };
  if (reserved_concurrency_) {
    if (auto reserved = reserved_concurrency_(function->name))
      body["Concurrency"] = {{"ReservedConcurrentExecutions", *reserved}};
  }
  return json_response(200, body, request_id);
}

HttpResponse FunctionApi::update_code(const HttpRequest& request, const std::string& id,
                                      const std::string& request_id) {
  auto name = resolve_name(request, id);
  if (!name) return error_response(name.error(), request_id);
  if (request.body.size() > kMaxCodeRequestBytes)
    return error_response(
        ApiError::too_large(fmt::format(
            "Request must be smaller than {} bytes for the UpdateFunctionCode operation",
            kMaxCodeRequestBytes)),
        request_id);
  auto body = parse_json_object_body(request);
  if (!body) return error_response(body.error(), request_id);
  auto revision = opt_string(*body, "RevisionId");
  if (!revision) return error_response(revision.error(), request_id);
  if (auto ok = refuse_true(*body, "DryRun", "DryRun"); !ok)
    return error_response(ok.error(), request_id);
  auto publish = opt_bool(*body, "Publish");
  if (!publish) return error_response(publish.error(), request_id);
  auto arch = body->find("Architectures");
  if (arch != body->end() && !arch->is_null() && *arch != json::array({"x86_64"}))
    return error_response(ApiError::invalid_parameter("Architectures: only [\"x86_64\"] is "
                                                      "supported in this version of runtimed"),
                          request_id);
  auto zip = decode_zip(*body);
  if (!zip) return error_response(zip.error(), request_id);

  auto updated = catalog_.update_code(*name, std::move(*zip), *revision);
  if (!updated) return error_response(from_catalog(updated.error(), *name), request_id);
  logger()->info("updated code of {} (revision {})", *name, updated->revision_id);
  if (publish->value_or(false)) return publish_after(*updated, 200, request_id);
  return json_response(200, configuration_json(*updated), request_id);
}

HttpResponse FunctionApi::update_configuration(const HttpRequest& request, const std::string& id,
                                               const std::string& request_id) {
  auto name = resolve_name(request, id);
  if (!name) return error_response(name.error(), request_id);
  auto build =
      [&]() -> std::expected<std::pair<ConfigurationPatch, std::optional<std::string>>, ApiError> {
    auto body = parse_json_object_body(request);
    if (!body) return std::unexpected(body.error());
    ConfigurationPatch patch;
    auto revision = opt_string(*body, "RevisionId");
    if (!revision) return std::unexpected(revision.error());

    auto runtime = opt_string(*body, "Runtime");
    if (!runtime) return std::unexpected(runtime.error());
    if (*runtime) {
      if (auto ok = check_runtime(**runtime); !ok) return std::unexpected(ok.error());
      patch.runtime = **runtime;
    }
    auto handler = opt_string(*body, "Handler");
    if (!handler) return std::unexpected(handler.error());
    if (*handler) {
      if (auto ok = check_handler(**handler); !ok) return std::unexpected(ok.error());
      patch.handler = **handler;
    }
    auto role = opt_string(*body, "Role");
    if (!role) return std::unexpected(role.error());
    if (*role) {
      if ((*role)->empty())
        return std::unexpected(ApiError::invalid_parameter(
            "1 validation error detected: Value '' at 'role' failed to satisfy constraint: "
            "Member must not be empty"));
      patch.role = **role;
    }
    if (auto ok = parse_shared_settings(
            *body, patch, caller_identity({region_, account_id_}, request), request.account);
        !ok)
      return std::unexpected(ok.error());
    return std::pair{std::move(patch), *revision};
  };

  auto patch = build();
  if (!patch) return error_response(patch.error(), request_id);
  auto updated = catalog_.update_configuration(*name, patch->first, patch->second);
  if (!updated) return error_response(from_catalog(updated.error(), *name), request_id);
  logger()->info("updated configuration of {} (revision {})", *name, updated->revision_id);
  return json_response(200, configuration_json(*updated), request_id);
}

HttpResponse FunctionApi::delete_function(const HttpRequest& request, const std::string& id,
                                          const std::string& request_id) {
  auto function = resolve_qualified(request, id);
  if (!function) return error_response(function.error(), request_id);
  const std::string& name = function->name;
  if (function->qualifier && *function->qualifier != "$LATEST") {
    const std::string& version = *function->qualifier;
    // Lambda deletes versions this way, never aliases (DeleteAlias does); a qualifier that is
    // neither is a function that does not exist.
    if (!is_version_qualifier(version)) {
      if (auto alias = catalog_.get_alias(name, version); !alias)
        return error_response(from_catalog(alias.error(), name + ":" + version), request_id);
      return error_response(
          ApiError::invalid_parameter(fmt::format(
              "Deleting an alias ({}) through DeleteFunction is not supported; use DeleteAlias",
              version)),
          request_id);
    }
    auto removed = catalog_.remove_version(name, version);
    if (!removed)
      return error_response(from_catalog(removed.error(), name + ":" + version), request_id);
    logger()->info("deleted function {} version {}", name, version);
    return no_content_response(request_id);
  }
  if (function->qualifier)  // $LATEST goes only with the function
    return error_response(ApiError::invalid_parameter(
                              "$LATEST version cannot be deleted without deleting the function."),
                          request_id);
  auto removed = catalog_.remove(name);
  if (!removed) return error_response(from_catalog(removed.error(), name), request_id);
  logger()->info("deleted function {}", name);
  return no_content_response(request_id);
}

}  // namespace api
