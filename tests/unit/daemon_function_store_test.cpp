// FunctionStore over a real SQLite database and code directory in a temp dir.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <regex>

#include "runtimed/store/function_store.hpp"
#include "tests/unit/test_zip.hpp"

namespace {

namespace fs = std::filesystem;
using common::FunctionConfig;
using common::StoreErrorKind;
using runtimed::FunctionStore;

api::CreateFunctionRequest request(std::string name, std::string zip) {
  api::CreateFunctionRequest r;
  r.config.name = std::move(name);
  r.config.runtime = "provided.al2023";
  r.config.role = "arn:aws:iam::000000000000:role/r";
  r.config.environment = {{"A1", "x"}};
  r.config.dead_letter_target_arn = "arn:aws:sqs:us-east-1:000000000000:dlq";
  r.zip = std::move(zip);
  return r;
}

std::string zip_v1() { return testzip::make({testzip::file("bootstrap", "v1", 0755)}); }
std::string zip_v2() { return testzip::make({testzip::file("bootstrap", "v2", 0755)}); }

class FunctionStoreTest : public ::testing::Test {
 protected:
  testzip::TempDir tmp;
  std::unique_ptr<FunctionStore> store = open();
  std::vector<std::string> changed;

  std::unique_ptr<FunctionStore> open() {
    auto s = FunctionStore::open(tmp.path());
    EXPECT_TRUE(s) << (s ? "" : s.error());
    (*s)->on_changed = [this](const std::string& name) { changed.push_back(name); };
    return std::move(*s);
  }
  FunctionConfig create(const std::string& name, std::string zip = zip_v1()) {
    auto c = store->create(request(name, std::move(zip)));
    EXPECT_TRUE(c) << (c ? "" : c.error().message);
    return c.value_or(FunctionConfig{});
  }
};

TEST_F(FunctionStoreTest, CreateFillsCodeFieldsRevisionAndTimestamp) {
  const auto c = create("fn");
  EXPECT_EQ(c.name, "fn");
  EXPECT_EQ(c.version, "$LATEST");
  EXPECT_EQ(c.code_size, static_cast<int64_t>(zip_v1().size()));
  EXPECT_EQ(c.code_sha256.size(), 44u);
  EXPECT_EQ(c.code_dir_key.size(), 64u);
  EXPECT_TRUE(std::regex_match(
      c.revision_id,
      std::regex("[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}")));
  EXPECT_TRUE(std::regex_match(c.last_modified,
                               std::regex(R"(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}\+0000)")));
  EXPECT_TRUE(fs::exists(store->code_dir(c) / "bootstrap"));
  EXPECT_EQ(store->code_dir(c), tmp.path() / "code" / c.code_dir_key);
}

TEST_F(FunctionStoreTest, GetReturnsWhatCreateStored) {
  const auto created = create("fn");
  auto got = store->get("fn");
  ASSERT_TRUE(got);
  EXPECT_EQ(*got, created);
}

TEST_F(FunctionStoreTest, DuplicateCreateIsAlreadyExists) {
  create("fn");
  auto again = store->create(request("fn", zip_v2()));
  ASSERT_FALSE(again);
  EXPECT_EQ(again.error().kind, StoreErrorKind::AlreadyExists);
  EXPECT_EQ(again.error().message, "Function already exist: fn");
}

TEST_F(FunctionStoreTest, CreateWithBadZipStoresNothing) {
  auto bad = store->create(request("fn", "not a zip"));
  ASSERT_FALSE(bad);
  EXPECT_EQ(bad.error().kind, StoreErrorKind::InvalidValue);
  EXPECT_THAT(bad.error().message, ::testing::HasSubstr("Could not unzip uploaded file"));
  EXPECT_EQ(store->get("fn").error().kind, StoreErrorKind::NotFound);
}

TEST(FunctionStoreCodeLimits, ZipOverTheLimitIsTooLargeAndStoresNothing) {
  testzip::TempDir tmp;
  auto opened = FunctionStore::open(tmp.path(), runtimed::CodeLimits{.max_zip_bytes = 4096});
  ASSERT_TRUE(opened) << opened.error();
  auto big = (*opened)->create(
      request("big", testzip::make({testzip::file("a", std::string(64 * 1024, 'a'))})));
  ASSERT_FALSE(big);
  EXPECT_EQ(big.error().kind, StoreErrorKind::TooLarge);
  EXPECT_EQ(big.error().message, "Zipped size must be smaller than 4096 bytes");
  EXPECT_EQ((*opened)->get("big").error().kind, StoreErrorKind::NotFound);
}

TEST(FunctionStoreCodeLimits, CodeOverTheStoreLimitIsStorageFullAndStoresNothing) {
  testzip::TempDir tmp;
  auto opened = FunctionStore::open(tmp.path(), runtimed::CodeLimits{.max_store_bytes = 1 << 20});
  ASSERT_TRUE(opened) << opened.error();
  auto full = (*opened)->create(
      request("full", testzip::make({testzip::file("a", std::string(2 << 20, 'a'))})));
  ASSERT_FALSE(full);
  EXPECT_EQ(full.error().kind, StoreErrorKind::StorageFull);
  EXPECT_THAT(full.error().message, ::testing::HasSubstr("Code storage limit exceeded"));
  EXPECT_EQ((*opened)->get("full").error().kind, StoreErrorKind::NotFound);
}

TEST_F(FunctionStoreTest, ErrorsNameTheFunction) {
  create("fn");
  EXPECT_EQ(store->create(request("fn", zip_v1())).error().resource, "fn");
  EXPECT_EQ(store->get("nope").error().resource, "nope");
  EXPECT_EQ(store->get("nope").error().message, "Function not found: nope");
  EXPECT_EQ(store->update_code("fn", zip_v2(), "stale").error().resource, "fn");
}

TEST_F(FunctionStoreTest, MissingFunctionIsNotFound) {
  EXPECT_EQ(store->get("nope").error().kind, StoreErrorKind::NotFound);
  EXPECT_EQ(store->remove("nope").error().kind, StoreErrorKind::NotFound);
  EXPECT_EQ(store->update_code("nope", zip_v1(), std::nullopt).error().kind,
            StoreErrorKind::NotFound);
  EXPECT_EQ(store->update_configuration("nope", {}, std::nullopt).error().kind,
            StoreErrorKind::NotFound);
}

TEST_F(FunctionStoreTest, ListPagesInNameOrder) {
  for (const char* n : {"delta", "alpha", "charlie", "bravo", "echo"}) create(n);
  std::vector<std::string> seen;
  std::optional<std::string> marker;
  int pages = 0;
  do {
    auto page = store->list(marker, 2);
    ASSERT_TRUE(page);
    for (const auto& f : page->functions) seen.push_back(f.name);
    marker = page->next_marker;
    ++pages;
  } while (marker && pages < 10);
  EXPECT_EQ(seen, (std::vector<std::string>{"alpha", "bravo", "charlie", "delta", "echo"}));
  EXPECT_EQ(pages, 3);
  auto exact = store->list(std::nullopt, 5);
  ASSERT_TRUE(exact);
  EXPECT_EQ(exact->functions.size(), 5u);
  EXPECT_FALSE(exact->next_marker);  // no empty last page
}

TEST_F(FunctionStoreTest, UpdateCodeChangesCodeAndRevisionAndCollectsOldCode) {
  const auto before = create("fn");
  auto after = store->update_code("fn", zip_v2(), before.revision_id);
  ASSERT_TRUE(after) << after.error().message;
  EXPECT_NE(after->revision_id, before.revision_id);
  EXPECT_NE(after->code_sha256, before.code_sha256);
  EXPECT_NE(after->code_dir_key, before.code_dir_key);
  EXPECT_EQ(after->environment, before.environment);
  EXPECT_FALSE(fs::exists(store->code_dir(before)));
  EXPECT_TRUE(fs::exists(store->code_dir(*after) / "bootstrap"));
  EXPECT_EQ(changed, (std::vector<std::string>{"fn", "fn"}));  // the create, then the update
}

TEST_F(FunctionStoreTest, SharedCodeSurvivesOneFunctionMovingAway) {
  const auto a = create("a");
  create("b");  // same zip, same directory
  ASSERT_TRUE(store->update_code("a", zip_v2(), std::nullopt));
  EXPECT_TRUE(fs::exists(store->code_dir(a)));
  ASSERT_TRUE(store->remove("b"));
  EXPECT_FALSE(fs::exists(store->code_dir(a)));
}

TEST_F(FunctionStoreTest, StaleRevisionIsRevisionMismatchAndChangesNothing) {
  const auto c = create("fn");
  auto code = store->update_code("fn", zip_v2(), "00000000-0000-4000-8000-000000000000");
  ASSERT_FALSE(code);
  EXPECT_EQ(code.error().kind, StoreErrorKind::RevisionMismatch);
  EXPECT_EQ(code.error().message,
            "The Revision Id provided does not match the latest Revision Id. Call the "
            "GetFunction/GetAlias API to retrieve the latest Revision Id");
  api::ConfigurationPatch patch;
  patch.timeout_s = 10;
  EXPECT_EQ(store->update_configuration("fn", patch, "stale").error().kind,
            StoreErrorKind::RevisionMismatch);
  EXPECT_EQ(*store->get("fn"), c);
  EXPECT_EQ(changed, std::vector<std::string>{"fn"});  // the create only
}

TEST_F(FunctionStoreTest, UpdateConfigurationAppliesOnlyPatchedFields) {
  const auto c = create("fn");
  api::ConfigurationPatch patch;
  patch.timeout_s = 60;
  patch.memory_mb = 1024;
  patch.environment = std::map<std::string, std::string>{{"B2", "y"}};
  patch.dead_letter_target_arn = "";
  auto updated = store->update_configuration("fn", patch, c.revision_id);
  ASSERT_TRUE(updated);
  EXPECT_EQ(updated->timeout_s, 60);
  EXPECT_EQ(updated->memory_mb, 1024);
  EXPECT_EQ(updated->environment, (std::map<std::string, std::string>{{"B2", "y"}}));
  EXPECT_FALSE(updated->dead_letter_target_arn);
  EXPECT_EQ(updated->runtime, c.runtime);
  EXPECT_EQ(updated->code_sha256, c.code_sha256);
  EXPECT_NE(updated->revision_id, c.revision_id);
  EXPECT_EQ(*store->get("fn"), *updated);
  EXPECT_EQ(changed, (std::vector<std::string>{"fn", "fn"}));  // the create, then the update
}

TEST_F(FunctionStoreTest, DeleteRemovesFunctionAndItsCode) {
  const auto c = create("fn");
  ASSERT_TRUE(store->remove("fn"));
  EXPECT_EQ(store->get("fn").error().kind, StoreErrorKind::NotFound);
  EXPECT_FALSE(fs::exists(store->code_dir(c)));
  EXPECT_EQ(changed, (std::vector<std::string>{"fn", "fn"}));  // the create, then the delete
}

TEST_F(FunctionStoreTest, FunctionsPersistAcrossReopening) {
  const auto c = create("fn");
  store.reset();
  store = open();
  auto got = store->get("fn");
  ASSERT_TRUE(got);
  EXPECT_EQ(*got, c);
  EXPECT_TRUE(fs::exists(store->code_dir(*got) / "bootstrap"));
}

TEST_F(FunctionStoreTest, DatabaseIsWalWithSchemaVersionRow) {
  auto& db = store->db();
  auto lock = db.lock();
  EXPECT_EQ(db.schema_version(), runtimed::StateDb::latest_schema_version());
  EXPECT_EQ(runtimed::StateDb::latest_schema_version(), 12);
  auto mode = db.prepare("PRAGMA journal_mode");
  ASSERT_TRUE(mode);
  ASSERT_TRUE(mode->step().value_or(false));
  EXPECT_EQ(mode->column_text(0), "wal");
  auto sync = db.prepare("PRAGMA synchronous");
  ASSERT_TRUE(sync && sync->step().value_or(false));
  EXPECT_EQ(sync->column_int64(0), 2);  // FULL
  // One row per migration applied.
  auto rows = db.prepare("SELECT COUNT(*) FROM schema_version");
  ASSERT_TRUE(rows && rows->step().value_or(false));
  EXPECT_EQ(rows->column_int64(0), db.schema_version());
  EXPECT_TRUE(fs::exists(tmp.path() / "runtimed.db"));
}

TEST_F(FunctionStoreTest, PublishSnapshotsLatestAsNumberedVersions) {
  const auto c = create("fn");
  auto v1 = store->publish_version("fn", std::nullopt, std::nullopt, std::nullopt);
  ASSERT_TRUE(v1) << v1.error().message;
  EXPECT_EQ(v1->version, "1");
  EXPECT_EQ(v1->code_sha256, c.code_sha256);
  EXPECT_NE(v1->revision_id, c.revision_id);
  // Nothing changed since: the same version again, not a new one.
  auto again = store->publish_version("fn", std::nullopt, std::nullopt, std::nullopt);
  ASSERT_TRUE(again);
  EXPECT_EQ(*again, *v1);
  // New code, a new version; the first keeps its code and configuration.
  ASSERT_TRUE(store->update_code("fn", zip_v2(), std::nullopt));
  auto v2 = store->publish_version("fn", std::nullopt, std::nullopt, std::string("second"));
  ASSERT_TRUE(v2);
  EXPECT_EQ(v2->version, "2");
  EXPECT_EQ(v2->description, "second");
  EXPECT_NE(v2->code_sha256, v1->code_sha256);
  auto got1 = store->get_version("fn", "1");
  ASSERT_TRUE(got1);
  EXPECT_EQ(*got1, *v1);
  EXPECT_TRUE(fs::exists(store->code_dir(*got1) / "bootstrap"));
  EXPECT_EQ(store->get("fn")->version, "$LATEST");
  EXPECT_EQ(store->get_version("fn", "3").error().kind, StoreErrorKind::NotFound);
  EXPECT_EQ(store->get_version("fn", "prod").error().kind, StoreErrorKind::NotFound);
  EXPECT_EQ(store->publish_version("nope", std::nullopt, std::nullopt, std::nullopt).error().kind,
            StoreErrorKind::NotFound);
}

TEST_F(FunctionStoreTest, PublishHonoursCodeSha256AndRevisionIdPreconditions) {
  const auto c = create("fn");
  auto stale_sha = store->publish_version("fn", std::string("AAAA"), std::nullopt, std::nullopt);
  ASSERT_FALSE(stale_sha);
  EXPECT_EQ(stale_sha.error().kind, StoreErrorKind::InvalidValue);
  EXPECT_THAT(stale_sha.error().message,
              ::testing::HasSubstr("is different from current CodeSHA256 in $LATEST"));
  auto stale_rev = store->publish_version("fn", std::nullopt, std::string("x"), std::nullopt);
  ASSERT_FALSE(stale_rev);
  EXPECT_EQ(stale_rev.error().kind, StoreErrorKind::RevisionMismatch);
  auto ok = store->publish_version("fn", c.code_sha256, c.revision_id, std::nullopt);
  ASSERT_TRUE(ok) << ok.error().message;
  EXPECT_EQ(ok->version, "1");
}

TEST_F(FunctionStoreTest, VersionNumbersAreNeverReusedAndListPages) {
  create("fn");
  for (int i = 0; i < 3; ++i) {
    ASSERT_TRUE(store->update_configuration("fn", api::ConfigurationPatch{.memory_mb = 128 + i},
                                            std::nullopt));
    ASSERT_TRUE(store->publish_version("fn", std::nullopt, std::nullopt, std::nullopt));
  }
  ASSERT_TRUE(store->remove_version("fn", "3"));
  EXPECT_EQ(store->remove_version("fn", "3").error().kind, StoreErrorKind::NotFound);
  ASSERT_TRUE(
      store->update_configuration("fn", api::ConfigurationPatch{.memory_mb = 512}, std::nullopt));
  auto v4 = store->publish_version("fn", std::nullopt, std::nullopt, std::nullopt);
  ASSERT_TRUE(v4);
  EXPECT_EQ(v4->version, "4");
  std::vector<std::string> seen;
  std::optional<std::string> marker;
  do {
    auto page = store->list_versions("fn", marker, 2);
    ASSERT_TRUE(page) << page.error().message;
    ASSERT_LE(page->functions.size(), 2u);
    for (const auto& f : page->functions) seen.push_back(f.version);
    marker = page->next_marker;
  } while (marker);
  EXPECT_EQ(seen, (std::vector<std::string>{"$LATEST", "1", "2", "4"}));
  EXPECT_EQ(store->list_versions("nope", std::nullopt, 10).error().kind, StoreErrorKind::NotFound);
}

TEST_F(FunctionStoreTest, VersionCodeOutlivesLatestUntilVersionOrFunctionIsDeleted) {
  create("fn");
  auto v1 = store->publish_version("fn", std::nullopt, std::nullopt, std::nullopt);
  ASSERT_TRUE(v1);
  ASSERT_TRUE(store->update_code("fn", zip_v2(), std::nullopt));
  EXPECT_TRUE(fs::exists(store->code_dir(*v1)));  // $LATEST moved on; version 1 still holds it
  ASSERT_TRUE(store->remove_version("fn", "1"));
  EXPECT_FALSE(fs::exists(store->code_dir(*v1)));
  ASSERT_TRUE(store->update_code("fn", zip_v1(), std::nullopt));
  auto again = store->publish_version("fn", std::nullopt, std::nullopt, std::nullopt);
  ASSERT_TRUE(again);
  EXPECT_EQ(again->version, "2");
  ASSERT_TRUE(store->remove("fn"));
  EXPECT_FALSE(fs::exists(store->code_dir(*again)));
  create("fn");  // a new function of the same name starts from version 1
  auto fresh = store->publish_version("fn", std::nullopt, std::nullopt, std::nullopt);
  ASSERT_TRUE(fresh);
  EXPECT_EQ(fresh->version, "1");
}

TEST_F(FunctionStoreTest, SchemaTwoDatabaseMigratesKeepingFunctions) {
  const auto c = create("fn");
  {
    // Back to what a v2 daemon left: no versions or aliases tables, no counter, no async
    // qualifier, two migrations recorded.
    auto& db = store->db();
    auto lock = db.lock();
    ASSERT_TRUE(
        db.exec("DROP TABLE function_versions; DROP TABLE function_aliases; DROP TABLE layers; "
                "DROP TABLE layer_versions; DROP TABLE provisioned_concurrency; DROP TABLE "
                "function_urls; DROP TABLE http_apis; DROP TABLE schedules; DROP TABLE "
                "event_source_mappings; ALTER TABLE queues DROP "
                "COLUMN visibility_s; ALTER TABLE queues DROP COLUMN redrive_queue; ALTER TABLE "
                "queues DROP COLUMN max_receive; ALTER TABLE "
                "functions DROP COLUMN last_version; ALTER TABLE functions DROP COLUMN "
                "revision_id; ALTER TABLE async_events DROP COLUMN claim_token; ALTER TABLE "
                "async_events DROP COLUMN "
                "qualifier; DELETE FROM schema_version WHERE version > 2;"));
    // v2's event-invoke configs were per function; one becomes $LATEST's.
    ASSERT_TRUE(db.exec(
        "DROP TABLE event_invoke_configs; CREATE TABLE event_invoke_configs (name TEXT PRIMARY "
        "KEY NOT NULL, config TEXT NOT NULL) WITHOUT ROWID; INSERT INTO event_invoke_configs "
        "VALUES ('fn', '{\"max_retry\":1}');"));
  }
  store.reset();
  store = open();
  {
    auto& db = store->db();
    auto lock = db.lock();
    EXPECT_EQ(db.schema_version(), runtimed::StateDb::latest_schema_version());
    auto configs = db.prepare("SELECT name, qualifier, config FROM event_invoke_configs");
    ASSERT_TRUE(configs);
    ASSERT_TRUE(configs->step().value_or(false));
    EXPECT_EQ(configs->column_text(0), "fn");
    EXPECT_EQ(configs->column_text(1), "$LATEST");
    EXPECT_EQ(configs->column_text(2), R"({"max_retry":1})");
  }
  EXPECT_EQ(*store->get("fn"), c);
  auto v1 = store->publish_version("fn", std::nullopt, std::nullopt, std::nullopt);
  ASSERT_TRUE(v1) << v1.error().message;
  EXPECT_EQ(v1->version, "1");
  // v11 copied each RevisionId into its column: a change over it is saved.
  api::ConfigurationPatch memory;
  memory.memory_mb = 256;
  auto changed = store->update_configuration("fn", memory, c.revision_id);
  ASSERT_TRUE(changed) << changed.error().message;
}

TEST_F(FunctionStoreTest, AliasesRouteToExistingVersionsAndSurviveReopen) {
  create("fn");
  ASSERT_TRUE(store->publish_version("fn", std::nullopt, std::nullopt, std::nullopt));
  ASSERT_TRUE(store->update_code("fn", zip_v2(), std::nullopt));
  ASSERT_TRUE(store->publish_version("fn", std::nullopt, std::nullopt, std::nullopt));

  api::AliasConfig live{.function_name = "fn", .name = "live", .description = "prod"};
  live.routing = {"1", "2", 0.2};
  auto created = store->create_alias(live);
  ASSERT_TRUE(created) << created.error().message;
  EXPECT_FALSE(created->revision_id.empty());
  EXPECT_EQ(store->create_alias(live).error().kind, StoreErrorKind::AlreadyExists);

  api::AliasConfig missing{.function_name = "fn", .name = "next"};
  missing.routing = {"7", std::nullopt, 0};
  auto refused = store->create_alias(missing);
  ASSERT_FALSE(refused);
  EXPECT_EQ(refused.error().kind, StoreErrorKind::NotFound);
  EXPECT_EQ(refused.error().resource, "fn:7");
  api::AliasConfig on_missing_function{.function_name = "nope", .name = "live"};
  EXPECT_EQ(store->create_alias(on_missing_function).error().resource, "nope");

  // The routing is read from memory, and is still there after a restart.
  store.reset();
  store = open();
  auto routing = store->alias_routing("fn", "live");
  ASSERT_TRUE(routing);
  EXPECT_EQ(*routing, (api::AliasRouting{"1", "2", 0.2}));
  EXPECT_EQ(store->alias_routing("fn", "other").error().kind, StoreErrorKind::NotFound);
  EXPECT_EQ(store->get_alias("fn", "live")->description, "prod");
  EXPECT_EQ(store->get_alias("nope", "live").error().resource, "nope");
  EXPECT_EQ(store->get_alias("fn", "other").error().resource, "fn:other");
}

TEST_F(FunctionStoreTest, AliasUpdateChecksRevisionAndListFilters) {
  create("fn");
  ASSERT_TRUE(store->publish_version("fn", std::nullopt, std::nullopt, std::nullopt));
  for (const char* name : {"b", "a", "c"}) {
    api::AliasConfig alias{.function_name = "fn", .name = name};
    alias.routing = {std::string(name) == "c" ? "$LATEST" : "1", std::nullopt, 0};
    ASSERT_TRUE(store->create_alias(alias));
  }
  auto page = store->list_aliases("fn", std::nullopt, std::nullopt, 2);
  ASSERT_TRUE(page);
  ASSERT_EQ(page->aliases.size(), 2u);
  EXPECT_EQ(page->aliases[0].name, "a");
  EXPECT_EQ(page->next_marker, "b");
  page = store->list_aliases("fn", std::nullopt, "b", 2);
  ASSERT_EQ(page->aliases.size(), 1u);
  EXPECT_EQ(page->aliases[0].name, "c");
  EXPECT_FALSE(page->next_marker);
  EXPECT_EQ(store->list_aliases("fn", "1", std::nullopt, 50)->aliases.size(), 2u);
  EXPECT_EQ(store->list_aliases("nope", std::nullopt, std::nullopt, 50).error().kind,
            StoreErrorKind::NotFound);

  auto a = *store->get_alias("fn", "a");
  a.routing.function_version = "$LATEST";
  EXPECT_EQ(store->update_alias(a, "stale").error().kind, StoreErrorKind::RevisionMismatch);
  auto updated = store->update_alias(a, a.revision_id);
  ASSERT_TRUE(updated);
  EXPECT_NE(updated->revision_id, a.revision_id);
  EXPECT_EQ(store->alias_routing("fn", "a")->function_version, "$LATEST");

  ASSERT_TRUE(store->remove_alias("fn", "a"));
  EXPECT_EQ(store->remove_alias("fn", "a").error().kind, StoreErrorKind::NotFound);
  EXPECT_FALSE(store->alias_routing("fn", "a"));
}

TEST_F(FunctionStoreTest, AliasedVersionCannotGoAndDeletesNotifyEachPool) {
  create("fn");
  ASSERT_TRUE(store->publish_version("fn", std::nullopt, std::nullopt, std::nullopt));
  ASSERT_TRUE(store->update_code("fn", zip_v2(), std::nullopt));
  ASSERT_TRUE(store->publish_version("fn", std::nullopt, std::nullopt, std::nullopt));
  api::AliasConfig live{.function_name = "fn", .name = "live"};
  live.routing = {"1", std::nullopt, 0};
  ASSERT_TRUE(store->create_alias(live));

  auto refused = store->remove_version("fn", "1");
  ASSERT_FALSE(refused);
  EXPECT_EQ(refused.error().kind, StoreErrorKind::Conflict);
  EXPECT_THAT(refused.error().message, ::testing::HasSubstr("[live]"));

  changed.clear();
  ASSERT_TRUE(store->remove_version("fn", "2"));
  EXPECT_EQ(changed, (std::vector<std::string>{"fn:2"}));
  changed.clear();
  ASSERT_TRUE(store->remove("fn"));
  EXPECT_EQ(changed, (std::vector<std::string>{"fn", "fn:1"}));
  EXPECT_FALSE(store->alias_routing("fn", "live"));
  // A new function of the same name starts with no aliases.
  create("fn");
  EXPECT_EQ(store->list_aliases("fn", std::nullopt, std::nullopt, 50)->aliases.size(), 0u);
}

TEST_F(FunctionStoreTest, LayerVersionsAreNumberedAndFunctionsKeepTheirContentAfterADelete) {
  api::LayerVersion layer{.layer_name = "lib", .description = "d"};
  auto v1 = store->publish_layer_version(layer, zip_v1());
  ASSERT_TRUE(v1) << v1.error().message;
  EXPECT_EQ(v1->version, 1);
  auto v2 = store->publish_layer_version(layer, zip_v2());
  ASSERT_TRUE(v2);
  EXPECT_EQ(v2->version, 2);
  EXPECT_EQ(store->list_layer_versions("lib", std::nullopt, std::nullopt, 50)->versions.size(), 2u);

  auto request_with_layers = request("fn", testzip::make({testzip::file("app.py", "x", 0644)}));
  request_with_layers.config.layers = {{.arn = "arn:...:lib:1", .name = "lib", .version = 1}};
  auto fn = store->create(request_with_layers);
  ASSERT_TRUE(fn) << fn.error().message;
  ASSERT_EQ(fn->layers.size(), 1u);
  EXPECT_EQ(fn->layers[0].code_dir_key, v1->code_dir_key);
  EXPECT_EQ(fn->layers[0].code_size, v1->code_size);

  // The layer version goes; the function's copy of its content stays until nothing uses it.
  ASSERT_TRUE(store->remove_layer_version("lib", 1));
  EXPECT_EQ(store->get_layer_version("lib", 1).error().kind, StoreErrorKind::NotFound);
  EXPECT_TRUE(fs::exists(store->layer_dir(fn->layers[0]) / "bootstrap"));
  ASSERT_TRUE(store->remove("fn"));
  EXPECT_FALSE(fs::exists(store->layer_dir(fn->layers[0])));
  // A deleted number is never reused.
  EXPECT_EQ(store->publish_layer_version(layer, zip_v1())->version, 3);

  auto missing = request("other", zip_v1());
  missing.config.layers = {{.arn = "arn:...:lib:1", .name = "lib", .version = 1}};
  auto refused = store->create(missing);
  ASSERT_FALSE(refused);
  EXPECT_EQ(refused.error().kind, StoreErrorKind::InvalidValue);
  EXPECT_EQ(refused.error().message, "Layer version arn:...:lib:1 does not exist.");
}

TEST(StateDbTest, ReopeningDoesNotRerunMigrations) {
  testzip::TempDir tmp;
  ASSERT_TRUE(runtimed::StateDb::open(tmp.path()));
  auto db = runtimed::StateDb::open(tmp.path());
  ASSERT_TRUE(db);
  auto lock = (*db)->lock();
  auto rows = (*db)->prepare("SELECT COUNT(*) FROM schema_version");
  ASSERT_TRUE(rows && rows->step().value_or(false));
  EXPECT_EQ(rows->column_int64(0), (*db)->schema_version());
}

TEST(StateDbTest, RefusesDatabaseFromNewerVersion) {
  testzip::TempDir tmp;
  {
    auto db = runtimed::StateDb::open(tmp.path());
    ASSERT_TRUE(db);
    auto lock = (*db)->lock();
    ASSERT_TRUE((*db)->exec("INSERT INTO schema_version (version) VALUES (99)"));
  }
  auto db = runtimed::StateDb::open(tmp.path());
  ASSERT_FALSE(db);
  EXPECT_THAT(db.error(), ::testing::HasSubstr("newer"));
}

}  // namespace

