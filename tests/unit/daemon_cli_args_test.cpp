// The client's command lines: argument vectors parsed by add_client_commands become the right
// HTTP requests (no daemon involved).
#include <gtest/gtest.h>

#include <CLI/CLI.hpp>
#include <fstream>
#include <nlohmann/json.hpp>

#include "common/base64.hpp"
#include "runtimed/cli/cli_commands.hpp"
#include "runtimed/cli/cli_requests.hpp"
#include "runtimed/cli/zip_writer.hpp"
#include "tests/unit/test_zip.hpp"

namespace {

using nlohmann::json;
using runtimed::ClientCommand;
using runtimed::HttpCall;

// Parses `args` as main() would (program name first) and returns the selected command.
runtimed::ParsedClientCommand parse(std::vector<std::string> args) {
  CLI::App app;
  app.require_subcommand(1);
  runtimed::ClientCommands commands;
  runtimed::add_client_commands(app, commands);
  args.insert(args.begin(), "runtimed");
  std::vector<char*> argv;
  for (auto& a : args) argv.push_back(a.data());
  app.parse(static_cast<int>(argv.size()), argv.data());
  auto parsed = runtimed::parsed_client_command(commands);
  if (!parsed) throw std::runtime_error("no client command parsed");
  return *parsed;
}

std::vector<HttpCall> calls_for(std::vector<std::string> args) {
  auto parsed = parse(std::move(args));
  auto calls = runtimed::build_calls(parsed.command, parsed.options);
  if (!calls) throw std::runtime_error(calls.error());
  return *calls;
}

std::string calls_error(std::vector<std::string> args) {
  auto parsed = parse(std::move(args));
  auto calls = runtimed::build_calls(parsed.command, parsed.options);
  return calls ? "" : calls.error();
}

class CliArgsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    code_ = dir_.path() / "code";
    std::filesystem::create_directories(code_);
    std::ofstream(code_ / "bootstrap") << "#!/bin/sh\n";
    std::filesystem::permissions(code_ / "bootstrap", std::filesystem::perms(0755));
    zip_ = dir_.path() / "fn.zip";
    std::ofstream(zip_, std::ios::binary) << "PK-not-really-a-zip";
  }
  testzip::TempDir dir_;
  std::filesystem::path code_;
  std::filesystem::path zip_;
};

TEST_F(CliArgsTest, CreateFromCodeDirPostsEveryOptionGiven) {
  auto calls = calls_for({"create",   "fn",           "--runtime",     "provided.al2023",
                          "--code",   code_.string(), "--handler",     "main.handler",
                          "--memory", "256",          "--timeout",     "30",
                          "--tmp",    "1024",         "--env",         "A=1",
                          "--env",    "B=x=y",        "--description", "my fn"});
  ASSERT_EQ(calls.size(), 1u);
  EXPECT_EQ(calls[0].method, "POST");
  EXPECT_EQ(calls[0].target, "/2015-03-31/functions");
  EXPECT_EQ(calls[0].content_type, "application/json");
  const json body = json::parse(calls[0].body);
  EXPECT_EQ(body["FunctionName"], "fn");
  EXPECT_EQ(body["Runtime"], "provided.al2023");
  EXPECT_EQ(body["Handler"], "main.handler");
  EXPECT_EQ(body["MemorySize"], 256);
  EXPECT_EQ(body["Timeout"], 30);
  EXPECT_EQ(body["EphemeralStorage"], (json{{"Size", 1024}}));
  EXPECT_EQ(body["Environment"], (json{{"Variables", {{"A", "1"}, {"B", "x=y"}}}}));
  EXPECT_EQ(body["Description"], "my fn");
  EXPECT_EQ(body["Role"], "arn:aws:iam::000000000000:role/runtimed");
  // The package is the directory zipped, base64'd.
  EXPECT_EQ(common::base64_decode(body["Code"]["ZipFile"].get<std::string>()).value(),
            runtimed::zip_directory(code_).value());
}

TEST_F(CliArgsTest, CreateLeavesOutOptionsNotGiven) {
  auto calls = calls_for({"create", "fn", "--runtime", "python3.12", "--zip", zip_.string(),
                          "--role", "arn:aws:iam::1:role/x"});
  const json body = json::parse(calls.at(0).body);
  EXPECT_EQ(body["Code"]["ZipFile"], common::base64_encode("PK-not-really-a-zip"));
  EXPECT_EQ(body["Role"], "arn:aws:iam::1:role/x");
  for (const char* key :
       {"Handler", "MemorySize", "Timeout", "EphemeralStorage", "Environment", "Description"})
    EXPECT_FALSE(body.contains(key)) << key;
}

TEST_F(CliArgsTest, CreateNeedsCode) {
  EXPECT_NE(calls_error({"create", "fn", "--runtime", "provided"}).find("--zip"),
            std::string::npos);
}

