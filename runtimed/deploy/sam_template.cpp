// SAM template → desired stack (see sam_template.hpp). Errors are thrown inside as TemplateError
// (with the template line yaml-cpp's Mark gives) and returned at the edge.
#include "runtimed/deploy/sam_template.hpp"

#include <fmt/format.h>
#include <unistd.h>
#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <cctype>
#include <charconv>
#include <fstream>
#include <set>
#include <sstream>

#include "api/http_route_match.hpp"
#include "api/sigv4.hpp"
#include "runtimed/cli/zip_writer.hpp"

namespace runtimed::deploy {

namespace {

using nlohmann::json;

struct TemplateError {
  std::string message;
};

constexpr std::string_view kFunctionType = "AWS::Serverless::Function";
constexpr std::string_view kLayerType = "AWS::Serverless::LayerVersion";
constexpr std::string_view kHttpApiType = "AWS::Serverless::HttpApi";
constexpr std::string_view kQueueType = "AWS::SQS::Queue";
constexpr std::string_view kImplicitHttpApi = "ServerlessHttpApi";
constexpr std::string_view kImplicitRestApi = "ServerlessRestApi";  // Api events, served as HttpApi
constexpr std::string_view kDefaultRole = "arn:aws:iam::000000000000:role/runtimed";

const std::set<std::string> kFunctionProperties = {"FunctionName",
                                                   "Description",
                                                   "Role",
                                                   "CodeUri",
                                                   "InlineCode",
                                                   "Handler",
                                                   "Runtime",
                                                   "MemorySize",
                                                   "Timeout",
                                                   "Environment",
                                                   "EphemeralStorage",
                                                   "Layers",
                                                   "ReservedConcurrentExecutions",
                                                   "AutoPublishAlias",
                                                   "ProvisionedConcurrencyConfig",
                                                   "DeadLetterQueue",
                                                   "EventInvokeConfig",
                                                   "FunctionUrlConfig",
                                                   "Tags",
                                                   "Events"};
// Globals.Function takes the function properties that are not one function's own.
const std::set<std::string> kNotGlobal = {"FunctionName", "Events", "InlineCode"};

std::string bounded_name(const std::string& name, size_t max) {
  if (name.size() <= max) return name;
  // Long names keep their start and get a short hash, so two long names stay distinct.
  return name.substr(0, max - 9) + "-" + api::sha256_hex(name).substr(0, 8);
}

std::string scalar_text(const json& v) {
  if (v.is_string()) return v.get<std::string>();
  if (v.is_number() || v.is_boolean()) return v.dump();
  return v.dump();
}

class TemplateReader {
 public:
  explicit TemplateReader(const TemplateInput& in) : in_(in) {}

  DesiredStack read();

 private:
  struct Logical {
    std::string type;
    std::string physical;
    YAML::Node node;
  };
  // A resource as built, before hashing: its parts' JSON and the keys whose hashes it follows.
  struct Building {
    DesiredResource resource;
    std::map<std::string, json> parts;
    std::vector<std::string> follows;
  };

  [[noreturn]] void fail(const YAML::Node& node, const std::string& message) const {
    throw TemplateError{
        fmt::format("{} line {}: {}", in_.file_label, node.Mark().line + 1, message)};
  }
  void expect_map(const YAML::Node& node, const std::string& what) const {
    if (!node.IsMap()) fail(node, what + " must be a mapping");
  }
  void check_keys(const YAML::Node& map, const std::set<std::string>& allowed,
                  const std::string& what) const;

  void read_parameters();
  void declare_resources();
  json resolve(const YAML::Node& node);
  json ref(const YAML::Node& at, const std::string& name);
  json get_att(const YAML::Node& at, const std::string& resource, const std::string& attribute);
  json sub(const YAML::Node& at, const std::string& text, const std::map<std::string, json>& vars);
  std::string require_string(const YAML::Node& at, const json& v, const std::string& what) const;
  int require_int(const YAML::Node& at, const json& v, const std::string& what) const;
  std::string function_arn(const std::string& name) const {
    return fmt::format("arn:aws:lambda:{}:{}:function:{}", in_.region, in_.account_id, name);
  }
  std::string queue_arn(const std::string& name) const {
    return fmt::format("arn:aws:sqs:{}:{}:{}", in_.region, in_.account_id, name);
  }
  // The package's bytes; `hash` becomes a hash of its content (not of the zip, whose bytes carry
  // file times).
  std::string load_code(const YAML::Node& at, const json& uri, const std::string& what,
                        std::string& hash);
  std::string inline_code_zip(const std::string& code, const std::string& runtime);

  void build_function(const std::string& id, const Logical& logical);
  void build_events(const std::string& id, const std::string& name, const std::string& alias,
                    const std::string& target_arn, const YAML::Node& events);
  void build_layer(const std::string& id, const Logical& logical);
  void build_queue(const std::string& id, const Logical& logical);
  void build_http_api_resource(const std::string& id, const Logical& logical);
  void finish_http_apis();
  void read_outputs();
  void hash_all();