// Two stores over one database stand for two nodes sharing a catalog, with no change feed
// between them: each change is saved only over the revision it was made from.
class SharedCatalogTest : public FunctionStoreTest {
 protected:
  std::unique_ptr<FunctionStore> other = open();
};

TEST_F(SharedCatalogTest, AChangeFromAStaleCacheIsMadeAgainOverTheCurrentFunction) {
  create("fn");
  ASSERT_TRUE(other->get("fn"));  // cached by the other node
  api::ConfigurationPatch description;
  description.description = "from store";
  ASSERT_TRUE(store->update_configuration("fn", description, std::nullopt));
  api::ConfigurationPatch memory;
  memory.memory_mb = 256;
  auto changed_there = other->update_configuration("fn", memory, std::nullopt);
  ASSERT_TRUE(changed_there) << changed_there.error().message;
  // Both changes are kept: the second was not written over the first.
  auto fresh = FunctionStore::open(tmp.path());
  ASSERT_TRUE(fresh);
  auto stored = (*fresh)->get("fn");
  ASSERT_TRUE(stored);
  EXPECT_EQ(stored->description, "from store");
  EXPECT_EQ(stored->memory_mb, 256);
}

TEST_F(SharedCatalogTest, ARevisionIdReadBeforeAnotherNodesChangeIsStale) {
  const auto created = create("fn");
  ASSERT_TRUE(other->get("fn"));
  api::ConfigurationPatch description;
  description.description = "from store";
  ASSERT_TRUE(store->update_configuration("fn", description, created.revision_id));
  auto stale = other->update_configuration("fn", description, created.revision_id);
  ASSERT_FALSE(stale);
  EXPECT_EQ(stale.error().kind, StoreErrorKind::RevisionMismatch);
}

TEST_F(SharedCatalogTest, AFunctionDeletedElsewhereIsNotBroughtBackByAChange) {
  create("fn");
  ASSERT_TRUE(other->get("fn"));
  ASSERT_TRUE(store->remove("fn"));
  api::ConfigurationPatch memory;
  memory.memory_mb = 256;
  auto change = other->update_configuration("fn", memory, std::nullopt);
  ASSERT_FALSE(change);
  EXPECT_EQ(change.error().kind, StoreErrorKind::NotFound);
  EXPECT_FALSE(store->get("fn"));
}

TEST_F(SharedCatalogTest, AFunctionMadeElsewhereMeanwhileIsAlreadyExists) {
  ASSERT_FALSE(other->get("fn"));
  create("fn");
  // The other node's negative answer was not cached, and the insert would not replace a row.
  auto again = other->create(request("fn", zip_v2()));
  ASSERT_FALSE(again);
  EXPECT_EQ(again.error().kind, StoreErrorKind::AlreadyExists);
}