TEST_F(CliArgsTest, CreateRefusesBothZipAndCode) {
  EXPECT_THROW(parse({"create", "fn", "--runtime", "provided", "--zip", zip_.string(), "--code",
                      code_.string()}),
               CLI::ExcludesError);
}

TEST_F(CliArgsTest, CreateNeedsRuntime) {
  EXPECT_THROW(parse({"create", "fn", "--zip", zip_.string()}), CLI::RequiredError);
}

TEST_F(CliArgsTest, CreateRefusesMissingCodeDirectory) {
  EXPECT_THROW(
      parse({"create", "fn", "--runtime", "provided", "--code", (dir_.path() / "nosuch").string()}),
      CLI::ValidationError);
}

TEST_F(CliArgsTest, EnvWithoutEqualsIsAnError) {
  const auto error = calls_error(
      {"create", "fn", "--runtime", "provided", "--zip", zip_.string(), "--env", "NOEQUALS"});
  EXPECT_NE(error.find("NOEQUALS"), std::string::npos) << error;
}

TEST(ParseEnvAssignments, SplitsAtFirstEquals) {
  auto vars = runtimed::parse_env_assignments({"A=1", "B=x=y", "EMPTY="});
  ASSERT_TRUE(vars) << vars.error();
  EXPECT_EQ(*vars, (std::map<std::string, std::string>{{"A", "1"}, {"B", "x=y"}, {"EMPTY", ""}}));
}

TEST(ParseEnvAssignments, RefusesMissingEqualsOrEmptyKey) {
  EXPECT_FALSE(runtimed::parse_env_assignments({"A=1", "B"}));
  EXPECT_FALSE(runtimed::parse_env_assignments({"=value"}));
}

TEST_F(CliArgsTest, UpdateWithConfigurationOnlyPutsConfiguration) {
  auto calls = calls_for({"update", "fn", "--memory", "256"});
  ASSERT_EQ(calls.size(), 1u);
  EXPECT_EQ(calls[0].method, "PUT");
  EXPECT_EQ(calls[0].target, "/2015-03-31/functions/fn/configuration");
  EXPECT_EQ(json::parse(calls[0].body), (json{{"MemorySize", 256}}));
}

TEST_F(CliArgsTest, UpdateWithCodeAndConfigurationPutsCodeFirst) {
  auto calls = calls_for({"update", "fn", "--zip", zip_.string(), "--timeout", "5", "--env", "K=V",
                          "--runtime", "provided.al2"});
  ASSERT_EQ(calls.size(), 2u);
  EXPECT_EQ(calls[0].target, "/2015-03-31/functions/fn/code");
  EXPECT_EQ(json::parse(calls[0].body),
            (json{{"ZipFile", common::base64_encode("PK-not-really-a-zip")}}));
  EXPECT_EQ(calls[1].target, "/2015-03-31/functions/fn/configuration");
  EXPECT_EQ(json::parse(calls[1].body), (json{{"Timeout", 5},
                                              {"Runtime", "provided.al2"},
                                              {"Environment", {{"Variables", {{"K", "V"}}}}}}));
}

TEST_F(CliArgsTest, UpdateWithCodeOnlyPutsCode) {
  auto calls = calls_for({"update", "fn", "--code", code_.string()});
  ASSERT_EQ(calls.size(), 1u);
  EXPECT_EQ(calls[0].target, "/2015-03-31/functions/fn/code");
}

TEST_F(CliArgsTest, UpdateWithNothingIsAnError) {
  EXPECT_NE(calls_error({"update", "fn"}).find("nothing to update"), std::string::npos);
}

TEST_F(CliArgsTest, GetDeleteAndEndpoint) {
  auto get = parse({"get", "fn", "--endpoint", "http://10.0.0.1:9100"});
  EXPECT_EQ(get.command, ClientCommand::Get);
  EXPECT_EQ(get.options.endpoint, "http://10.0.0.1:9100");
  EXPECT_EQ(runtimed::build_calls(get.command, get.options).value(),
            (std::vector<HttpCall>{{"GET", "/2015-03-31/functions/fn"}}));
  auto del = parse({"delete", "fn"});
  EXPECT_EQ(del.options.endpoint, "http://127.0.0.1:9000");
  EXPECT_EQ(runtimed::build_calls(del.command, del.options).value(),
            (std::vector<HttpCall>{{"DELETE", "/2015-03-31/functions/fn"}}));
}

TEST(CliPaths, FunctionNamesArePercentEncoded) {
  EXPECT_EQ(runtimed::function_path("a/b c", "/code"), "/2015-03-31/functions/a%2Fb%20c/code");
}