  const TemplateInput& in_;
  YAML::Node root_;
  std::map<std::string, json> parameters_;
  std::map<std::string, Logical> logical_;  // by logical id, incl. implicit APIs and Fn.Alias
  std::map<std::string, std::string> alias_names_;  // function logical id → AutoPublishAlias
  std::vector<std::string> order_;                  // logical ids in template order
  std::vector<Building> built_;
  // HTTP APIs' routes by API logical id; explicit APIs' CORS settings.
  std::map<std::string, json> api_routes_;
  std::map<std::string, json> api_cors_;
  std::map<std::string, YAML::Node> api_nodes_;
  DesiredStack out_;
};

void TemplateReader::check_keys(const YAML::Node& map, const std::set<std::string>& allowed,
                                const std::string& what) const {
  for (const auto& kv : map) {
    const std::string key = kv.first.as<std::string>();
    if (!allowed.contains(key))
      fail(kv.first,
           fmt::format("{} property '{}' is not supported by runtimed deploy", what, key));
  }
}

DesiredStack TemplateReader::read() {
  try {
    root_ = YAML::Load(in_.text);
  } catch (const YAML::Exception& e) {
    throw TemplateError{fmt::format("{} line {}: {}", in_.file_label, e.mark.line + 1, e.msg)};
  }
  expect_map(root_, "A template");
  for (const auto& kv : root_) {
    const std::string key = kv.first.as<std::string>();
    static const std::set<std::string> kTop = {"AWSTemplateFormatVersion",
                                               "Transform",
                                               "Description",
                                               "Metadata",
                                               "Parameters",
                                               "Globals",
                                               "Resources",
                                               "Outputs"};
    if (!kTop.contains(key))
      fail(kv.first, fmt::format("template section '{}' is not supported by runtimed deploy", key));
  }
  if (root_["Globals"]) {
    expect_map(root_["Globals"], "Globals");
    for (const auto& kv : root_["Globals"]) {
      if (kv.first.as<std::string>() != "Function")
        fail(kv.first, "Globals." + kv.first.as<std::string>() +
                           " is not supported by runtimed deploy (only Globals.Function)");
    }
  }
  out_.stack_name = in_.stack_name;
  read_parameters();
  declare_resources();
  for (const auto& id : order_) {
    const Logical& l = logical_.at(id);
    if (l.type == kFunctionType) build_function(id, l);
    if (l.type == kLayerType) build_layer(id, l);
    if (l.type == kQueueType) build_queue(id, l);
    if (l.type == kHttpApiType) build_http_api_resource(id, l);
  }
  finish_http_apis();
  read_outputs();
  hash_all();
  return std::move(out_);
}

void TemplateReader::read_parameters() {
  std::set<std::string> used;
  if (const YAML::Node params = root_["Parameters"]) {
    expect_map(params, "Parameters");
    for (const auto& kv : params) {
      const std::string name = kv.first.as<std::string>();
      const YAML::Node p = kv.second;
      expect_map(p, "Parameter " + name);
      check_keys(p, {"Type", "Default", "AllowedValues", "Description"}, "Parameter");
      const std::string type = p["Type"] ? p["Type"].as<std::string>() : "";
      if (type != "String" && type != "Number")
        fail(p["Type"] ? p["Type"] : p,
             fmt::format("parameter {} has Type '{}': runtimed deploy supports String and Number",
                         name, type));
      std::optional<std::string> value;
      if (p["Default"]) value = p["Default"].as<std::string>();
      if (auto it = in_.parameter_overrides.find(name); it != in_.parameter_overrides.end()) {
        value = it->second;
        used.insert(name);
      }
      if (!value) fail(kv.first, "parameter " + name + " has no Default and no override");
      if (const YAML::Node allowed = p["AllowedValues"]) {
        bool ok = false;
        for (const auto& a : allowed) ok = ok || a.as<std::string>() == *value;
        if (!ok)
          fail(allowed,
               fmt::format("parameter {}: '{}' is not one of AllowedValues", name, *value));
      }
      if (type == "Number") {
        double d = 0;
        const auto [end, ec] = std::from_chars(value->data(), value->data() + value->size(), d);
        if (ec != std::errc() || end != value->data() + value->size())
          fail(kv.first, fmt::format("parameter {} is a Number; '{}' is not", name, *value));
        parameters_[name] = json::parse(*value);
      } else {
        parameters_[name] = *value;
      }
      out_.parameters[name] = *value;
    }
  }
  for (const auto& [name, value] : in_.parameter_overrides) {
    if (!used.contains(name))
      throw TemplateError{
          fmt::format("{}: --parameter-overrides names {}, which the template does "
                      "not declare",
                      in_.file_label, name)};
  }
}

void TemplateReader::declare_resources() {
  const YAML::Node resources = root_["Resources"];
  if (!resources) fail(root_, "the template has no Resources");
  expect_map(resources, "Resources");
  for (const auto& kv : resources) {
    const std::string id = kv.first.as<std::string>();
    const YAML::Node r = kv.second;
    expect_map(r, "Resource " + id);
    check_keys(r, {"Type", "Properties", "DependsOn", "Metadata"}, "Resource");
    if (!r["Type"]) fail(r, "resource " + id + " has no Type");
    const std::string type = r["Type"].as<std::string>();
    if (type != kFunctionType && type != kLayerType && type != kHttpApiType && type != kQueueType)
      fail(r["Type"], fmt::format("resource {} has type {}, which runtimed deploy does not support",
                                  id, type));
    // A physical name given as a plain string or a parameter; the default is stack-id.
    const YAML::Node props = r["Properties"];
    if (props && !props.IsMap()) fail(props, "Properties of " + id + " must be a mapping");
    const char* name_key = type == kFunctionType ? "FunctionName"
                           : type == kLayerType  ? "LayerName"
                           : type == kQueueType  ? "QueueName"
                                                 : nullptr;
    std::string physical = bounded_name(in_.stack_name + "-" + id, 64);
    if (name_key && props && props[name_key]) {
      // Resolved before other resources are known: only parameters and pseudo parameters.
      physical = require_string(props[name_key], resolve(props[name_key]), name_key);
    }
    logical_[id] = {type, physical, r};
    order_.push_back(id);
  }
  // Implicit resources SAM makes, so Refs to them resolve: APIs of events, Fn.Alias, FnUrl.
  for (const auto& id : order_) {
    const Logical l = logical_.at(id);
    if (l.type != kFunctionType) continue;
    const YAML::Node props = l.node["Properties"];
    if (!props) continue;
    if (props["FunctionUrlConfig"]) logical_[id + "Url"] = {"FunctionUrl", l.physical, {}};
    // AutoPublishAlias may come from Globals, and be a Ref to a parameter.
    const YAML::Node alias = props["AutoPublishAlias"]
                                 ? props["AutoPublishAlias"]
                                 : root_["Globals"]["Function"]["AutoPublishAlias"];
    if (alias) {
      logical_[id + ".Alias"] = {"Alias", l.physical, {}};
      alias_names_[id] = require_string(alias, resolve(alias), "AutoPublishAlias");
    }
    if (const YAML::Node events = props["Events"]; events && events.IsMap()) {
      for (const auto& ev : events) {
        const YAML::Node type = ev.second["Type"];
        if (!type) continue;
        const std::string t = type.as<std::string>();
        const bool explicit_api = ev.second["Properties"] && ev.second["Properties"]["ApiId"];
        if (t == "HttpApi" && !explicit_api && !logical_.contains(std::string(kImplicitHttpApi)))
          logical_[std::string(kImplicitHttpApi)] = {
              std::string(kHttpApiType),
              bounded_name(in_.stack_name + "-" + std::string(kImplicitHttpApi), 64),
              {}};
        if (t == "Api" && !logical_.contains(std::string(kImplicitRestApi)))
          logical_[std::string(kImplicitRestApi)] = {
              std::string(kHttpApiType),
              bounded_name(in_.stack_name + "-" + std::string(kImplicitRestApi), 64),
              {}};
      }
    }
  }
}

std::string TemplateReader::require_string(const YAML::Node& at, const json& v,
                                           const std::string& what) const {
  if (v.is_string()) return v.get<std::string>();
  if (v.is_number()) return v.dump();
  fail(at, what + " must be a string");
}

int TemplateReader::require_int(const YAML::Node& at, const json& v,
                                const std::string& what) const {
  if (v.is_number_integer()) return v.get<int>();
  if (v.is_string()) {
    const std::string s = v.get<std::string>();
    int n = 0;
    const auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), n);
    if (ec == std::errc() && end == s.data() + s.size()) return n;
  }
  fail(at, what + " must be an integer");
}

