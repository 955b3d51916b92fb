#include "runtimed/store/function_store.hpp"

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <chrono>
#include <nlohmann/json.hpp>
#include <set>

#include "common/ids.hpp"
#include "common/module_logger.hpp"

namespace runtimed {

using common::FunctionConfig;
using common::StoreError;
using common::StoreErrorKind;
using nlohmann::json;

namespace {

std::shared_ptr<spdlog::logger> logger() {
  static const auto log = common::module_logger("function_store");
  return log;
}

// Lambda's limit of tags per resource (the API checks it too; a merge can still cross it).
constexpr size_t kMaxTags = 50;

constexpr std::string_view kStaleRevision =
    "The Revision Id provided does not match the latest Revision Id. Call the "
    "GetFunction/GetAlias API to retrieve the latest Revision Id";

// The storage format (not the API's): stable snake_case keys.
json to_row(const FunctionConfig& c) {
  json j = {
      {"name", c.name},
      {"runtime", c.runtime},
      {"handler", c.handler},
      {"role", c.role},
      {"description", c.description},
      {"memory_mb", c.memory_mb},
      {"timeout_s", c.timeout_s},
      {"environment", c.environment},
      {"ephemeral_storage_mb", c.ephemeral_storage_mb},
      {"code_sha256", c.code_sha256},
      {"code_size", c.code_size},
      {"code_dir_key", c.code_dir_key},
      {"last_modified", c.last_modified},
      {"revision_id", c.revision_id},
      {"version", c.version},
  };
  if (c.dead_letter_target_arn) j["dead_letter_target_arn"] = *c.dead_letter_target_arn;
  if (!c.tags.empty()) j["tags"] = c.tags;
  if (!c.layers.empty()) {
    json layers = json::array();
    for (const auto& l : c.layers)
      layers.push_back({{"arn", l.arn},
                        {"name", l.name},
                        {"version", l.version},
                        {"code_dir_key", l.code_dir_key},
                        {"code_size", l.code_size}});
    j["layers"] = std::move(layers);
  }
  return j;
}

FunctionConfig from_row(const json& j) {
  FunctionConfig c;
  c.name = j.at("name").get<std::string>();
  c.runtime = j.at("runtime").get<std::string>();
  c.handler = j.value("handler", "");
  c.role = j.value("role", "");
  c.description = j.value("description", "");
  c.memory_mb = j.value("memory_mb", common::kDefaultMemoryMb);
  c.timeout_s = j.value("timeout_s", common::kDefaultTimeoutS);
  c.environment = j.value("environment", std::map<std::string, std::string>{});
  c.ephemeral_storage_mb = j.value("ephemeral_storage_mb", common::kDefaultEphemeralStorageMb);
  c.code_sha256 = j.value("code_sha256", "");
  c.code_size = j.value("code_size", int64_t{0});
  c.code_dir_key = j.value("code_dir_key", "");
  c.last_modified = j.value("last_modified", "");
  c.revision_id = j.value("revision_id", "");
  c.version = j.value("version", "$LATEST");
  if (auto it = j.find("dead_letter_target_arn"); it != j.end() && it->is_string())
    c.dead_letter_target_arn = it->get<std::string>();
  c.tags = j.value("tags", std::map<std::string, std::string>{});
  if (auto it = j.find("layers"); it != j.end() && it->is_array()) {
    for (const auto& l : *it)
      c.layers.push_back({l.value("arn", ""), l.value("name", ""), l.value("version", int64_t{0}),
                          l.value("code_dir_key", ""), l.value("code_size", int64_t{0})});
  }
  return c;
}

json alias_row(const api::AliasConfig& a) {
  json j = {{"description", a.description},
            {"function_version", a.routing.function_version},
            {"revision_id", a.revision_id}};
  if (a.routing.additional_version) {
    j["additional_version"] = *a.routing.additional_version;
    j["additional_weight"] = a.routing.additional_weight;
  }
  return j;
}

api::AliasConfig alias_from_row(const std::string& function, const std::string& name,
                                const json& j) {
  api::AliasConfig a{.function_name = function, .name = name};
  a.description = j.value("description", "");
  a.routing.function_version = j.value("function_version", "$LATEST");
  if (auto it = j.find("additional_version"); it != j.end() && it->is_string()) {
    a.routing.additional_version = it->get<std::string>();
    a.routing.additional_weight = j.value("additional_weight", 0.0);
  }
  a.revision_id = j.value("revision_id", "");
  return a;
}

StoreError alias_not_found(const std::string& function, const std::string& alias) {
  const std::string qualified = function + ":" + alias;
  return StoreError::not_found(qualified, "Alias not found: " + qualified);
}

json layer_row(const api::LayerVersion& l) {
  return {{"description", l.description},
          {"compatible_runtimes", l.compatible_runtimes},
          {"compatible_architectures", l.compatible_architectures},
          {"license_info", l.license_info},
          {"created_date", l.created_date},
          {"code_sha256", l.code_sha256},
          {"code_size", l.code_size}};
}

api::LayerVersion layer_from_row(const std::string& name, int64_t version,
                                 const std::string& code_dir_key, const json& j) {
  api::LayerVersion l{.layer_name = name, .version = version};
  l.description = j.value("description", "");
  l.compatible_runtimes = j.value("compatible_runtimes", std::vector<std::string>{});
  l.compatible_architectures = j.value("compatible_architectures", std::vector<std::string>{});
  l.license_info = j.value("license_info", "");
  l.created_date = j.value("created_date", "");
  l.code_sha256 = j.value("code_sha256", "");
  l.code_size = j.value("code_size", int64_t{0});
  l.code_dir_key = code_dir_key;
  return l;
}

bool lists_runtime(const api::LayerVersion& l, const std::optional<std::string>& runtime) {
  return !runtime || std::find(l.compatible_runtimes.begin(), l.compatible_runtimes.end(),
                               *runtime) != l.compatible_runtimes.end();
}

// Bytes of the regular files under `dir` (the unzipped size of code or a layer).
uint64_t directory_bytes(const std::filesystem::path& dir) {
  uint64_t total = 0;
  std::error_code ec;
  for (auto it = std::filesystem::recursive_directory_iterator(dir, ec);
       !ec && it != std::filesystem::recursive_directory_iterator(); it.increment(ec)) {
    if (it->is_regular_file(ec) && !it->is_symlink(ec)) total += it->file_size(ec);
  }
  return total;
}

// A database failure, logged with SQLite's message; the caller sees only that it failed.
StoreError db_error(const std::string& what, const StoreError& error) {
  logger()->error("{}: {}", what, error.message);
  return StoreError::internal("Internal error while accessing the function database");
}

StoreError from_code_error(const CodeError& e) {
  switch (e.kind) {
    case CodeErrorKind::ZipTooLarge:
      return StoreError::too_large(e.message);
    case CodeErrorKind::UnzippedTooLarge:
    case CodeErrorKind::NotAZip:
    case CodeErrorKind::UnsafeEntry:
    case CodeErrorKind::TooManyEntries:
    case CodeErrorKind::NameTooLong:
      return StoreError::invalid_value(e.message);
    case CodeErrorKind::StoreFull:
      return StoreError::storage_full(e.message);
    case CodeErrorKind::Io:
      break;
  }
  logger()->error("storing code: {}", e.message);
  return StoreError::internal("Internal error while storing the function code");
}

StoreError not_found(const std::string& name) {
  return StoreError::not_found(name, "Function not found: " + name);
}

// A version number as stored, or nullopt for anything but 1-18 decimal digits.
std::optional<int64_t> version_number(const std::string& version) {
  if (version.empty() || version.size() > 18) return std::nullopt;
  for (char c : version)
    if (c < '0' || c > '9') return std::nullopt;
  return std::stoll(version);
}

// Stamps a change: a new RevisionId and LastModified.
void touch(FunctionConfig& c) {
  c.revision_id = common::new_request_id();
  c.last_modified = common::lambda_timestamp(std::chrono::system_clock::now());
}

std::expected<void, StoreError> check_revision(const FunctionConfig& c,
                                               const std::optional<std::string>& expected) {
  if (expected && *expected != c.revision_id)
    return std::unexpected(StoreError::revision_mismatch(c.name, std::string(kStaleRevision)));
  return {};
}

}  // namespace

std::expected<std::unique_ptr<FunctionStore>, std::string> FunctionStore::open(
    const std::filesystem::path& state_dir, CodeLimits limits) {
  auto db = StateDb::open(state_dir);
  if (!db) return std::unexpected(db.error());
  auto code = std::make_unique<CodeStore>(state_dir / "code", limits);
  return std::make_unique<FunctionStore>(std::move(*db), std::move(code));
}

FunctionStore::FunctionStore(std::unique_ptr<StateDb> db, std::unique_ptr<CodeStore> code)
    : db_(std::move(db)), code_(std::move(code)) {
  load_aliases();
}

FunctionStore::FunctionStore(std::unique_ptr<StateDb> db, std::unique_ptr<CodeStore> code,
                             SharedCode& shared_code)
    : db_(std::move(db)), code_(std::move(code)), shared_code_(&shared_code) {
  load_aliases();
}

std::expected<void, StoreError> FunctionStore::ensure_local_code(const std::string& key) {
  if (!shared_code_ || key.empty()) return {};
  std::error_code ec;
  if (std::filesystem::exists(code_->dir(key), ec)) return {};
  auto zip = shared_code_->download(key);
  if (!zip) return std::unexpected(db_error("fetch code " + key, zip.error()));
  auto stored = code_->put(*zip);
  if (!stored) return std::unexpected(from_code_error(stored.error()));
  if (stored->key != key)
    return std::unexpected(
        db_error("fetch code " + key, StoreError::internal("the zip's SHA-256 is " + stored->key)));
  logger()->info("fetched code {} ({} bytes) from the cluster database", key, zip->size());
  return {};
}

std::expected<void, StoreError> FunctionStore::ensure_local_code(const FunctionConfig& config) {
  if (auto ok = ensure_local_code(config.code_dir_key); !ok) return ok;
  for (const auto& layer : config.layers)
    if (auto ok = ensure_local_code(layer.code_dir_key); !ok) return ok;
  return {};
}

void FunctionStore::changed_elsewhere(const std::string& table, const json& row) {
  const std::string name = row.value("name", "");
  if (name.empty()) return;
  if (table == "functions") {
    {
      std::unique_lock cached(cache_mutex_);
      cache_.erase(name);
    }
    notify(name);
  } else if (table == "function_versions") {
    if (auto v = row.find("version"); v != row.end() && v->is_number_integer())
      notify(api::pool_key(name, std::to_string(v->get<int64_t>())));
  } else if (table == "function_aliases") {
    {
      std::lock_guard change(change_mutex_);
      load_aliases(name);
    }
    if (on_aliases_changed) on_aliases_changed(name);
  } else if (table == "function_concurrency") {
    if (on_reserved_changed_elsewhere) on_reserved_changed_elsewhere(name);
  } else if (table == "provisioned_concurrency") {
    if (on_provisioned_changed_elsewhere)
      on_provisioned_changed_elsewhere(name, row.value("qualifier", ""));
  }
}

void FunctionStore::resync() {
  std::vector<std::string> names;
  {
    std::lock_guard change(change_mutex_);
    {
      std::unique_lock cached(cache_mutex_);
      for (const auto& [name, config] : cache_) names.push_back(name);
      cache_.clear();
    }
    load_aliases();
  }
  for (const auto& name : names) {
    notify(name);
    if (on_aliases_changed) on_aliases_changed(name);
  }
}

std::filesystem::path FunctionStore::code_dir(const FunctionConfig& config) const {
  return code_->dir(config.code_dir_key);
}

std::expected<FunctionConfig, StoreError> FunctionStore::read_config(const std::string& name) {
  auto lock = db_->lock();
  auto stmt = db_->prepare("SELECT config FROM functions WHERE name = ?1");
  if (!stmt) return std::unexpected(db_error("select function", stmt.error()));
  stmt->bind(1, name);
  auto row = stmt->step();
  if (!row) return std::unexpected(db_error("select function", row.error()));
  if (!*row) return std::unexpected(not_found(name));
  return from_row(json::parse(stmt->column_text(0)));
}

std::expected<FunctionConfig, StoreError> FunctionStore::load(const std::string& name) {
  {
    std::shared_lock cached(cache_mutex_);
    if (auto it = cache_.find(name); it != cache_.end()) return it->second;
  }
  auto config = read_config(name);
  if (!config) return config;
  if (auto ok = ensure_local_code(*config); !ok) return std::unexpected(ok.error());
  std::unique_lock cached(cache_mutex_);
  cache_[name] = *config;
  return config;
}

std::expected<bool, StoreError> FunctionStore::save(const FunctionConfig& config,
                                                    const std::optional<std::string>& replacing) {
  auto lock = db_->lock();
  // A new function is inserted only if no node made one of that name meanwhile; a change is
  // written only over the revision it was made from, so no node overwrites another's change
  // (or brings back a function another deleted) from a cache that lagged.
  auto stmt = db_->prepare(
      replacing ? "UPDATE functions SET config = ?2, code_dir_key = ?3, revision_id = ?4 "
                  "WHERE name = ?1 AND revision_id = ?5 RETURNING name"
                : "INSERT INTO functions (name, config, code_dir_key, revision_id) "
                  "VALUES (?1, ?2, ?3, ?4) ON CONFLICT (name) DO NOTHING RETURNING name");
  if (!stmt) return std::unexpected(db_error("save function", stmt.error()));
  stmt->bind(1, config.name)
      .bind(2, to_row(config).dump())
      .bind(3, config.code_dir_key)
      .bind(4, config.revision_id);
  if (replacing) stmt->bind(5, *replacing);
  auto row = stmt->step();
  if (!row) return std::unexpected(db_error("save function", row.error()));
  if (!*row) return false;
  if (auto done = stmt->run(); !done)
    return std::unexpected(db_error("save function", done.error()));
  std::unique_lock cached(cache_mutex_);
  cache_[config.name] = config;
  return true;
}

void FunctionStore::forget_cached(const std::string& name) {
  std::unique_lock cached(cache_mutex_);
  cache_.erase(name);
}

std::expected<FunctionConfig, StoreError> FunctionStore::store_code(FunctionConfig config,
                                                                    std::string_view zip) {
  auto stored = code_->put(zip);
  if (!stored) return std::unexpected(from_code_error(stored.error()));
  if (shared_code_)
    if (auto up = shared_code_->upload(stored->key, zip); !up)
      return std::unexpected(db_error("upload code", up.error()));
  config.code_sha256 = stored->sha256_base64;
  config.code_size = static_cast<int64_t>(stored->zip_size);
  config.code_dir_key = stored->key;
  return config;
}

std::shared_ptr<void> FunctionStore::hold_code(const FunctionConfig& config) {
  std::vector<std::string> keys{config.code_dir_key};
  for (const auto& layer : config.layers) keys.push_back(layer.code_dir_key);
  {
    std::lock_guard holds(holds_mutex_);
    for (const auto& key : keys) ++code_holds_[key];
  }
  return std::shared_ptr<void>(nullptr, [this, keys](void*) {
    for (const auto& key : keys) release_code(key);
  });
}

void FunctionStore::release_code(const std::string& key) {
  {
    std::lock_guard holds(holds_mutex_);
    if (--code_holds_[key] > 0) return;
    code_holds_.erase(key);
  }
  std::lock_guard change(change_mutex_);
  collect_garbage();
}

void FunctionStore::collect_garbage() {
  std::set<std::string> referenced;
  {
    std::lock_guard holds(holds_mutex_);
    for (const auto& [key, count] : code_holds_) referenced.insert(key);
  }
  {
    auto lock = db_->lock();
    // Code of functions and versions, layer versions, and the layers functions and versions use
    // (which stay after their layer version is deleted).
    auto stmt = db_->prepare(
        db_->dialect() == SqlDialect::Sqlite
            ? "SELECT code_dir_key FROM functions UNION SELECT code_dir_key FROM function_versions "
              "UNION SELECT code_dir_key FROM layer_versions "
              "UNION SELECT l.value ->> '$.code_dir_key' FROM functions f, json_each(f.config, "
              "'$.layers') l UNION SELECT l.value ->> '$.code_dir_key' FROM function_versions v, "
              "json_each(v.config, '$.layers') l"
            : "SELECT code_dir_key FROM functions UNION SELECT code_dir_key FROM function_versions "
              "UNION SELECT code_dir_key FROM layer_versions "
              "UNION SELECT l ->> 'code_dir_key' FROM functions f, "
              "json_array_elements(coalesce(f.config::json -> 'layers', '[]')) l "
              "UNION SELECT l ->> 'code_dir_key' FROM function_versions v, "
              "json_array_elements(coalesce(v.config::json -> 'layers', '[]')) l");
    if (!stmt) return (void)db_error("list code keys", stmt.error());
    while (true) {
      auto row = stmt->step();
      if (!row) return (void)db_error("list code keys", row.error());
      if (!*row) break;
      referenced.insert(stmt->column_text(0));
    }
  }
  code_->collect_garbage(referenced);
  if (shared_code_) shared_code_->collect_garbage(referenced);
}

void FunctionStore::notify(const std::string& name) {
  if (on_changed) on_changed(name);
}

std::expected<FunctionConfig, StoreError> FunctionStore::create(
    api::CreateFunctionRequest request) {
  const std::string name = request.config.name;
  auto created = [&]() -> std::expected<FunctionConfig, StoreError> {
    std::lock_guard change(change_mutex_);
    if (auto existing = load(name); existing)
      return std::unexpected(StoreError::already_exists(name, "Function already exist: " + name));
    else if (existing.error().kind != StoreErrorKind::NotFound)
      return std::unexpected(existing.error());

    auto config = store_code(std::move(request.config), request.zip);
    if (!config) return config;
    if (auto ok = resolve_layers(*config); !ok) {
      collect_garbage();
      return std::unexpected(ok.error());
    }
    config->version = "$LATEST";
    touch(*config);
    auto saved = save(*config, std::nullopt);
    if (!saved || !*saved) {
      collect_garbage();
      if (!saved) return std::unexpected(saved.error());
      forget_cached(name);  // made on another node meanwhile
      return std::unexpected(StoreError::already_exists(name, "Function already exist: " + name));
    }
    return config;
  }();
  // Outside the change lock: a listener may read the store (the controller loads it ahead).
  if (created) notify(name);
  return created;
}

std::expected<FunctionConfig, StoreError> FunctionStore::get(const std::string& name) {
  {
    std::shared_lock cached(cache_mutex_);
    if (auto it = cache_.find(name); it != cache_.end()) return it->second;
  }
  // Cluster mode: code this node lacks is fetched before the change lock is taken, so a first
  // invoke's download (up to 50 MB) holds up no change on this node.
  if (shared_code_)
    if (auto peek = read_config(name); peek)
      if (auto ok = ensure_local_code(*peek); !ok) return std::unexpected(ok.error());
  std::lock_guard change(change_mutex_);  // a miss fills the cache only between changes
  return load(name);
}

std::expected<api::FunctionPage, StoreError> FunctionStore::list(
    const std::optional<std::string>& marker, int max_items) {
  auto lock = db_->lock();
  // One extra row tells whether another page follows.
  auto stmt =
      db_->prepare("SELECT name, config FROM functions WHERE name > ?1 ORDER BY name LIMIT ?2");
  if (!stmt) return std::unexpected(db_error("list functions", stmt.error()));
  stmt->bind(1, marker.value_or("")).bind(2, int64_t{max_items} + 1);
  api::FunctionPage page;
  while (true) {
    auto row = stmt->step();
    if (!row) return std::unexpected(db_error("list functions", row.error()));
    if (!*row) break;
    if (static_cast<int>(page.functions.size()) == max_items) {
      page.next_marker = page.functions.back().name;
      break;
    }
    page.functions.push_back(from_row(json::parse(stmt->column_text(1))));
  }
  return page;
}

std::expected<FunctionConfig, StoreError> FunctionStore::change(
    const std::string& name, const std::optional<std::string>& expected_revision_id,
    const std::function<std::expected<void, StoreError>(FunctionConfig&)>& mutate, Stamp stamp) {
  std::expected<FunctionConfig, StoreError> config;
  {
    std::lock_guard change(change_mutex_);
    // Twice at most: a first save refused because another node changed the function since this
    // node cached it is made again over the function as it is now.
    for (int attempt = 0;; ++attempt) {
      config = load(name);
      if (!config) return config;
      if (auto ok = check_revision(*config, expected_revision_id); !ok)
        return std::unexpected(ok.error());
      const std::string replacing = config->revision_id;
      if (auto ok = mutate(*config); !ok) return std::unexpected(ok.error());
      if (stamp == Stamp::NewRevision) touch(*config);
      auto saved = save(*config, replacing);
      if (saved && !*saved && attempt == 0) {
        forget_cached(name);
        continue;
      }
      collect_garbage();  // the previous code, if it changed and no other function shares it
      if (!saved) return std::unexpected(saved.error());
      if (!*saved)
        return std::unexpected(StoreError::revision_mismatch(name, std::string(kStaleRevision)));
      break;
    }
  }
  notify(name);
  return config;
}

std::expected<FunctionConfig, StoreError> FunctionStore::update_code(
    const std::string& name, std::string zip,
    const std::optional<std::string>& expected_revision_id) {
  return change(name, expected_revision_id,
                [&](FunctionConfig& c) -> std::expected<void, StoreError> {
                  auto stored = store_code(std::move(c), zip);
                  if (!stored) return std::unexpected(stored.error());
                  c = std::move(*stored);
                  return {};
                });
}

std::expected<FunctionConfig, StoreError> FunctionStore::update_configuration(
    const std::string& name, const api::ConfigurationPatch& patch,
    const std::optional<std::string>& expected_revision_id) {
  return change(name, expected_revision_id,
                [&](FunctionConfig& c) -> std::expected<void, StoreError> {
                  patch.apply_to(c);
                  if (patch.layers) return resolve_layers(c);
                  return {};
                });
}

std::expected<FunctionConfig, StoreError> FunctionStore::update_tags(
    const std::string& name, const std::map<std::string, std::string>& set,
    const std::vector<std::string>& remove) {
  return change(
      name, std::nullopt,
      [&](FunctionConfig& c) -> std::expected<void, StoreError> {
        for (const auto& key : remove) c.tags.erase(key);
        for (const auto& [key, value] : set) c.tags[key] = value;
        if (c.tags.size() > kMaxTags)
          return std::unexpected(StoreError::invalid_value(
              fmt::format("A function can have at most {} tags; this request would leave it "
                          "with {}",
                          kMaxTags, c.tags.size())));
        return {};
      },
      Stamp::Keep);
}

std::expected<void, StoreError> FunctionStore::remove(const std::string& name) {
  std::vector<std::string> gone{name};  // the pools of $LATEST and of each version
  {
    std::lock_guard change(change_mutex_);
    {
      auto lock = db_->lock();
      auto stmt = db_->prepare("DELETE FROM functions WHERE name = ?1 RETURNING name");
      if (!stmt) return std::unexpected(db_error("delete function", stmt.error()));
      stmt->bind(1, name);
      auto row = stmt->step();
      if (!row) return std::unexpected(db_error("delete function", row.error()));
      if (!*row) return std::unexpected(not_found(name));
      if (auto done = stmt->run(); !done)
        return std::unexpected(db_error("delete function", done.error()));
      auto versions = db_->prepare("SELECT version FROM function_versions WHERE name = ?1");
      if (!versions) return std::unexpected(db_error("delete function", versions.error()));
      versions->bind(1, name);
      while (true) {
        auto version = versions->step();
        if (!version) return std::unexpected(db_error("delete function", version.error()));
        if (!*version) break;
        gone.push_back(api::pool_key(name, std::to_string(versions->column_int64(0))));
      }
      {
        std::unique_lock cached(cache_mutex_);
        cache_.erase(name);
        std::erase_if(aliases_, [&](const auto& entry) { return entry.first.first == name; });
      }
      // The function's versions, aliases, settings and pending async events go with it, as in
      // Lambda.
      for (const char* sql :
           {"DELETE FROM function_versions WHERE name = ?1",
            "DELETE FROM function_aliases WHERE name = ?1",
            "DELETE FROM function_concurrency WHERE name = ?1",
            "DELETE FROM provisioned_concurrency WHERE name = ?1",
            "DELETE FROM event_invoke_configs WHERE name = ?1",
            "DELETE FROM async_events WHERE function = ?1 AND state = 'queued'"}) {
        auto settings = db_->prepare(sql);
        if (!settings) return std::unexpected(db_error("delete function", settings.error()));
        if (auto done = settings->bind(1, name).run(); !done)
          return std::unexpected(db_error("delete function", done.error()));
      }
    }
    collect_garbage();
  }
  logger()->info("deleted function {}", name);
  for (const auto& key : gone) notify(key);
  return {};
}

std::expected<FunctionConfig, StoreError> FunctionStore::publish_version(
    const std::string& name, const std::optional<std::string>& expected_sha256,
    const std::optional<std::string>& expected_revision_id,
    const std::optional<std::string>& description) {
  std::lock_guard change(change_mutex_);
  // Twice at most, as change(): a publish refused because another node published or changed the
  // function since this node read it is made once more over the function as it is now.
  for (int attempt = 0;; ++attempt) {
    auto published = publish_version_once(name, expected_sha256, expected_revision_id, description);
    if (published || published.error().kind != StoreErrorKind::Conflict || attempt == 1)
      return published;
    forget_cached(name);
  }
}

std::expected<FunctionConfig, StoreError> FunctionStore::publish_version_once(
    const std::string& name, const std::optional<std::string>& expected_sha256,
    const std::optional<std::string>& expected_revision_id,
    const std::optional<std::string>& description) {
  auto latest = load(name);
  if (!latest) return latest;
  if (auto ok = check_revision(*latest, expected_revision_id); !ok)
    return std::unexpected(ok.error());
  if (expected_sha256 && *expected_sha256 != latest->code_sha256)
    return std::unexpected(StoreError::invalid_value(
        fmt::format("CodeSHA256 ({}) is different from current CodeSHA256 in $LATEST ({}). "
                    "Please try again with the current CodeSHA256.",
                    *expected_sha256, latest->code_sha256)));
  auto lock = db_->lock();
  // Unchanged since the last publish: that version, not a new one. A snapshot keeps the
  // RevisionId of the $LATEST it was taken from under "published_from".
  int64_t last = 0;
  {
    auto stmt = db_->prepare(
        "SELECT f.last_version, v.config FROM functions f LEFT JOIN function_versions v "
        "ON v.name = f.name AND v.version = f.last_version WHERE f.name = ?1");
    if (!stmt) return std::unexpected(db_error("publish version", stmt.error()));
    stmt->bind(1, name);
    auto row = stmt->step();
    if (!row) return std::unexpected(db_error("publish version", row.error()));
    if (!*row) return std::unexpected(not_found(name));
    last = stmt->column_int64(0);
    if (!stmt->column_is_null(1)) {
      const json previous = json::parse(stmt->column_text(1));
      if (previous.value("published_from", "") == latest->revision_id &&
          (!description || *description == previous.value("description", "")))
        return from_row(previous);
    }
  }
  FunctionConfig version = *latest;
  version.version = std::to_string(last + 1);
  if (description) version.description = *description;
  touch(version);
  version.last_modified = latest->last_modified;  // Lambda keeps $LATEST's LastModified
  json row = to_row(version);
  row["published_from"] = latest->revision_id;
  auto tx = Transaction::begin(*db_);
  if (!tx) return std::unexpected(db_error("publish version", tx.error()));
  // The number is taken only if no node took it meanwhile, and only from the $LATEST this
  // snapshot was made of (another node's change since is published by the next attempt).
  auto bump = db_->prepare(
      "UPDATE functions SET last_version = ?2 WHERE name = ?1 AND last_version = ?3 AND "
      "revision_id = ?4 RETURNING name");
  if (!bump) return std::unexpected(db_error("publish version", bump.error()));
  bump->bind(1, name).bind(2, last + 1).bind(3, last).bind(4, latest->revision_id);
  auto bumped = bump->step();
  if (!bumped) return std::unexpected(db_error("publish version", bumped.error()));
  if (!*bumped)
    return std::unexpected(StoreError::conflict(
        name, "The function " + name +
                  " was changed or published by another request while this version was being "
                  "published. Try again."));
  if (auto ok = bump->run(); !ok) return std::unexpected(db_error("publish version", ok.error()));
  auto insert = db_->prepare(
      "INSERT INTO function_versions (name, version, config, code_dir_key) VALUES (?1, ?2, ?3, "
      "?4)");
  if (!insert) return std::unexpected(db_error("publish version", insert.error()));
  insert->bind(1, name).bind(2, last + 1).bind(3, row.dump()).bind(4, version.code_dir_key);
  if (auto ok = insert->run(); !ok) return std::unexpected(db_error("publish version", ok.error()));
  if (auto ok = tx->commit(); !ok) return std::unexpected(db_error("publish version", ok.error()));
  logger()->info("published {} version {}", name, version.version);
  return version;
}

std::expected<FunctionConfig, StoreError> FunctionStore::get_version(const std::string& name,
                                                                     const std::string& version) {
  const auto number = version_number(version);
  const std::string qualified = name + ":" + version;
  if (!number) return std::unexpected(not_found(qualified));
  FunctionConfig config;
  {
    auto lock = db_->lock();
    auto stmt =
        db_->prepare("SELECT config FROM function_versions WHERE name = ?1 AND version = ?2");
    if (!stmt) return std::unexpected(db_error("select version", stmt.error()));
    stmt->bind(1, name).bind(2, *number);
    auto row = stmt->step();
    if (!row) return std::unexpected(db_error("select version", row.error()));
    if (!*row) return std::unexpected(not_found(qualified));
    config = from_row(json::parse(stmt->column_text(0)));
  }
  if (auto ok = ensure_local_code(config); !ok) return std::unexpected(ok.error());
  return config;
}

std::expected<api::FunctionPage, StoreError> FunctionStore::list_versions(
    const std::string& name, const std::optional<std::string>& marker, int max_items) {
  api::FunctionPage page;
  // $LATEST sorts before every number: no marker (or a marker of $LATEST's) starts there.
  int64_t after = -1;
  if (marker && *marker != "$LATEST") {
    const auto number = version_number(*marker);
    if (!number) return std::unexpected(StoreError::invalid_value("Invalid marker: " + *marker));
    after = *number;
  }
  auto latest = get(name);
  if (!latest) return std::unexpected(latest.error());
  if (!marker) page.functions.push_back(*latest);
  if (marker && *marker == "$LATEST") after = 0;
  auto lock = db_->lock();
  auto stmt = db_->prepare(
      "SELECT config FROM function_versions WHERE name = ?1 AND version > ?2 ORDER BY version "
      "LIMIT ?3");
  if (!stmt) return std::unexpected(db_error("list versions", stmt.error()));
  stmt->bind(1, name).bind(2, after).bind(3, int64_t{max_items} + 1);
  while (true) {
    auto row = stmt->step();
    if (!row) return std::unexpected(db_error("list versions", row.error()));
    if (!*row) break;
    if (static_cast<int>(page.functions.size()) >= max_items) {
      page.next_marker = page.functions.back().version;  // more follow
      break;
    }
    page.functions.push_back(from_row(json::parse(stmt->column_text(0))));
  }
  return page;
}

std::expected<void, StoreError> FunctionStore::remove_version(const std::string& name,
                                                              const std::string& version) {
  const auto number = version_number(version);
  if (!number) return std::unexpected(not_found(name + ":" + version));
  {
    std::lock_guard change(change_mutex_);
    std::string aliased;
    {
      std::shared_lock cached(cache_mutex_);
      for (const auto& [key, alias] : aliases_) {
        if (key.first == name && (alias.routing.function_version == version ||
                                  alias.routing.additional_version == version))
          aliased += (aliased.empty() ? "" : ", ") + alias.name;
      }
    }
    if (!aliased.empty())
      return std::unexpected(StoreError::conflict(
          name + ":" + version,
          "Unable to delete version because the following aliases reference it: [" + aliased +
              "]"));
    {
      auto lock = db_->lock();
      auto stmt = db_->prepare(
          "DELETE FROM function_versions WHERE name = ?1 AND version = ?2 RETURNING version");
      if (!stmt) return std::unexpected(db_error("delete version", stmt.error()));
      stmt->bind(1, name).bind(2, *number);
      auto row = stmt->step();
      if (!row) return std::unexpected(db_error("delete version", row.error()));
      if (!*row) return std::unexpected(not_found(name + ":" + version));
      if (auto done = stmt->run(); !done)
        return std::unexpected(db_error("delete version", done.error()));
      // What belongs to the version goes with it.
      for (const char* sql :
           {"DELETE FROM provisioned_concurrency WHERE name = ?1 AND qualifier = ?2",
            "DELETE FROM event_invoke_configs WHERE name = ?1 AND qualifier = ?2"}) {
        auto owned = db_->prepare(sql);
        if (!owned) return std::unexpected(db_error("delete version", owned.error()));
        if (auto done = owned->bind(1, name).bind(2, version).run(); !done)
          return std::unexpected(db_error("delete version", done.error()));
      }
    }
    collect_garbage();
  }
  logger()->info("deleted {} version {}", name, version);
  notify(api::pool_key(name, version));
  return {};
}

void FunctionStore::load_aliases(const std::optional<std::string>& function) {
  auto lock = db_->lock();
  auto stmt =
      db_->prepare(function ? "SELECT name, alias, config FROM function_aliases WHERE name = ?1"
                            : "SELECT name, alias, config FROM function_aliases");
  if (!stmt) return (void)db_error("load aliases", stmt.error());
  if (function) stmt->bind(1, *function);
  std::map<std::pair<std::string, std::string>, api::AliasConfig> loaded;
  while (true) {
    auto row = stmt->step();
    if (!row) return (void)db_error("load aliases", row.error());
    if (!*row) break;
    const std::string name = stmt->column_text(0), alias = stmt->column_text(1);
    loaded[{name, alias}] = alias_from_row(name, alias, json::parse(stmt->column_text(2)));
  }
  std::unique_lock cached(cache_mutex_);
  if (function)
    std::erase_if(aliases_, [&](const auto& entry) { return entry.first.first == *function; });
  else
    aliases_.clear();
  aliases_.merge(loaded);
}

std::expected<void, StoreError> FunctionStore::check_versions_exist(
    const std::string& name, const api::AliasRouting& routing) {
  if (auto latest = load(name); !latest) return std::unexpected(latest.error());
  for (const auto* version :
       {&routing.function_version,
        routing.additional_version ? &*routing.additional_version : nullptr}) {
    if (version == nullptr || *version == "$LATEST") continue;
    if (auto found = get_version(name, *version); !found) return std::unexpected(found.error());
  }
  return {};
}

std::expected<void, StoreError> FunctionStore::save_alias(const api::AliasConfig& alias) {
  auto lock = db_->lock();
  auto stmt = db_->prepare(
      "INSERT INTO function_aliases (name, alias, config) VALUES (?1, ?2, ?3) "
      "ON CONFLICT (name, alias) DO UPDATE SET config = excluded.config");
  if (!stmt) return std::unexpected(db_error("save alias", stmt.error()));
  stmt->bind(1, alias.function_name).bind(2, alias.name).bind(3, alias_row(alias).dump());
  if (auto ok = stmt->run(); !ok) return std::unexpected(db_error("save alias", ok.error()));
  std::unique_lock cached(cache_mutex_);
  aliases_[{alias.function_name, alias.name}] = alias;
  return {};
}

std::expected<api::AliasConfig, StoreError> FunctionStore::create_alias(api::AliasConfig alias) {
  std::lock_guard change(change_mutex_);
  if (auto ok = check_versions_exist(alias.function_name, alias.routing); !ok)
    return std::unexpected(ok.error());
  {
    std::shared_lock cached(cache_mutex_);
    if (aliases_.contains({alias.function_name, alias.name})) {
      const std::string qualified = alias.function_name + ":" + alias.name;
      return std::unexpected(
          StoreError::already_exists(qualified, "Alias already exists: " + qualified));
    }
  }
  alias.revision_id = common::new_request_id();
  if (auto ok = save_alias(alias); !ok) return std::unexpected(ok.error());
  logger()->info("created alias {}:{} -> {}", alias.function_name, alias.name,
                 alias.routing.function_version);
  return alias;
}

std::expected<api::AliasConfig, StoreError> FunctionStore::get_alias(const std::string& function,
                                                                     const std::string& alias) {
  std::lock_guard change(change_mutex_);
  return find_alias(function, alias);
}

std::expected<api::AliasConfig, StoreError> FunctionStore::find_alias(const std::string& function,
                                                                      const std::string& alias) {
  {
    std::shared_lock cached(cache_mutex_);
    if (auto it = aliases_.find({function, alias}); it != aliases_.end()) return it->second;
  }
  // A missing function is its own error, as in Lambda.
  if (auto latest = load(function); !latest) return std::unexpected(latest.error());
  return std::unexpected(alias_not_found(function, alias));
}

std::expected<api::AliasRouting, StoreError> FunctionStore::alias_routing(
    const std::string& name, const std::string& alias) {
  std::shared_lock cached(cache_mutex_);
  if (auto it = aliases_.find({name, alias}); it != aliases_.end()) return it->second.routing;
  return std::unexpected(alias_not_found(name, alias));
}

std::expected<api::AliasPage, StoreError> FunctionStore::list_aliases(
    const std::string& function, const std::optional<std::string>& function_version,
    const std::optional<std::string>& marker, int max_items) {
  if (auto latest = get(function); !latest) return std::unexpected(latest.error());
  api::AliasPage page;
  std::shared_lock cached(cache_mutex_);
  for (auto it = aliases_.upper_bound({function, marker.value_or("")});
       it != aliases_.end() && it->first.first == function; ++it) {
    const api::AliasRouting& routing = it->second.routing;
    if (function_version && routing.function_version != *function_version &&
        routing.additional_version != *function_version)
      continue;
    if (static_cast<int>(page.aliases.size()) == max_items) {
      page.next_marker = page.aliases.back().name;
      break;
    }
    page.aliases.push_back(it->second);
  }
  return page;
}

std::expected<api::AliasConfig, StoreError> FunctionStore::update_alias(
    api::AliasConfig alias, const std::optional<std::string>& expected_revision_id) {
  auto updated = [&]() -> std::expected<api::AliasConfig, StoreError> {
    std::lock_guard change(change_mutex_);
    auto current = find_alias(alias.function_name, alias.name);
    if (!current) return current;
    if (expected_revision_id && *expected_revision_id != current->revision_id)
      return std::unexpected(StoreError::revision_mismatch(alias.function_name + ":" + alias.name,
                                                           std::string(kStaleRevision)));
    if (auto ok = check_versions_exist(alias.function_name, alias.routing); !ok)
      return std::unexpected(ok.error());
    alias.revision_id = common::new_request_id();
    if (auto ok = save_alias(alias); !ok) return std::unexpected(ok.error());
    logger()->info("updated alias {}:{} -> {}", alias.function_name, alias.name,
                   alias.routing.function_version);
    return alias;
  }();
  // Outside the change lock: the listener may read the store.
  if (updated && on_aliases_changed) on_aliases_changed(alias.function_name);
  return updated;
}

std::expected<void, StoreError> FunctionStore::remove_alias(const std::string& function,
                                                            const std::string& alias) {
  auto removed = [&]() -> std::expected<void, StoreError> {
    std::lock_guard change(change_mutex_);
    if (auto current = find_alias(function, alias); !current)
      return std::unexpected(current.error());
    {
      auto lock = db_->lock();
      for (const char* sql :
           {"DELETE FROM function_aliases WHERE name = ?1 AND alias = ?2",
            "DELETE FROM provisioned_concurrency WHERE name = ?1 AND qualifier = ?2",
            "DELETE FROM event_invoke_configs WHERE name = ?1 AND qualifier = ?2"}) {
        auto stmt = db_->prepare(sql);
        if (!stmt) return std::unexpected(db_error("delete alias", stmt.error()));
        if (auto ok = stmt->bind(1, function).bind(2, alias).run(); !ok)
          return std::unexpected(db_error("delete alias", ok.error()));
      }
    }
    std::unique_lock cached(cache_mutex_);
    aliases_.erase({function, alias});
    logger()->info("deleted alias {}:{}", function, alias);
    return {};
  }();
  if (removed && on_aliases_changed) on_aliases_changed(function);
  return removed;
}

std::filesystem::path FunctionStore::layer_dir(const common::LayerRef& layer) const {
  return code_->dir(layer.code_dir_key);
}

std::expected<void, StoreError> FunctionStore::resolve_layers(FunctionConfig& config) {
  if (config.layers.empty()) return {};
  uint64_t unzipped = directory_bytes(code_->dir(config.code_dir_key));
  for (auto& layer : config.layers) {
    auto version = get_layer_version(layer.name, layer.version);
    if (!version) {
      if (version.error().kind != StoreErrorKind::NotFound) return std::unexpected(version.error());
      return std::unexpected(
          StoreError::invalid_value("Layer version " + layer.arn + " does not exist."));
    }
    layer.code_dir_key = version->code_dir_key;
    layer.code_size = version->code_size;
    if (auto ok = ensure_local_code(layer.code_dir_key); !ok) return ok;
    unzipped += directory_bytes(code_->dir(layer.code_dir_key));
  }
  const uint64_t limit = code_->limits().max_unzipped_bytes;
  if (unzipped > limit)
    return std::unexpected(StoreError::invalid_value(fmt::format(
        "Function code combined with layers exceeds the maximum allowed size of {} bytes. The "
        "actual size is {} bytes.",
        limit, unzipped)));
  return {};
}

std::expected<api::LayerVersion, StoreError> FunctionStore::publish_layer_version(
    api::LayerVersion layer, std::string zip) {
  std::lock_guard change(change_mutex_);
  auto stored = code_->put(zip);
  if (!stored) return std::unexpected(from_code_error(stored.error()));
  if (shared_code_)
    if (auto up = shared_code_->upload(stored->key, zip); !up) {
      collect_garbage();
      return std::unexpected(db_error("upload layer code", up.error()));
    }
  layer.code_sha256 = stored->sha256_base64;
  layer.code_size = static_cast<int64_t>(stored->zip_size);
  layer.code_dir_key = stored->key;
  layer.created_date = common::lambda_timestamp(std::chrono::system_clock::now());
  auto published = db_->write([&]() -> std::expected<void, StoreError> {
    auto bump = db_->prepare(
        "INSERT INTO layers (name, last_version) VALUES (?1, 1) ON CONFLICT (name) DO UPDATE SET "
        "last_version = layers.last_version + 1 RETURNING last_version");
    if (!bump) return std::unexpected(bump.error());
    bump->bind(1, layer.layer_name);
    auto row = bump->step();
    if (!row) return std::unexpected(row.error());
    layer.version = bump->column_int64(0);
    if (auto done = bump->run(); !done) return std::unexpected(done.error());
    auto insert = db_->prepare(
        "INSERT INTO layer_versions (name, version, config, code_dir_key) VALUES (?1, ?2, ?3, "
        "?4)");
    if (!insert) return std::unexpected(insert.error());
    return insert->bind(1, layer.layer_name)
        .bind(2, layer.version)
        .bind(3, layer_row(layer).dump())
        .bind(4, layer.code_dir_key)
        .run();
  });
  if (!published) {
    collect_garbage();
    return std::unexpected(db_error("publish layer version", published.error()));
  }
  logger()->info("published layer {} version {}", layer.layer_name, layer.version);
  return layer;
}

std::expected<api::LayerVersion, StoreError> FunctionStore::get_layer_version(
    const std::string& name, int64_t version) {
  auto lock = db_->lock();
  auto stmt = db_->prepare(
      "SELECT config, code_dir_key FROM layer_versions WHERE name = ?1 AND version = ?2");
  if (!stmt) return std::unexpected(db_error("select layer version", stmt.error()));
  stmt->bind(1, name).bind(2, version);
  auto row = stmt->step();
  if (!row) return std::unexpected(db_error("select layer version", row.error()));
  const std::string qualified = name + ":" + std::to_string(version);
  if (!*row)
    return std::unexpected(
        StoreError::not_found(qualified, "Layer version not found: " + qualified));
  return layer_from_row(name, version, stmt->column_text(1), json::parse(stmt->column_text(0)));
}

std::expected<api::LayerVersionPage, StoreError> FunctionStore::list_layer_versions(
    const std::string& name, const std::optional<std::string>& compatible_runtime,
    const std::optional<std::string>& marker, int max_items) {
  int64_t before = INT64_MAX;
  if (marker) {
    const auto number = version_number(*marker);
    if (!number) return std::unexpected(StoreError::invalid_value("Invalid marker: " + *marker));
    before = *number;
  }
  auto lock = db_->lock();
  auto stmt = db_->prepare(
      "SELECT version, config, code_dir_key FROM layer_versions WHERE name = ?1 AND version < ?2 "
      "ORDER BY version DESC");
  if (!stmt) return std::unexpected(db_error("list layer versions", stmt.error()));
  stmt->bind(1, name).bind(2, before);
  api::LayerVersionPage page;
  while (true) {
    auto row = stmt->step();
    if (!row) return std::unexpected(db_error("list layer versions", row.error()));
    if (!*row) break;
    auto l = layer_from_row(name, stmt->column_int64(0), stmt->column_text(2),
                            json::parse(stmt->column_text(1)));
    if (!lists_runtime(l, compatible_runtime)) continue;
    if (static_cast<int>(page.versions.size()) == max_items) {
      page.next_marker = std::to_string(page.versions.back().version);
      break;
    }
    page.versions.push_back(std::move(l));
  }
  return page;
}

std::expected<api::LayerVersionPage, StoreError> FunctionStore::list_layers(
    const std::optional<std::string>& compatible_runtime, const std::optional<std::string>& marker,
    int max_items) {
  auto lock = db_->lock();
  auto stmt = db_->prepare(
      "SELECT name, version, config, code_dir_key FROM layer_versions WHERE name > ?1 ORDER BY "
      "name, version DESC");
  if (!stmt) return std::unexpected(db_error("list layers", stmt.error()));
  stmt->bind(1, marker.value_or(""));
  api::LayerVersionPage page;
  std::string last_name;
  while (true) {
    auto row = stmt->step();
    if (!row) return std::unexpected(db_error("list layers", row.error()));
    if (!*row) break;
    const std::string name = stmt->column_text(0);
    if (!page.versions.empty() && page.versions.back().layer_name == name) continue;
    auto l = layer_from_row(name, stmt->column_int64(1), stmt->column_text(3),
                            json::parse(stmt->column_text(2)));
    if (!lists_runtime(l, compatible_runtime)) continue;  // an older version may match
    if (static_cast<int>(page.versions.size()) == max_items) {
      page.next_marker = page.versions.back().layer_name;
      break;
    }
    page.versions.push_back(std::move(l));
  }
  return page;
}

std::expected<void, StoreError> FunctionStore::remove_layer_version(const std::string& name,
                                                                    int64_t version) {
  std::lock_guard change(change_mutex_);
  {
    auto lock = db_->lock();
    auto stmt = db_->prepare("DELETE FROM layer_versions WHERE name = ?1 AND version = ?2");
    if (!stmt) return std::unexpected(db_error("delete layer version", stmt.error()));
    if (auto ok = stmt->bind(1, name).bind(2, version).run(); !ok)
      return std::unexpected(db_error("delete layer version", ok.error()));
  }
  collect_garbage();
  logger()->info("deleted layer {} version {}", name, version);
  return {};
}

}  // namespace runtimed