TEST(CliPaths, ListAsksForPagesAfterTheMarker) {
  EXPECT_EQ(runtimed::list_target(std::nullopt), "/2015-03-31/functions/?MaxItems=1000");
  EXPECT_EQ(runtimed::list_target("fn-b"), "/2015-03-31/functions/?Marker=fn-b&MaxItems=1000");
}

TEST_F(CliArgsTest, ListTakesJsonFlag) {
  auto list = parse({"list", "--json"});
  EXPECT_EQ(list.command, ClientCommand::List);
  EXPECT_TRUE(list.options.json);
  EXPECT_FALSE(parse({"list"}).options.json);
}

TEST_F(CliArgsTest, InvokeDefaultsToEmptyObjectRequestResponse) {
  auto calls = calls_for({"invoke", "fn"});
  ASSERT_EQ(calls.size(), 1u);
  EXPECT_EQ(calls[0].method, "POST");
  EXPECT_EQ(calls[0].target, "/2015-03-31/functions/fn/invocations");
  EXPECT_EQ(calls[0].body, "{}");
  EXPECT_EQ(calls[0].headers,
            (std::map<std::string, std::string>{{"X-Amz-Invocation-Type", "RequestResponse"}}));
}

TEST_F(CliArgsTest, InvokeWithLogAndTypeSetsHeaders) {
  auto calls = calls_for({"invoke", "fn", "--log", "--type", "Event", "--payload", R"({"a":1})"});
  EXPECT_EQ(calls.at(0).body, R"({"a":1})");
  EXPECT_EQ(calls.at(0).headers,
            (std::map<std::string, std::string>{{"X-Amz-Invocation-Type", "Event"},
                                                {"X-Amz-Log-Type", "Tail"}}));
}

TEST_F(CliArgsTest, InvokeRefusesUnknownType) {
  EXPECT_THROW(parse({"invoke", "fn", "--type", "Sync"}), CLI::ValidationError);
}

TEST_F(CliArgsTest, InvokePayloadAtFileReadsTheFile) {
  const auto file = dir_.path() / "event.json";
  std::ofstream(file) << R"({"from":"file"})";
  auto calls = calls_for({"invoke", "fn", "--payload", "@" + file.string()});
  EXPECT_EQ(calls.at(0).body, R"({"from":"file"})");
}

TEST_F(CliArgsTest, InvokePayloadAtMissingFileIsAnError) {
  EXPECT_NE(calls_error({"invoke", "fn", "--payload", "@" + (dir_.path() / "nosuch").string()})
                .find("nosuch"),
            std::string::npos);
}

TEST_F(CliArgsTest, LogsQueryCarriesFollowAndTail) {
  EXPECT_EQ(calls_for({"logs", "fn", "--follow", "--tail", "20"}).at(0).target,
            "/runtimed/v1/functions/fn/logs?follow=1&tail=20");
  EXPECT_EQ(calls_for({"logs", "fn"}).at(0).target, "/runtimed/v1/functions/fn/logs");
}

TEST_F(CliArgsTest, LogsAllStartsAtOffsetZeroAndExcludesTail) {
  EXPECT_EQ(calls_for({"logs", "fn", "--all"}).at(0).target,
            "/runtimed/v1/functions/fn/logs?offset=0");
  EXPECT_THROW(parse({"logs", "fn", "--all", "--tail", "3"}), CLI::ParseError);
}

TEST_F(CliArgsTest, LogsRefusesNegativeTail) {
  EXPECT_THROW(parse({"logs", "fn", "--tail", "-3"}), CLI::ParseError);
}

TEST(CliBase64, RoundTripsAndRefusesGarbage) {
  EXPECT_EQ(common::base64_encode("hello"), "aGVsbG8=");
  EXPECT_EQ(common::base64_decode("aGVsbG8=").value(), "hello");
  EXPECT_EQ(common::base64_decode("aGk=").value(), "hi");
  EXPECT_EQ(common::base64_decode("").value(), "");
  EXPECT_FALSE(common::base64_decode("a!b@"));
}

TEST(CliTable, AlignsColumnsUnderHeader) {
  const json functions = json::array({{{"FunctionName", "a"},
                                       {"Runtime", "provided.al2023"},
                                       {"MemorySize", 128},
                                       {"Timeout", 3},
                                       {"LastModified", "2026-01-01T00:00:00.000+0000"}},
                                      {{"FunctionName", "longer-name"},
                                       {"Runtime", "python3.12"},
                                       {"MemorySize", 1024},
                                       {"Timeout", 900},
                                       {"LastModified", "2026-01-02T00:00:00.000+0000"}}});
  EXPECT_EQ(runtimed::format_function_table(functions),
            "NAME         RUNTIME          MEMORY  TIMEOUT  LAST-MODIFIED\n"
            "a            provided.al2023  128     3        2026-01-01T00:00:00.000+0000\n"
            "longer-name  python3.12       1024    900      2026-01-02T00:00:00.000+0000\n");
}

}  // namespace