json TemplateReader::ref(const YAML::Node& at, const std::string& name) {
  if (auto it = parameters_.find(name); it != parameters_.end()) return it->second;
  if (name == "AWS::Region") return in_.region;
  if (name == "AWS::AccountId") return in_.account_id;
  if (name == "AWS::StackName") return in_.stack_name;
  if (name == "AWS::Partition") return "aws";
  auto it = logical_.find(name);
  if (it == logical_.end())
    fail(at, "Ref to " + name +
                 ": no such parameter or resource (supported pseudo parameters: "
                 "AWS::Region, AWS::AccountId, AWS::StackName, AWS::Partition)");
  const Logical& l = it->second;
  if (l.type == kFunctionType) return l.physical;
  if (l.type == kLayerType) return attribute_token(name, "Arn");
  if (l.type == kQueueType) return in_.endpoint + "/runtimed/v1/queues/" + l.physical;
  if (l.type == kHttpApiType) return attribute_token(name, "ApiId");
  if (l.type == "Alias") {
    return function_arn(l.physical) + ":" + alias_names_.at(name.substr(0, name.size() - 6));
  }
  fail(at, "Ref to " + name + " is not supported");
}

json TemplateReader::get_att(const YAML::Node& at, const std::string& resource,
                             const std::string& attribute) {
  auto it = logical_.find(resource);
  if (it == logical_.end()) fail(at, "GetAtt of " + resource + ": no such resource");
  const Logical& l = it->second;
  if (l.type == kFunctionType && attribute == "Arn") return function_arn(l.physical);
  if (l.type == kQueueType && attribute == "Arn") return queue_arn(l.physical);
  if (l.type == kQueueType && attribute == "QueueName") return l.physical;
  if (l.type == kQueueType && attribute == "QueueUrl")
    return in_.endpoint + "/runtimed/v1/queues/" + l.physical;
  if (l.type == kLayerType && attribute == "Arn") return attribute_token(resource, "Arn");
  if (l.type == kHttpApiType && (attribute == "ApiEndpoint" || attribute == "ApiId"))
    return attribute_token(resource, attribute);
  if (l.type == "FunctionUrl" && attribute == "FunctionUrl")
    return attribute_token(resource, attribute);
  fail(at, fmt::format("GetAtt {}.{} is not supported", resource, attribute));
}

json TemplateReader::sub(const YAML::Node& at, const std::string& text,
                         const std::map<std::string, json>& vars) {
  std::string out;
  size_t i = 0;
  while (i < text.size()) {
    const size_t start = text.find("${", i);
    if (start == std::string::npos) {
      out += text.substr(i);
      break;
    }
    out += text.substr(i, start - i);
    const size_t end = text.find('}', start);
    if (end == std::string::npos) fail(at, "Sub: '${' without '}'");
    const std::string name = text.substr(start + 2, end - start - 2);
    if (name.starts_with("!")) {
      out += "${" + name.substr(1) + "}";  // ${!Literal} is the text ${Literal}
    } else if (auto v = vars.find(name); v != vars.end()) {
      out += scalar_text(v->second);
    } else if (const size_t dot = name.find('.');
               dot != std::string::npos && !name.starts_with("AWS::")) {
      // "Fn.Alias" is a Ref to SAM's implicit alias; "Res.Attr" a GetAtt.
      if (logical_.contains(name))
        out += scalar_text(ref(at, name));
      else
        out += scalar_text(get_att(at, name.substr(0, dot), name.substr(dot + 1)));
    } else {
      out += scalar_text(ref(at, name));
    }
    i = end + 1;
  }
  return out;
}

