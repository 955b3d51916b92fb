// SQLite rows and in-memory copies of Function URLs and HTTP APIs (see http_trigger_store.hpp).
#include "runtimed/triggers/http_trigger_store.hpp"

#include <mutex>

#include "common/ids.hpp"

namespace runtimed {

namespace {

using common::StoreError;
using nlohmann::json;

json url_json(const FunctionUrlConfig& c) {
  return {{"AuthType", c.auth_type},
          {"Cors", c.cors},
          {"InvokeMode", c.invoke_mode},
          {"CreationTime", c.creation_time},
          {"LastModifiedTime", c.last_modified_time}};
}

json api_json(const HttpApi& api) {
  json routes = json::array();
  for (const auto& r : api.routes)
    routes.push_back({{"RouteKey", r.route_key},
                      {"Function", r.function},
                      {"Qualifier", r.qualifier},
                      {"FunctionArn", r.function_arn},
                      {"TimeoutInMillis", r.timeout_ms}});
  return {{"Routes", routes}, {"CorsConfiguration", api.cors}, {"CreatedDate", api.created_date}};
}

HttpApi api_from(const std::string& name, const std::string& api_id, const json& j) {
  HttpApi api{
      name, api_id, {}, {}, j.value("CorsConfiguration", json()), j.value("CreatedDate", "")};
  for (const auto& r : j.value("Routes", json::array())) {
    api.routes.push_back({r.value("RouteKey", ""), r.value("Function", ""),
                          r.value("Qualifier", ""), r.value("FunctionArn", ""),
                          r.value("TimeoutInMillis", api::kMaxIntegrationTimeoutMs)});
    api.route_keys.push_back(api.routes.back().route_key);
  }
  return api;
}

}  // namespace

std::expected<std::unique_ptr<HttpTriggerStore>, std::string> HttpTriggerStore::open(StateDb& db) {
  std::unique_ptr<HttpTriggerStore> store(new HttpTriggerStore(db));
  if (auto ok = store->load(); !ok)
    return std::unexpected("reading HTTP triggers: " + ok.error().message);
  return store;
}

std::expected<void, StoreError> HttpTriggerStore::load() {
  auto lock = db_.lock();
  auto urls = db_.prepare("SELECT function, qualifier, url_id, config FROM function_urls");
  if (!urls) return std::unexpected(urls.error());
  while (true) {
    auto row = urls->step();
    if (!row) return std::unexpected(row.error());
    if (!*row) break;
    const json j = json::parse(urls->column_text(3), nullptr, false);
    if (!j.is_object()) continue;
    FunctionUrlConfig c{urls->column_text(0),        urls->column_text(1),
                        urls->column_text(2),        j.value("AuthType", "NONE"),
                        j.value("Cors", json()),     j.value("InvokeMode", "BUFFERED"),
                        j.value("CreationTime", ""), j.value("LastModifiedTime", "")};
    url_ids_[c.url_id] = {c.function, c.qualifier};
    urls_[{c.function, c.qualifier}] = std::move(c);
  }
  auto apis = db_.prepare("SELECT name, api_id, config FROM http_apis");
  if (!apis) return std::unexpected(apis.error());
  while (true) {
    auto row = apis->step();
    if (!row) return std::unexpected(row.error());
    if (!*row) break;
    const json j = json::parse(apis->column_text(2), nullptr, false);
    if (!j.is_object()) continue;
    auto api =
        std::make_shared<const HttpApi>(api_from(apis->column_text(0), apis->column_text(1), j));
    api_ids_[api->api_id] = api->name;
    apis_[api->name] = std::move(api);
  }
  return {};
}

std::expected<void, StoreError> HttpTriggerStore::save_url(const FunctionUrlConfig& c) {
  auto lock = db_.lock();
  auto stmt = db_.prepare(
      "INSERT INTO function_urls (function, qualifier, url_id, config) VALUES (?1, ?2, ?3, ?4) "
      "ON CONFLICT (function, qualifier) DO UPDATE SET config = excluded.config");
  if (!stmt) return std::unexpected(stmt.error());
  return stmt->bind(1, c.function)
      .bind(2, c.qualifier)
      .bind(3, c.url_id)
      .bind(4, url_json(c).dump())
      .run();
}

std::expected<FunctionUrlConfig, StoreError> HttpTriggerStore::create_url(
    FunctionUrlConfig config) {
  std::unique_lock lock(mu_);
  if (urls_.contains({config.function, config.qualifier}))
    return std::unexpected(
        StoreError::already_exists(config.function, "Function URL already exists"));
  do {
    config.url_id = common::random_hex(32);
  } while (url_ids_.contains(config.url_id));
  if (auto ok = save_url(config); !ok) return std::unexpected(ok.error());
  url_ids_[config.url_id] = {config.function, config.qualifier};
  urls_[{config.function, config.qualifier}] = config;
  return config;
}

std::expected<FunctionUrlConfig, StoreError> HttpTriggerStore::update_url(
    const FunctionUrlConfig& config) {
  std::unique_lock lock(mu_);
  auto it = urls_.find({config.function, config.qualifier});
  if (it == urls_.end())
    return std::unexpected(StoreError::not_found(config.function, "Function URL not found"));
  FunctionUrlConfig updated = config;
  updated.url_id = it->second.url_id;
  updated.creation_time = it->second.creation_time;
  if (auto ok = save_url(updated); !ok) return std::unexpected(ok.error());
  it->second = updated;
  return updated;
}

std::optional<FunctionUrlConfig> HttpTriggerStore::url(const std::string& function,
                                                       const std::string& qualifier) {
  std::shared_lock lock(mu_);
  auto it = urls_.find({function, qualifier});
  if (it == urls_.end()) return std::nullopt;
  return it->second;
}

std::optional<FunctionUrlConfig> HttpTriggerStore::url_by_id(const std::string& url_id) {
  std::shared_lock lock(mu_);
  auto id = url_ids_.find(url_id);
  if (id == url_ids_.end()) return std::nullopt;
  return urls_.at(id->second);
}

std::vector<FunctionUrlConfig> HttpTriggerStore::urls_of(const std::string& function) {
  std::shared_lock lock(mu_);
  std::vector<FunctionUrlConfig> out;
  for (auto it = urls_.lower_bound({function, ""});
       it != urls_.end() && it->first.first == function; ++it)
    out.push_back(it->second);
  return out;
}

std::expected<bool, StoreError> HttpTriggerStore::remove_url(const std::string& function,
                                                             const std::string& qualifier) {
  std::unique_lock lock(mu_);
  auto it = urls_.find({function, qualifier});
  if (it == urls_.end()) return false;
  {
    auto db_lock = db_.lock();
    auto stmt = db_.prepare("DELETE FROM function_urls WHERE function = ?1 AND qualifier = ?2");
    if (!stmt) return std::unexpected(stmt.error());
    if (auto ok = stmt->bind(1, function).bind(2, qualifier).run(); !ok)
      return std::unexpected(ok.error());
  }
  url_ids_.erase(it->second.url_id);
  urls_.erase(it);
  return true;
}

std::expected<std::shared_ptr<const HttpApi>, StoreError> HttpTriggerStore::put_api(HttpApi api) {
  std::unique_lock lock(mu_);
  if (auto old = apis_.find(api.name); old != apis_.end()) {
    api.api_id = old->second->api_id;
    api.created_date = old->second->created_date;
  } else {
    do {
      api.api_id = common::random_hex(10);
    } while (api_ids_.contains(api.api_id));
  }
  api.route_keys.clear();
  for (const auto& r : api.routes) api.route_keys.push_back(r.route_key);
  {
    auto db_lock = db_.lock();
    auto stmt = db_.prepare(
        "INSERT INTO http_apis (name, api_id, config) VALUES (?1, ?2, ?3) "
        "ON CONFLICT (name) DO UPDATE SET config = excluded.config");
    if (!stmt) return std::unexpected(stmt.error());
    if (auto ok = stmt->bind(1, api.name).bind(2, api.api_id).bind(3, api_json(api).dump()).run();
        !ok)
      return std::unexpected(ok.error());
  }
  auto shared = std::make_shared<const HttpApi>(std::move(api));
  api_ids_[shared->api_id] = shared->name;
  apis_[shared->name] = shared;
  return shared;
}

std::shared_ptr<const HttpApi> HttpTriggerStore::api(const std::string& name) {
  std::shared_lock lock(mu_);
  auto it = apis_.find(name);
  return it == apis_.end() ? nullptr : it->second;
}

std::shared_ptr<const HttpApi> HttpTriggerStore::api_by_id(const std::string& api_id) {
  std::shared_lock lock(mu_);
  auto id = api_ids_.find(api_id);
  return id == api_ids_.end() ? nullptr : apis_.at(id->second);
}

std::vector<std::shared_ptr<const HttpApi>> HttpTriggerStore::apis() {
  std::shared_lock lock(mu_);
  std::vector<std::shared_ptr<const HttpApi>> out;
  out.reserve(apis_.size());
  for (const auto& [name, api] : apis_) out.push_back(api);
  return out;
}

std::expected<bool, StoreError> HttpTriggerStore::remove_api(const std::string& name) {
  std::unique_lock lock(mu_);
  auto it = apis_.find(name);
  if (it == apis_.end()) return false;
  {
    auto db_lock = db_.lock();
    auto stmt = db_.prepare("DELETE FROM http_apis WHERE name = ?1");
    if (!stmt) return std::unexpected(stmt.error());
    if (auto ok = stmt->bind(1, name).run(); !ok) return std::unexpected(ok.error());
  }
  api_ids_.erase(it->second->api_id);
  apis_.erase(it);
  return true;
}

}  // namespace runtimed
