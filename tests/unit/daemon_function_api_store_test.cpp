// End to end without HTTP serving: FunctionApi requests against the real FunctionStore.
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <openssl/evp.h>

#include <nlohmann/json.hpp>

#include "api/function_api.hpp"
#include "runtimed/store/function_store.hpp"
#include "tests/unit/test_zip.hpp"

namespace {

namespace fs = std::filesystem;
using nlohmann::json;

std::string base64(const std::string& bytes) {
  std::string out(4 * ((bytes.size() + 2) / 3) + 1, '\0');
  const int n = EVP_EncodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                                reinterpret_cast<const unsigned char*>(bytes.data()),
                                static_cast<int>(bytes.size()));
  out.resize(static_cast<size_t>(n));
  return out;
}

api::HttpResponse call(api::FunctionApi& fapi, std::string method, std::string path,
                       std::string body = {}) {
  api::HttpRequest req;
  req.method = std::move(method);
  req.path = std::move(path);
  req.body = std::move(body);
  return fapi.handle(req, "rid");
}

TEST(FunctionApiWithStore, CreateGetUpdateStaleRevisionDeleteLifecycle) {
  testzip::TempDir tmp;
  auto store = runtimed::FunctionStore::open(tmp.path());
  ASSERT_TRUE(store);
  api::FunctionApi fapi(**store, "us-east-1", "000000000000");

  const std::string zip1 = testzip::make({testzip::file("bootstrap", "#!/bin/sh\n", 0755)});
  auto r = call(fapi, "POST", "/2015-03-31/functions",
                json{{"FunctionName", "fn"},
                     {"Runtime", "provided.al2"},
                     {"Role", "r"},
                     {"Code", {{"ZipFile", base64(zip1)}}}}
                    .dump());
  ASSERT_EQ(r.status, 201) << r.body;
  const json created = json::parse(r.body);
  EXPECT_EQ(created["CodeSize"], zip1.size());

  r = call(fapi, "GET", "/2015-03-31/functions/fn");
  ASSERT_EQ(r.status, 200) << r.body;
  const json got = json::parse(r.body);
  EXPECT_EQ(got["Configuration"], created);
  const std::string location = got["Code"]["Location"];
  ASSERT_TRUE(location.starts_with("file://"));
  EXPECT_TRUE(fs::exists(fs::path(location.substr(7)) / "bootstrap"));

  const std::string zip2 = testzip::make({testzip::file("bootstrap", "#!/bin/sh\nv2\n", 0755)});
  r = call(fapi, "PUT", "/2015-03-31/functions/fn/code",
           json{{"ZipFile", base64(zip2)}, {"RevisionId", created["RevisionId"]}}.dump());
  ASSERT_EQ(r.status, 200) << r.body;
  const json updated = json::parse(r.body);
  EXPECT_NE(updated["RevisionId"], created["RevisionId"]);
  EXPECT_NE(updated["CodeSha256"], created["CodeSha256"]);

  r = call(fapi, "PUT", "/2015-03-31/functions/fn/configuration",
           json{{"Timeout", 30}, {"RevisionId", created["RevisionId"]}}.dump());
  EXPECT_EQ(r.status, 412) << r.body;
  EXPECT_THAT(json::parse(r.body)["message"].get<std::string>(),
              ::testing::HasSubstr("does not match the latest Revision Id"));

  r = call(fapi, "PUT", "/2015-03-31/functions/fn/code",
           json{{"ZipFile", base64("not a zip")}}.dump());
  EXPECT_EQ(r.status, 400);
  EXPECT_THAT(json::parse(r.body)["message"].get<std::string>(),
              ::testing::HasSubstr("Could not unzip uploaded file"));

  r = call(fapi, "DELETE", "/2015-03-31/functions/fn");
  EXPECT_EQ(r.status, 204);
  r = call(fapi, "GET", "/2015-03-31/functions/fn/configuration");
  EXPECT_EQ(r.status, 404);
  EXPECT_EQ(json::parse(r.body)["message"],
            "Function not found: arn:aws:lambda:us-east-1:000000000000:function:fn");
  EXPECT_FALSE(fs::exists(fs::path(location.substr(7))));
}

}  // namespace