json TemplateReader::resolve(const YAML::Node& node) {
  const std::string& tag = node.Tag();
  auto dotted = [&](const YAML::Node& n) -> std::pair<std::string, std::string> {
    if (n.IsScalar()) {
      const std::string s = n.as<std::string>();
      // "Fn.Alias.Arn"-like names: the attribute is after the last dot.
      const size_t dot = s.rfind('.');
      if (dot == std::string::npos) fail(n, "GetAtt needs RESOURCE.ATTRIBUTE");
      return {s.substr(0, dot), s.substr(dot + 1)};
    }
    if (n.IsSequence() && n.size() == 2)
      return {resolve(n[0]).get<std::string>(), resolve(n[1]).get<std::string>()};
    fail(n, "GetAtt needs RESOURCE.ATTRIBUTE or [RESOURCE, ATTRIBUTE]");
  };
  auto do_sub = [&](const YAML::Node& n) -> json {
    if (n.IsScalar()) return sub(n, n.as<std::string>(), {});
    if (n.IsSequence() && n.size() == 2 && n[0].IsScalar() && n[1].IsMap()) {
      std::map<std::string, json> vars;
      for (const auto& kv : n[1]) vars[kv.first.as<std::string>()] = resolve(kv.second);
      return sub(n, n[0].as<std::string>(), vars);
    }
    fail(n, "Sub needs a string or [string, {Var: value}]");
  };
  auto do_join = [&](const YAML::Node& n) -> json {
    if (!n.IsSequence() || n.size() != 2 || !n[1].IsSequence())
      fail(n, "Join needs [delimiter, [values]]");
    const std::string delimiter = n[0].as<std::string>();
    std::string out;
    bool first = true;
    for (const auto& item : n[1]) {
      if (!first) out += delimiter;
      first = false;
      out += scalar_text(resolve(item));
    }
    return out;
  };
  if (tag == "!Ref") return ref(node, node.as<std::string>());
  if (tag == "!GetAtt") {
    auto [r, a] = dotted(node);
    return get_att(node, r, a);
  }
  if (tag == "!Sub") return do_sub(node);
  if (tag == "!Join") return do_join(node);
  if (!tag.empty() && tag != "?" && tag != "!" && !tag.starts_with("tag:yaml.org"))
    fail(node, fmt::format("the intrinsic function {} is not supported by runtimed deploy (only "
                           "Ref, Fn::Sub, Fn::GetAtt, Fn::Join)",
                           tag));
  if (node.IsMap()) {
    if (node.size() == 1) {
      const std::string key = node.begin()->first.as<std::string>();
      const YAML::Node arg = node.begin()->second;
      if (key == "Ref") return ref(arg, arg.as<std::string>());
      if (key == "Fn::GetAtt") {
        auto [r, a] = dotted(arg);
        return get_att(arg, r, a);
      }
      if (key == "Fn::Sub") return do_sub(arg);
      if (key == "Fn::Join") return do_join(arg);
      if (key.starts_with("Fn::") || key == "Condition")
        fail(node.begin()->first,
             fmt::format("the intrinsic function {} is not supported by runtimed deploy (only "
                         "Ref, Fn::Sub, Fn::GetAtt, Fn::Join)",
                         key));
    }
    json out = json::object();
    for (const auto& kv : node) out[kv.first.as<std::string>()] = resolve(kv.second);
    return out;
  }
  if (node.IsSequence()) {
    json out = json::array();
    for (const auto& item : node) out.push_back(resolve(item));
    return out;
  }
  if (node.IsNull()) return nullptr;
  const std::string& s = node.Scalar();
  if (tag == "?") {
    // Plain scalars: YAML 1.2 core schema's integers and booleans.
    long long n = 0;
    const auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), n);
    if (!s.empty() && ec == std::errc() && end == s.data() + s.size()) return n;
    if (s == "true" || s == "True") return true;
    if (s == "false" || s == "False") return false;
  }
  return s;
}

// Paths, executable bits and contents of every file under `dir`, in path order.
std::string directory_hash(const std::filesystem::path& dir) {
  std::vector<std::filesystem::path> files;
  for (const auto& entry : std::filesystem::recursive_directory_iterator(dir)) {
    if (entry.is_regular_file()) files.push_back(entry.path());
  }
  std::ranges::sort(files);
  std::string material;
  for (const auto& f : files) {
    std::ifstream in(f, std::ios::binary);
    std::ostringstream bytes;
    bytes << in.rdbuf();
    const bool exec = (std::filesystem::status(f).permissions() &
                       std::filesystem::perms::owner_exec) != std::filesystem::perms::none;
    material += std::filesystem::relative(f, dir).string() + (exec ? "*" : "") + "\n" +
                api::sha256_hex(bytes.str()) + "\n";
  }
  return api::sha256_hex(material);
}

std::string TemplateReader::load_code(const YAML::Node& at, const json& uri,
                                      const std::string& what, std::string& hash) {
  if (!uri.is_string())
    fail(at, what + " must be a local directory or .zip path (S3 locations are not supported)");
  std::filesystem::path path = uri.get<std::string>();
  if (path.is_relative()) path = in_.base_dir / path;
  std::error_code ec;
  if (std::filesystem::is_directory(path, ec)) {
    auto zip = zip_directory(path);
    if (!zip) fail(at, fmt::format("{} {}: {}", what, path.string(), zip.error()));
    hash = directory_hash(path);
    return *zip;
  }
  std::ifstream file(path, std::ios::binary);
  if (!file)
    fail(at, fmt::format("{} {} is neither a directory nor a readable file", what, path.string()));
  std::ostringstream bytes;
  bytes << file.rdbuf();
  hash = api::sha256_hex(bytes.str());
  return bytes.str();
}

