#include "api/http_event_v2.hpp"

#include <algorithm>
#include <ctime>
#include <nlohmann/json.hpp>

#include "common/base64.hpp"

namespace api {

namespace {

using nlohmann::json;

std::string lower(std::string_view s) {
  std::string out(s);
  std::ranges::transform(out, out.begin(), [](unsigned char c) { return std::tolower(c); });
  return out;
}

// "12/Mar/2020:19:03:58 +0000", as requestContext.time.
std::string clf_time(std::chrono::system_clock::time_point t) {
  const std::time_t secs = std::chrono::system_clock::to_time_t(t);
  std::tm tm{};
  gmtime_r(&secs, &tm);
  char buf[40];
  std::strftime(buf, sizeof buf, "%d/%b/%Y:%H:%M:%S +0000", &tm);
  return buf;
}

// The cookies of the request's Cookie headers, one per "name=value" pair.
json cookies_of(const HttpRequest& request) {
  json cookies = json::array();
  auto [begin, end] = request.headers.equal_range("cookie");
  for (auto it = begin; it != end; ++it) {
    std::string_view rest = it->second;
    while (!rest.empty()) {
      const size_t semi = rest.find(';');
      std::string_view one = rest.substr(0, semi);
      while (!one.empty() && one.front() == ' ') one.remove_prefix(1);
      while (!one.empty() && one.back() == ' ') one.remove_suffix(1);
      if (!one.empty()) cookies.push_back(std::string(one));
      if (semi == std::string_view::npos) break;
      rest.remove_prefix(semi + 1);
    }
  }
  return cookies;
}

}  // namespace

bool is_text_content_type(std::string_view content_type) {
  const std::string type = lower(content_type.substr(0, content_type.find(';')));
  if (type.starts_with("text/")) return true;
  for (std::string_view text :
       {"application/json", "application/javascript", "application/xml",
        "application/x-www-form-urlencoded", "application/graphql", "application/yaml",
        "application/x-yaml", "application/xhtml+xml", "application/ld+json"}) {
    if (type == text) return true;
  }
  // application/vnd.api+json, image/svg+xml and friends.
  return type.ends_with("+json") || type.ends_with("+xml");
}

std::string http_event_v2(const HttpRequest& request, const HttpEventContext& context) {
  json headers = json::object();
  for (const auto& [name, value] : request.headers) {
    const std::string key = lower(name);
    if (key == "cookie") continue;
    auto& slot = headers[key];
    slot = slot.is_null() ? value : slot.get<std::string>() + "," + value;
  }
  const json cookies = cookies_of(request);

  json event = {{"version", "2.0"},
                {"routeKey", context.route_key},
                {"rawPath", context.raw_path},
                {"rawQueryString", request.raw_query}};
  if (!cookies.empty()) event["cookies"] = cookies;
  event["headers"] = headers;
  if (!request.query.empty()) {
    json query = json::object();
    for (const auto& [name, value] : request.query) {
      auto& slot = query[name];
      slot = slot.is_null() ? value : slot.get<std::string>() + "," + value;
    }
    event["queryStringParameters"] = query;
  }
  const auto epoch_ms =
      std::chrono::duration_cast<std::chrono::milliseconds>(context.time.time_since_epoch())
          .count();
  const std::string domain_prefix = context.domain_name.substr(0, context.domain_name.find('.'));
  event["requestContext"] = {{"accountId", context.account_id},
                             {"apiId", context.api_id},
                             {"domainName", context.domain_name},
                             {"domainPrefix", domain_prefix},
                             {"http",
                              {{"method", request.method},
                               {"path", context.raw_path},
                               {"protocol", request.version == 10 ? "HTTP/1.0" : "HTTP/1.1"},
                               {"sourceIp", request.remote_address},
                               {"userAgent", request.header("user-agent")}}},
                             {"requestId", context.request_id},
                             {"routeKey", context.route_key},
                             {"stage", "$default"},
                             {"time", clf_time(context.time)},
                             {"timeEpoch", epoch_ms}};
  if (context.function_url) {
    json& request_context = event["requestContext"];
    request_context["authentication"] = nullptr;
    request_context["authorizer"] = nullptr;
    if (context.iam_caller) {
      // runtimed's keys belong to no IAM user: the key is its own principal.
      const auto& [key, account] = *context.iam_caller;
      request_context["authorizer"] = {{"iam",
                                        {{"accessKey", key},
                                         {"accountId", account},
                                         {"callerId", key},
                                         {"cognitoIdentity", nullptr},
                                         {"principalOrgId", nullptr},
                                         {"userArn", "arn:aws:iam::" + account + ":user/" + key},
                                         {"userId", key}}}};
    }
  }
  if (context.path_parameters) event["pathParameters"] = *context.path_parameters;
  const bool text = is_text_content_type(request.header("content-type", "text/plain"));
  if (!request.body.empty())
    event["body"] = text ? request.body : common::base64_encode(request.body);
  event["isBase64Encoded"] = !request.body.empty() && !text;
  // A body that is not valid UTF-8 cannot be a JSON string: send it as base64 instead.
  try {
    return event.dump();
  } catch (const json::type_error&) {
    event["body"] = common::base64_encode(request.body);
    event["isBase64Encoded"] = true;
    return event.dump(-1, ' ', false, json::error_handler_t::replace);
  }
}

std::optional<HttpResponse> http_response_v2(std::string_view function_payload) {
  const json answer = json::parse(function_payload, nullptr, false);
  if (answer.is_discarded()) return std::nullopt;
  HttpResponse response;
  if (!answer.is_object() || !answer.contains("statusCode")) {
    response.set_header("content-type", "application/json");
    response.body = answer.is_string() ? answer.get<std::string>() : std::string(function_payload);
    return response;
  }
  const json& status = answer["statusCode"];
  if (!status.is_number_integer() || status.get<int64_t>() < 100 || status.get<int64_t>() > 599)
    return std::nullopt;
  response.status = status.get<int>();
  if (answer.contains("headers") && !answer["headers"].is_null()) {
    if (!answer["headers"].is_object()) return std::nullopt;
    for (const auto& [name, value] : answer["headers"].items()) {
      if (value.is_string())
        response.set_header(name, value.get<std::string>());
      else if (value.is_number() || value.is_boolean())
        response.set_header(name, value.dump());
      else
        return std::nullopt;
    }
  }
  if (answer.contains("cookies") && !answer["cookies"].is_null()) {
    if (!answer["cookies"].is_array()) return std::nullopt;
    for (const auto& cookie : answer["cookies"]) {
      if (!cookie.is_string()) return std::nullopt;
      response.set_header("set-cookie", cookie.get<std::string>());
    }
  }
  if (answer.contains("body") && !answer["body"].is_null()) {
    const json& body = answer["body"];
    response.body = body.is_string() ? body.get<std::string>() : body.dump();
    if (answer.value("isBase64Encoded", false) == true) {
      auto decoded = common::base64_decode(response.body);
      if (!decoded) return std::nullopt;
      response.body = std::move(*decoded);
    }
  }
  return response;
}

}  // namespace api
