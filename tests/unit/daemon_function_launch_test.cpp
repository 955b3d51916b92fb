// What a function's runtime starts with: its environment (the function's variables over the
// defaults) and whether a waiting stem can become it.
#include <gtest/gtest.h>

#include <algorithm>

#include "runtimed/controller/function_launch.hpp"

namespace runtimed {
namespace {

common::FunctionConfig python_function(std::map<std::string, std::string> environment = {}) {
  common::FunctionConfig config;
  config.name = "fn";
  config.runtime = "python3.12";
  config.handler = "app.handler";
  config.environment = std::move(environment);
  return config;
}

size_t count_of(const std::vector<std::string>& env, const std::string& key) {
  return static_cast<size_t>(std::count_if(
      env.begin(), env.end(), [&](const std::string& e) { return e.starts_with(key + "="); }));
}

TEST(LambdaEnvironment, TheFunctionsVariablesReplaceTheDefaultsOfTheSameName) {
  const auto env = lambda_environment(
      python_function({{"PYTHONPATH", "/var/task/vendor"}, {"TZ", "JST-9"}, {"MINE", "1"}}),
      HostIdentity{}, "stream");
  EXPECT_EQ(count_of(env, "PYTHONPATH"), 1u);
  EXPECT_EQ(count_of(env, "TZ"), 1u);
  EXPECT_NE(std::find(env.begin(), env.end(), "PYTHONPATH=/var/task/vendor"), env.end());
  EXPECT_NE(std::find(env.begin(), env.end(), "TZ=JST-9"), env.end());
  EXPECT_NE(std::find(env.begin(), env.end(), "MINE=1"), env.end());
  EXPECT_NE(std::find(env.begin(), env.end(), "_HANDLER=app.handler"), env.end());
}

TEST(StemLanguage, AStemBecomesOnlyAFunctionWhoseInterpreterWouldHaveStartedTheSame) {
  std::map<std::string, sandbox::StemSpec> stems;
  stems["python"].argv = {"/usr/bin/python3", "-u", "/var/runtime/bootstrap.py"};
  stems["python"].runtime_dir = "/runtimes/python";
  const Entrypoint entry{stems["python"].argv, "/runtimes/python"};
  EXPECT_EQ(stem_language(python_function(), entry, stems), "python");
  EXPECT_EQ(stem_language(python_function({{"PYTHONPATH", "/x"}, {"TZ", "UTC"}}), entry, stems),
            "python");
  for (const char* key : {"PYTHONDONTWRITEBYTECODE", "PYTHONHASHSEED", "LD_PRELOAD",
                          "LD_LIBRARY_PATH", "LANG", "LC_ALL", "AWS_LAMBDA_EXEC_WRAPPER"})
    EXPECT_EQ(stem_language(python_function({{key, "1"}}), entry, stems), "") << key;
  // Another interpreter or bootstrap than the stem's, or no stem of the language.
  EXPECT_EQ(stem_language(python_function(), Entrypoint{{"/usr/bin/python3", "x.py"}, ""}, stems),
            "");
  auto node = python_function();
  node.runtime = "nodejs20.x";
  EXPECT_EQ(stem_language(node, entry, stems), "");
  // Node's: NODE_PATH may change, NODE_OPTIONS and libuv's UV_* may not.
  stems["nodejs"].argv = {"/usr/bin/node", "--max-old-space-size=115", "--max-semi-space-size=6",
                          "/var/runtime/bootstrap.cjs"};
  stems["nodejs"].runtime_dir = "/runtimes/nodejs";
  const Entrypoint node_entry{stems["nodejs"].argv, "/runtimes/nodejs"};
  EXPECT_EQ(stem_language(node, node_entry, stems), "nodejs");
  node.environment = {{"NODE_PATH", "/x"}, {"PYTHONHASHSEED", "1"}};
  EXPECT_EQ(stem_language(node, node_entry, stems), "nodejs");
  for (const char* key : {"NODE_OPTIONS", "NODE_EXTRA_CA_CERTS", "UV_THREADPOOL_SIZE"}) {
    node.environment = {{key, "1"}};
    EXPECT_EQ(stem_language(node, node_entry, stems), "") << key;
  }
  auto provided = python_function();
  provided.runtime = "provided.al2023";
  EXPECT_EQ(stem_language(provided, entry, stems), "");
  EXPECT_EQ(stem_language(python_function(), entry, {}), "");
}

}  // namespace
}  // namespace runtimed