std::string TemplateReader::inline_code_zip(const std::string& code, const std::string& runtime) {
  // SAM names the file index.<ext> for the interpreted runtimes; others get an executable
  // bootstrap.
  std::string file = "bootstrap";
  if (runtime.starts_with("python")) file = "index.py";
  if (runtime.starts_with("nodejs")) file = "index.js";
  const std::filesystem::path dir =
      std::filesystem::temp_directory_path() /
      ("runtimed-inline-" +
       api::sha256_hex(code + runtime + std::to_string(::getpid())).substr(0, 16));
  std::filesystem::create_directories(dir);
  {
    std::ofstream out(dir / file, std::ios::binary);
    out << code;
  }
  std::filesystem::permissions(dir / file, std::filesystem::perms(0755));
  auto zip = zip_directory(dir);
  std::filesystem::remove_all(dir);
  if (!zip) throw TemplateError{"InlineCode: " + zip.error()};
  return *zip;
}

// Globals first; a function's own mappings override key by key; lists are appended (SAM's rules).
json merge_globals(const json& global, const json& own) {
  if (global.is_object() && own.is_object()) {
    json out = global;
    for (const auto& [k, v] : own.items()) out[k] = out.contains(k) ? merge_globals(out[k], v) : v;
    return out;
  }
  if (global.is_array() && own.is_array()) {
    json out = global;
    for (const auto& v : own) out.push_back(v);
    return out;
  }
  return own;
}

void TemplateReader::build_function(const std::string& id, const Logical& logical) {
  const YAML::Node props = logical.node["Properties"];
  json merged = json::object();
  if (const YAML::Node g = root_["Globals"]["Function"]) {
    expect_map(g, "Globals.Function");
    std::set<std::string> allowed = kFunctionProperties;
    for (const auto& k : kNotGlobal) allowed.erase(k);
    check_keys(g, allowed, "Globals.Function");
    merged = resolve(g);
  }
  if (props) {
    check_keys(props, kFunctionProperties, std::string(kFunctionType));
    merged = merge_globals(merged, resolve(props));
  }
  const YAML::Node at = props ? props : logical.node;
  auto node_of = [&](const char* key) {
    if (props && props[key]) return props[key];
    if (root_["Globals"]["Function"][key]) return root_["Globals"]["Function"][key];
    return at;
  };
  const std::string& name = logical.physical;
  if (!merged.contains("Runtime")) fail(at, "function " + id + " has no Runtime");
  if (!merged.contains("Handler")) fail(at, "function " + id + " has no Handler");
  const std::string runtime = require_string(node_of("Runtime"), merged["Runtime"], "Runtime");

  Building fn;
  fn.resource.key = id;
  fn.resource.kind = ResourceKind::kFunction;
  fn.resource.physical = name;
  fn.resource.function = name;
  if (merged.contains("InlineCode") && merged.contains("CodeUri"))
    fail(at, "function " + id + " has both InlineCode and CodeUri");
  std::string code_hash;
  if (merged.contains("InlineCode")) {
    const std::string code =
        require_string(node_of("InlineCode"), merged["InlineCode"], "InlineCode");
    fn.resource.code_zip = inline_code_zip(code, runtime);
    code_hash = api::sha256_hex(runtime + "\n" + code);
  } else if (merged.contains("CodeUri")) {
    fn.resource.code_zip = load_code(node_of("CodeUri"), merged["CodeUri"], "CodeUri", code_hash);
  } else {
    fail(at, "function " + id + " has neither CodeUri nor InlineCode");
  }
  // Every setting explicit, defaults included, so an update also resets what was removed.
  json config = {
      {"FunctionName", name},
      {"Runtime", runtime},
      {"Handler", require_string(node_of("Handler"), merged["Handler"], "Handler")},
      {"Role", merged.contains("Role") ? require_string(node_of("Role"), merged["Role"], "Role")
                                       : std::string(kDefaultRole)},
      {"Description", merged.value("Description", json("")).is_string()
                          ? merged.value("Description", "")
                          : merged["Description"].dump()},
      {"MemorySize", merged.contains("MemorySize")
                         ? require_int(node_of("MemorySize"), merged["MemorySize"], "MemorySize")
                         : 128},
      {"Timeout", merged.contains("Timeout")
                      ? require_int(node_of("Timeout"), merged["Timeout"], "Timeout")
                      : 3},
      {"EphemeralStorage", {{"Size", 512}}},
      {"Environment", {{"Variables", json::object()}}},
      {"Layers", json::array()},
      {"DeadLetterConfig", {{"TargetArn", ""}}},
  };
  if (merged.contains("EphemeralStorage")) {
    const json& e = merged["EphemeralStorage"];
    if (!e.is_object() || !e.contains("Size"))
      fail(node_of("EphemeralStorage"), "EphemeralStorage needs Size");
    config["EphemeralStorage"]["Size"] =
        require_int(node_of("EphemeralStorage"), e["Size"], "EphemeralStorage.Size");
  }
  if (merged.contains("Environment")) {
    const json& e = merged["Environment"];
    if (!e.is_object() || (e.size() != 1 || !e.contains("Variables")))
      fail(node_of("Environment"), "Environment takes only Variables");
    for (const auto& [k, v] : e["Variables"].items())
      config["Environment"]["Variables"][k] = scalar_text(v);
  }
  if (merged.contains("Layers")) {
    if (!merged["Layers"].is_array()) fail(node_of("Layers"), "Layers must be a list");
    for (const auto& l : merged["Layers"])
      config["Layers"].push_back(require_string(node_of("Layers"), l, "a layer"));
  }
  if (merged.contains("DeadLetterQueue")) {
    const json& d = merged["DeadLetterQueue"];
    if (!d.is_object() || d.value("Type", "") != "SQS" || !d.contains("TargetArn"))
      fail(node_of("DeadLetterQueue"),
           "DeadLetterQueue needs Type: SQS (a local queue) and TargetArn");
    config["DeadLetterConfig"]["TargetArn"] = scalar_text(d["TargetArn"]);
  }
  json tags = json::object();
  if (merged.contains("Tags")) {
    if (!merged["Tags"].is_object()) fail(node_of("Tags"), "Tags must be a mapping");
    for (const auto& [k, v] : merged["Tags"].items()) tags[k] = scalar_text(v);
  }
  fn.resource.spec = config;
  fn.resource.spec["Tags"] = tags;
  fn.parts["code"] = code_hash;
  fn.parts["configuration"] = config;
  fn.parts["tags"] = tags;
  fn.follows = referenced_keys(config);
  built_.push_back(std::move(fn));

  auto add = [&](std::string key, ResourceKind kind, std::string physical, json spec,
                 std::vector<std::string> follows = {}) {
    Building b;
    b.resource = {std::move(key), kind, std::move(physical), name, spec, {}, {}};
    b.parts["spec"] = std::move(spec);
    b.follows = std::move(follows);
    for (auto& k : referenced_keys(b.parts["spec"])) b.follows.push_back(k);
    built_.push_back(std::move(b));
  };
  if (merged.contains("ReservedConcurrentExecutions")) {
    add(id + ".ReservedConcurrency", ResourceKind::kReservedConcurrency, name,
        {{"ReservedConcurrentExecutions",
          require_int(node_of("ReservedConcurrentExecutions"),
                      merged["ReservedConcurrentExecutions"], "ReservedConcurrentExecutions")}});
  }
  if (merged.contains("EventInvokeConfig")) {
    const YAML::Node n = node_of("EventInvokeConfig");
    expect_map(n, "EventInvokeConfig");
    check_keys(n, {"MaximumEventAgeInSeconds", "MaximumRetryAttempts", "DestinationConfig"},
               "EventInvokeConfig");
    json spec = json::object();
    const json& e = merged["EventInvokeConfig"];
    if (e.contains("MaximumEventAgeInSeconds"))
      spec["MaximumEventAgeInSeconds"] =
          require_int(n, e["MaximumEventAgeInSeconds"], "MaximumEventAgeInSeconds");
    if (e.contains("MaximumRetryAttempts"))
      spec["MaximumRetryAttempts"] =
          require_int(n, e["MaximumRetryAttempts"], "MaximumRetryAttempts");
    if (e.contains("DestinationConfig")) {
      for (const char* which : {"OnSuccess", "OnFailure"}) {
        if (!e["DestinationConfig"].contains(which)) continue;
        const json& d = e["DestinationConfig"][which];
        if (!d.contains("Destination"))
          fail(n, fmt::format("EventInvokeConfig.DestinationConfig.{} needs Destination", which));
        spec["DestinationConfig"][which]["Destination"] = scalar_text(d["Destination"]);
      }
    }
    add(id + ".EventInvokeConfig", ResourceKind::kEventInvokeConfig, name, spec);
  }
  std::string target_arn = function_arn(name);
  std::string alias;
  if (merged.contains("AutoPublishAlias")) {
    alias =
        require_string(node_of("AutoPublishAlias"), merged["AutoPublishAlias"], "AutoPublishAlias");
    target_arn += ":" + alias;
    // Follows the function's code and configuration: a change publishes a new version.
    add(id + ".Alias", ResourceKind::kAlias, alias,
        {{"Name", alias}, {"FunctionVersion", attribute_token(id + ".Alias", "Version")}}, {id});
  }
  if (merged.contains("ProvisionedConcurrencyConfig")) {
    const YAML::Node n = node_of("ProvisionedConcurrencyConfig");
    if (alias.empty()) fail(n, "ProvisionedConcurrencyConfig needs AutoPublishAlias");
    const json& p = merged["ProvisionedConcurrencyConfig"];
    if (!p.is_object() || !p.contains("ProvisionedConcurrentExecutions"))
      fail(n, "ProvisionedConcurrencyConfig needs ProvisionedConcurrentExecutions");
    add(id + ".ProvisionedConcurrency", ResourceKind::kProvisionedConcurrency, alias,
        {{"ProvisionedConcurrentExecutions", require_int(n, p["ProvisionedConcurrentExecutions"],
                                                         "ProvisionedConcurrentExecutions")}});
  }
  if (merged.contains("FunctionUrlConfig")) {
    const YAML::Node n = node_of("FunctionUrlConfig");
    expect_map(n, "FunctionUrlConfig");
    check_keys(n, {"AuthType", "Cors", "InvokeMode"}, "FunctionUrlConfig");
    json spec = merged["FunctionUrlConfig"];
    if (!spec.contains("AuthType")) fail(n, "FunctionUrlConfig needs AuthType");
    // The URL is the alias's when there is one, as SAM makes it.
    add(id + "Url", ResourceKind::kFunctionUrl, alias, spec);
  }
  if (props && props["Events"]) build_events(id, name, alias, target_arn, props["Events"]);
}

void TemplateReader::build_events(const std::string& id, const std::string& name,
                                  const std::string& alias, const std::string& target_arn,
                                  const YAML::Node& events) {
  expect_map(events, "Events");
  for (const auto& kv : events) {
    const std::string event = kv.first.as<std::string>();
    const YAML::Node e = kv.second;
    expect_map(e, "Event " + event);
    check_keys(e, {"Type", "Properties"}, "Event");
    if (!e["Type"]) fail(e, "event " + event + " has no Type");
    const std::string type = e["Type"].as<std::string>();
    const YAML::Node p = e["Properties"] ? e["Properties"] : YAML::Node(YAML::NodeType::Map);
    const json props = e["Properties"] ? resolve(p) : json::object();
    const YAML::Node at = e["Properties"] ? p : e;
    const std::string key = id + ".Events." + event;
    // Routes, schedules and mappings name the alias, whose name does not change with its version:
    // they follow no other resource's hash (creation order alone puts the alias first).
    if (type == "HttpApi" || type == "Api") {
      if (type == "HttpApi")
        check_keys(p, {"Path", "Method", "ApiId", "PayloadFormatVersion", "TimeoutInMillis"},
                   "HttpApi event");
      else
        check_keys(p, {"Path", "Method"}, "Api event");
      if (props.contains("PayloadFormatVersion") &&
          scalar_text(props["PayloadFormatVersion"]) != "2.0")
        fail(at, "HttpApi events use payload format 2.0 only");
      std::string api = std::string(type == "Api" ? kImplicitRestApi : kImplicitHttpApi);
      if (props.contains("ApiId")) {
        // A Ref to an AWS::Serverless::HttpApi of this template.
        const YAML::Node api_node = p["ApiId"];
        const std::string ref = api_node.Tag() == "!Ref" ? api_node.as<std::string>()
                                : api_node.IsMap() && api_node["Ref"]
                                    ? api_node["Ref"].as<std::string>()
                                    : "";
        if (ref.empty() || !logical_.contains(ref) || logical_.at(ref).type != kHttpApiType)
          fail(api_node, "ApiId must be a Ref to an AWS::Serverless::HttpApi of this template");
        api = ref;
      }
      std::string route_key = "$default";
      if (props.contains("Path") || props.contains("Method")) {
        std::string method = props.contains("Method") ? scalar_text(props["Method"]) : "ANY";
        std::ranges::transform(method, method.begin(), ::toupper);
        if (!props.contains("Path")) fail(at, "event " + event + " has a Method but no Path");
        route_key = method + " " + scalar_text(props["Path"]);
      }
      json& routes = api_routes_[api];
      if (routes.is_null()) routes = json::array();
      for (const auto& r : routes) {
        if (r["RouteKey"] == route_key)
          fail(at, fmt::format("route {} appears twice in {}", route_key, api));
      }
      json route = {{"RouteKey", route_key}, {"FunctionArn", target_arn}};
      if (props.contains("TimeoutInMillis")) {
        const int timeout =
            require_int(p["TimeoutInMillis"], props["TimeoutInMillis"], "TimeoutInMillis");
        if (timeout < api::kMinIntegrationTimeoutMs || timeout > api::kMaxIntegrationTimeoutMs)
          fail(p["TimeoutInMillis"],
               fmt::format("TimeoutInMillis must be from {} to {} (API Gateway's limits)",
                           api::kMinIntegrationTimeoutMs, api::kMaxIntegrationTimeoutMs));
        route["TimeoutInMillis"] = timeout;
      }
      routes.push_back(std::move(route));
      continue;
    }
    if (type == "Schedule") {
      check_keys(p, {"Schedule", "Input", "Enabled", "State", "Name", "Description"},
                 "Schedule event");
      if (!props.contains("Schedule")) fail(at, "Schedule event " + event + " needs Schedule");
      json spec = {{"ScheduleExpression", scalar_text(props["Schedule"])},
                   {"ScheduleExpressionTimezone", "UTC"},
                   {"Target", {{"Arn", target_arn}}},
                   {"State", "ENABLED"}};
      if (props.contains("Input")) spec["Target"]["Input"] = scalar_text(props["Input"]);
      if (props.contains("Enabled") && props["Enabled"] == false) spec["State"] = "DISABLED";
      if (props.contains("State")) spec["State"] = scalar_text(props["State"]);
      if (props.contains("Description")) spec["Description"] = scalar_text(props["Description"]);
      const std::string schedule_name =
          props.contains("Name") ? scalar_text(props["Name"])
                                 : bounded_name(in_.stack_name + "-" + id + "-" + event, 64);
      Building b;
      b.resource = {key, ResourceKind::kSchedule, schedule_name, name, spec, {}, {}};
      b.parts["spec"] = spec;
      built_.push_back(std::move(b));
      continue;
    }
    if (type == "SQS") {
      check_keys(p,
                 {"Queue", "BatchSize", "MaximumBatchingWindowInSeconds", "Enabled",
                  "FunctionResponseTypes"},
                 "SQS event");
      if (!props.contains("Queue")) fail(at, "SQS event " + event + " needs Queue (a queue ARN)");
      const std::string queue = scalar_text(props["Queue"]);
      if (!queue.starts_with("arn:aws:sqs:"))
        fail(p["Queue"], "SQS event Queue must be a local queue's ARN (e.g. !GetAtt Queue.Arn)");
      json spec = {{"FunctionName", alias.empty() ? name : name + ":" + alias},
                   {"EventSourceArn", queue},
                   {"BatchSize", props.contains("BatchSize")
                                     ? require_int(p["BatchSize"], props["BatchSize"], "BatchSize")
                                     : 10},
                   {"Enabled", !props.contains("Enabled") || props["Enabled"] != false}};
      if (props.contains("MaximumBatchingWindowInSeconds"))
        spec["MaximumBatchingWindowInSeconds"] =
            require_int(p["MaximumBatchingWindowInSeconds"],
                        props["MaximumBatchingWindowInSeconds"], "MaximumBatchingWindowInSeconds");
      if (props.contains("FunctionResponseTypes"))
        spec["FunctionResponseTypes"] = props["FunctionResponseTypes"];
      Building b;
      b.resource = {key, ResourceKind::kEventSourceMapping, "", name, spec, {}, {}};
      b.parts["spec"] = spec;
      built_.push_back(std::move(b));
      continue;
    }
    fail(e["Type"], fmt::format("event type {} is not supported by runtimed deploy (HttpApi, Api, "
                                "Schedule, SQS are)",
                                type));
  }
}

void TemplateReader::build_layer(const std::string& id, const Logical& logical) {
  const YAML::Node props = logical.node["Properties"];
  if (!props) fail(logical.node, "layer " + id + " needs Properties.ContentUri");
  check_keys(props,
             {"LayerName", "ContentUri", "Description", "CompatibleRuntimes",
              "CompatibleArchitectures", "LicenseInfo", "RetentionPolicy"},
             std::string(kLayerType));
  const json p = resolve(props);
  if (!p.contains("ContentUri")) fail(props, "layer " + id + " needs ContentUri");
  Building b;
  b.resource.key = id;
  b.resource.kind = ResourceKind::kLayer;
  b.resource.physical = logical.physical;
  std::string code_hash;
  b.resource.code_zip = load_code(props["ContentUri"], p["ContentUri"], "ContentUri", code_hash);
  json spec = json::object();
  for (const char* k :
       {"Description", "CompatibleRuntimes", "CompatibleArchitectures", "LicenseInfo"}) {
    if (p.contains(k)) spec[k] = p[k];
  }
  b.resource.spec = spec;
  b.parts["code"] = code_hash;
  b.parts["spec"] = spec;
  built_.push_back(std::move(b));
}

void TemplateReader::build_queue(const std::string& id, const Logical& logical) {
  const YAML::Node props = logical.node["Properties"];
  json spec = json::object();
  if (props) {
    check_keys(props, {"QueueName", "VisibilityTimeout", "RedrivePolicy"}, std::string(kQueueType));
    const json p = resolve(props);
    if (p.contains("VisibilityTimeout"))
      spec["VisibilityTimeout"] =
          require_int(props["VisibilityTimeout"], p["VisibilityTimeout"], "VisibilityTimeout");
    if (p.contains("RedrivePolicy")) {
      const json& r = p["RedrivePolicy"];
      if (!r.contains("deadLetterTargetArn") || !r.contains("maxReceiveCount"))
        fail(props["RedrivePolicy"], "RedrivePolicy needs deadLetterTargetArn and maxReceiveCount");
      spec["RedrivePolicy"] = {
          {"deadLetterTargetArn", scalar_text(r["deadLetterTargetArn"])},
          {"maxReceiveCount",
           require_int(props["RedrivePolicy"], r["maxReceiveCount"], "maxReceiveCount")}};
    }
  }
  Building b;
  b.resource = {id, ResourceKind::kQueue, logical.physical, "", spec, {}, {}};
  b.parts["spec"] = spec;
  built_.push_back(std::move(b));
}

void TemplateReader::build_http_api_resource(const std::string& id, const Logical& logical) {
  const YAML::Node props = logical.node["Properties"];
  api_routes_[id] = api_routes_.contains(id) ? api_routes_[id] : json::array();
  if (!props) return;
  check_keys(props, {"CorsConfiguration", "Description"}, std::string(kHttpApiType));
  const json p = resolve(props);
  if (p.contains("CorsConfiguration")) api_cors_[id] = p["CorsConfiguration"];
}

void TemplateReader::finish_http_apis() {
  for (auto& [id, routes] : api_routes_) {
    // By key: the spec (and its hash) does not depend on the order the events were read in.
    std::sort(routes.begin(), routes.end(),
              [](const json& a, const json& b) { return a["RouteKey"] < b["RouteKey"]; });
    json spec = {{"Routes", std::move(routes)}};
    if (api_cors_.contains(id)) spec["CorsConfiguration"] = api_cors_[id];
    Building b;
    b.resource = {id, ResourceKind::kHttpApi, logical_.at(id).physical, "", spec, {}, {}};
    b.parts["spec"] = spec;
    built_.push_back(std::move(b));
  }
}

void TemplateReader::read_outputs() {
  const YAML::Node outputs = root_["Outputs"];
  if (!outputs) return;
  expect_map(outputs, "Outputs");
  for (const auto& kv : outputs) {
    expect_map(kv.second, "Output " + kv.first.as<std::string>());
    check_keys(kv.second, {"Value", "Description"}, "Output");
    if (!kv.second["Value"])
      fail(kv.second, "output " + kv.first.as<std::string>() + " has no Value");
    json o = {{"Value", scalar_text(resolve(kv.second["Value"]))}};
    if (kv.second["Description"]) o["Description"] = kv.second["Description"].as<std::string>();
    out_.outputs[kv.first.as<std::string>()] = o;
  }
}

// Hashes in creation order, each part mixed with the hashes of what it follows, so a new layer
// version changes its functions' configuration hash and a function change republishes its alias.
void TemplateReader::hash_all() {
  std::ranges::stable_sort(built_, [](const Building& a, const Building& b) {
    return a.resource.kind < b.resource.kind;
  });
  std::map<std::string, std::string> combined;  // key → hash of all its parts
  for (auto& b : built_) {
    std::string follow_text;
    for (const auto& k : b.follows) {
      if (auto it = combined.find(k); it != combined.end())
        follow_text += k + "=" + it->second + ";";
    }
    std::string all;
    for (const auto& [part, value] : b.parts) {
      // A function's tags do not follow its layers; its code and configuration do.
      const std::string material =
          value.dump() + (part == "tags" || part == "code" ? "" : follow_text);
      b.resource.hashes[part] = api::sha256_hex(material).substr(0, 32);
      if (b.resource.kind == ResourceKind::kFunction && part == "tags") continue;
      all += b.resource.hashes[part];
    }
    combined[b.resource.key] = api::sha256_hex(all).substr(0, 32);
    out_.resources.push_back(std::move(b.resource));
  }
}

}  // namespace

std::expected<DesiredStack, std::string> load_sam_template(const TemplateInput& input) {
  try {
    return TemplateReader(input).read();
  } catch (const TemplateError& e) {
    return std::unexpected(e.message);
  } catch (const YAML::Exception& e) {
    return std::unexpected(fmt::format("{} line {}: {}", input.file_label, e.mark.line + 1, e.msg));
  }
}

std::expected<std::map<std::string, std::string>, std::string> parse_parameter_overrides(
    const std::vector<std::string>& assignments) {
  std::map<std::string, std::string> out;
  for (const auto& a : assignments) {
    const size_t eq = a.find('=');
    if (eq == std::string::npos || eq == 0)
      return std::unexpected("--parameter-overrides takes Key=Value, not '" + a + "'");
    out[a.substr(0, eq)] = a.substr(eq + 1);
  }
  return out;
}

}  // namespace runtimed::deploy
