// `runtimed bench` and `runtimed drain` against a real daemon, checked against the daemon's own
// /metrics (itself checked by promtool).
#include <gtest/gtest.h>

#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <regex>

#include "runtimed/bench/cold_phases.hpp"
#include "tests/integration/daemon_test.hpp"

namespace {

using testsupport::DaemonTest;

class BenchTest : public DaemonTest {
 protected:
  void SetUp() override {
    start();
    endpoint_ = "http://127.0.0.1:" + std::to_string(daemon_->port());
  }

  testsupport::CommandRun bench(std::vector<std::string> args) {
    args.insert(args.begin(),
                {testsupport::bin_path("runtimed").string(), "bench", "--endpoint", endpoint_});
    return testsupport::run_command(args);
  }

  std::string metrics() {
    auto r = daemon_->client().Get("/metrics");
    EXPECT_TRUE(r);
    if (!r) return {};
    EXPECT_EQ(r->status, 200);
    EXPECT_EQ(r->get_header_value("Content-Type"), "text/plain; version=0.0.4; charset=utf-8");
    return r->body;
  }

  // The value of the sample `name{labels}` in the exposition (0 when absent).
  static double sample(const std::string& text, const std::string& series) {
    const auto at = text.find("\n" + series + " ");
    if (at == std::string::npos) return 0;
    return std::stod(text.substr(at + series.size() + 2));
  }

  nlohmann::json read_json(const std::filesystem::path& path) {
    std::ifstream in(path);
    return nlohmann::json::parse(in, nullptr, false);
  }

  testsupport::TempDir scratch_{"rt-bench"};
  std::string endpoint_;
};

TEST_F(BenchTest, ColdModeGivesColdSamplesMatchingTheDaemonsColdStartCounter) {
  ASSERT_EQ(daemon_->create_function("noop"), 201);
  ASSERT_EQ(daemon_->invoke("noop", "{}")->status, 200);
  const double before = sample(metrics(), "runtimed_cold_starts_total{function=\"noop\"}");
  EXPECT_EQ(before, 1);
  const auto json = scratch_.path() / "cold.json";
  auto run = bench({"cold", "--function", "noop", "--count", "5", "--json", json.string()});
  ASSERT_EQ(run.status, 0) << run;
  EXPECT_NE(run.out.find("cold "), std::string::npos) << run;
  const auto result = read_json(json);
  ASSERT_TRUE(result.is_object());
  ASSERT_EQ(result["samples"].size(), 5u);
  for (const auto& s : result["samples"]) {
    EXPECT_EQ(s["status"], 200);
    EXPECT_EQ(s["cold"], true) << s.dump();
    EXPECT_TRUE(s.contains("initDurationMs")) << s.dump();
  }
  EXPECT_EQ(result["summary"]["cold"]["count"], 5);
  // The bench's probe call is warm; each of the five is a cold start the daemon counted.
  const double after = sample(metrics(), "runtimed_cold_starts_total{function=\"noop\"}");
  EXPECT_EQ(after - before, 5);
}

// Init Duration also holds the runtime's own start (exec, dynamic loading), measured here by the
// same runtime without the sleep: the difference is the 200 ms, within 10 %.
TEST_F(BenchTest, AnInitSleepOf200MsIsReportedAsItsInitDuration) {
  ASSERT_EQ(daemon_->create_function("fastinit"), 201);
  ASSERT_EQ(daemon_->create_function(
                "slowinit", {{"Environment", {{"Variables", {{"INIT_SLEEP_MS", "200"}}}}}}),
            201);
  const auto median_init = [&](const std::string& function) {
    const auto json = scratch_.path() / (function + ".json");
    auto run = bench({"cold", "--function", function, "--count", "5", "--json", json.string()});
    EXPECT_EQ(run.status, 0) << run;
    const auto result = read_json(json);
    std::vector<double> inits;
    for (const auto& s : result["samples"]) inits.push_back(s.value("initDurationMs", -1.0));
    EXPECT_EQ(inits.size(), 5u);
    std::sort(inits.begin(), inits.end());
    return inits.empty() ? -1.0 : inits[inits.size() / 2];
  };
  const double base = median_init("fastinit");
  const double slow = median_init("slowinit");
  EXPECT_GE(slow - base, 200 * 0.9) << "with sleep " << slow << " ms, without " << base << " ms";
  EXPECT_LE(slow - base, 200 * 1.1) << "with sleep " << slow << " ms, without " << base << " ms";
}

TEST_F(BenchTest, AColdStartTellsItsPhasesWhenAskedAndTheBenchBreaksColdLatencyDown) {
  ASSERT_EQ(daemon_->create_function(
                "slowinit", {{"Environment", {{"Variables", {{"INIT_SLEEP_MS", "100"}}}}}}),
            201);
  auto first = daemon_->invoke("slowinit", "{}", {{"X-Runtimed-Phases", "1"}});
  ASSERT_EQ(first->status, 200);
  const auto phases =
      runtimed::bench::parse_cold_phases(first->get_header_value("X-Runtimed-Cold-Start-Phases"));
  ASSERT_TRUE(phases) << first->get_header_value("X-Runtimed-Cold-Start-Phases");
  EXPECT_GE(phases->init_ms, 100);
  EXPECT_GT(phases->launch_ms, 0);
  // Warm: no phases; cold but not asked: none either.
  auto warm = daemon_->invoke("slowinit", "{}", {{"X-Runtimed-Phases", "1"}});
  EXPECT_FALSE(warm->has_header("X-Runtimed-Cold-Start-Phases"));
  ASSERT_EQ(daemon_->client().Post("/runtimed/v1/functions/slowinit/drain")->status, 200);
  auto unasked = daemon_->invoke("slowinit", "{}");
  EXPECT_FALSE(unasked->has_header("X-Runtimed-Cold-Start-Phases"));

  const auto json = scratch_.path() / "phases.json";
  const auto csv = scratch_.path() / "phases.csv";
  auto run = bench({"cold", "--function", "slowinit", "--count", "3", "--json", json.string(),
                    "--csv", csv.string()});
  ASSERT_EQ(run.status, 0) << run;
  EXPECT_NE(run.out.find("cold start phases"), std::string::npos) << run;
  const auto result = read_json(json);
  ASSERT_EQ(result["samples"].size(), 3u);
  for (const auto& s : result["samples"]) {
    ASSERT_TRUE(s.contains("phases")) << s.dump();
    const auto& p = s["phases"];
    // Init is REPORT's Init Duration, invoke its Duration; all three fit in the client's latency.
    EXPECT_NEAR(p["initMs"].get<double>(), s["initDurationMs"].get<double>(), 0.1) << s.dump();
    EXPECT_NEAR(p["invokeMs"].get<double>(), s["durationMs"].get<double>(), 0.1) << s.dump();
    EXPECT_LE(p["launchMs"].get<double>() + p["initMs"].get<double>() + p["invokeMs"].get<double>(),
              s["latencyMs"].get<double>())
        << s.dump();
  }
  EXPECT_EQ(result["summary"]["coldPhases"]["init"]["count"], 3);
  std::ifstream csv_in(csv);
  std::string header;
  std::getline(csv_in, header);
  EXPECT_NE(header.find(",launch_ms,init_ms,invoke_ms,"), std::string::npos) << header;
}

TEST_F(BenchTest, CheckExitsOneWhenAThresholdFailsAndZeroWhenAllHold) {
  ASSERT_EQ(daemon_->create_function("noop"), 201);
  auto pass = bench({"warm", "--function", "noop", "--count", "20", "--concurrency", "2", "--check",
                     "errors==0,all.count==20,cold_ratio<0.5"});
  EXPECT_EQ(pass.status, 0) << pass;
  EXPECT_NE(pass.out.find("ok   errors==0"), std::string::npos) << pass;
  auto fail = bench({"warm", "--function", "noop", "--count", "5", "--check", "warm.p50<1us"});
  EXPECT_EQ(fail.status, 1) << fail;
  EXPECT_NE(fail.out.find("FAIL warm.p50<1us"), std::string::npos) << fail;
  auto bad = bench({"warm", "--function", "noop", "--check", "warm.p42<1ms"});
  EXPECT_EQ(bad.status, 64) << bad;
  auto missing = bench({"warm", "--function", "nope", "--count", "1"});
  EXPECT_EQ(missing.status, 2) << missing;
}

TEST_F(BenchTest, RateModeHoldsItsArrivalRate) {
  ASSERT_EQ(daemon_->create_function("noop"), 201);
  const auto csv = scratch_.path() / "rate.csv";
  auto run = bench({"rate", "--function", "noop", "--rps", "200", "--duration", "2", "--csv",
                    csv.string(), "--check", "errors==0,throttles==0"});
  ASSERT_EQ(run.status, 0) << run;
  std::ifstream in(csv);
  std::string line;
  size_t rows = 0;
  double last_start = 0;
  std::getline(in, line);  // header
  while (std::getline(in, line)) {
    ++rows;
    last_start = std::stod(line.substr(0, line.find(',')));
  }
  EXPECT_EQ(rows, 400u);
  // Intended send times span the 2 s: 400 arrivals at 200/s, the last due at ~1995 ms.
  EXPECT_NEAR(last_start, 2000, 100);
}

TEST_F(BenchTest, RampModeRisesLinearlyToItsRate) {
  ASSERT_EQ(daemon_->create_function("noop"), 201);
  const auto json = scratch_.path() / "ramp.json";
  auto run = bench({"rate", "--ramp", "--function", "noop", "--rps", "400", "--duration", "2",
                    "--json", json.string(), "--check", "errors==0"});
  ASSERT_EQ(run.status, 0) << run;
  const auto result = read_json(json);
  // 0 → 400/s over 2 s: 400 calls, a quarter of them due in the first second.
  ASSERT_EQ(result["samples"].size(), 400u);
  size_t first_half = 0;
  double last_start = 0;
  for (const auto& s : result["samples"]) {
    const double start = s["startMs"].get<double>();
    // Times count from the run's start; the schedule starts 50 ms later.
    if (start < 1050) ++first_half;
    last_start = std::max(last_start, start);
  }
  EXPECT_NEAR(static_cast<double>(first_half), 100, 10);
  EXPECT_NEAR(last_start, 2050, 100);
}

// Freeze after 200 ms idle, retire after 2 s: no gap finds it running, 1 s finds it frozen, 3 s
// finds it gone.
TEST(BenchIdle, IdleGapsShowWarmThawedAndColdCallsAsTheDaemonFreezesAndRetires) {
  testsupport::DaemonProcess daemon({"--freeze-after", "200", "--keep-alive", "2"});
  ASSERT_EQ(daemon.create_function("noop"), 201);
  testsupport::TempDir scratch("rt-bench-idle");
  const auto json = scratch.path() / "idle.json";
  auto run = testsupport::run_command(
      {testsupport::bin_path("runtimed").string(), "bench", "idle", "--endpoint",
       "http://127.0.0.1:" + std::to_string(daemon.port()), "--function", "noop", "--gaps",
       "0s,1s,3s", "--samples", "1", "--json", json.string()});
  ASSERT_EQ(run.status, 0) << run;
  EXPECT_NE(run.out.find("thawed"), std::string::npos) << run;
  std::ifstream in(json);
  const auto result = nlohmann::json::parse(in, nullptr, false);
  ASSERT_TRUE(result.contains("idle")) << result.dump();
  const auto& idle = result["idle"];
  ASSERT_EQ(idle.size(), 3u) << idle.dump();
  EXPECT_EQ(idle[0]["gapSeconds"], 0);
  EXPECT_EQ(idle[0]["warm"], 1) << idle.dump();
  EXPECT_EQ(idle[1]["gapSeconds"], 1);
  EXPECT_EQ(idle[1]["thawed"], 1) << idle.dump();
  EXPECT_GT(idle[1]["thawMs"].get<double>(), 0) << idle.dump();
  EXPECT_EQ(idle[2]["cold"], 1) << idle.dump();
  for (const auto& s : result["samples"]) EXPECT_TRUE(s.contains("idleGapSeconds")) << s.dump();
  testsupport::expect_clean_stop(daemon);
}

TEST_F(BenchTest, MemoryModeSweepsSizesWithColdAndWarmCallsAndPutsTheSizeBack) {
  ASSERT_EQ(daemon_->create_function("noop", {{"MemorySize", 192}}), 201);
  const auto json = scratch_.path() / "memory.json";
  auto run = bench({"memory", "--function", "noop", "--sizes", "128,256", "--count", "2", "--json",
                    json.string()});
  ASSERT_EQ(run.status, 0) << run;
  EXPECT_NE(run.out.find("GB-s/call"), std::string::npos) << run;
  EXPECT_NE(run.out.find("MemorySize put back to 192 MB"), std::string::npos) << run;
  const auto result = read_json(json);
  ASSERT_EQ(result["samples"].size(), 8u);
  for (const auto& s : result["samples"]) {
    EXPECT_EQ(s["status"], 200) << s.dump();
    // The REPORT says the size the sample was taken at.
    EXPECT_EQ(s["memorySizeMB"], s["configuredMemoryMB"]) << s.dump();
  }
  const auto& memory = result["memory"];
  ASSERT_EQ(memory.size(), 2u);
  for (size_t i = 0; i < 2; ++i) {
    EXPECT_EQ(memory[i]["memoryMB"], i == 0 ? 128 : 256);
    EXPECT_EQ(memory[i]["cold"]["count"], 2) << memory.dump();
    EXPECT_EQ(memory[i]["warm"]["count"], 2) << memory.dump();
    EXPECT_GE(memory[i]["billedDurationMs"].get<double>(), 1) << memory.dump();
    EXPECT_GT(memory[i]["gbSecondsPerInvocation"].get<double>(), 0) << memory.dump();
  }
  auto config = daemon_->client().Get("/2015-03-31/functions/noop/configuration");
  ASSERT_TRUE(config);
  EXPECT_EQ(nlohmann::json::parse(config->body)["MemorySize"], 192);
  // A size Lambda does not have is refused before anything runs.
  auto bad = bench({"memory", "--function", "noop", "--sizes", "64"});
  EXPECT_EQ(bad.status, 64) << bad;
}

TEST_F(BenchTest, ReplaySendsATracesBusiestFunctionsCallsOntoTheFunctions) {
  ASSERT_EQ(daemon_->create_function("fa"), 201);
  ASSERT_EQ(daemon_->create_function("fb"), 201);
  // Three trace functions over two minutes; the two busiest (60 and 40 calls) are replayed at
  // 60x: two trace minutes in two seconds.
  const auto trace = scratch_.path() / "invocations_per_function_md.anon.d01.csv";
  std::ofstream(trace) << "HashOwner,HashApp,HashFunction,Trigger,1,2\n"
                          "o1,a1,quiet,timer,1,1\n"
                          "o1,a1,busy,http,30,30\n"
                          "o2,a2,middle,queue,10,30\n";
  const auto csv = scratch_.path() / "replay.csv";
  auto run = bench({"replay", "--function", "fa,fb", "--trace", trace.string(), "--functions", "2",
                    "--speedup", "60", "--spread", "even", "--csv", csv.string(), "--check",
                    "errors==0,all.count==100"});
  ASSERT_EQ(run.status, 0) << run;
  EXPECT_NE(run.out.find("the 2 busiest of 3 trace functions"), std::string::npos) << run;
  std::ifstream in(csv);
  std::string line;
  std::getline(in, line);
  ASSERT_TRUE(line.ends_with(",function")) << line;
  std::map<std::string, std::vector<double>> starts;
  while (std::getline(in, line)) {
    const auto name = line.substr(line.rfind(',') + 1);
    starts[name].push_back(std::stod(line.substr(0, line.find(','))));
  }
  ASSERT_EQ(starts["fa"].size(), 60u);
  ASSERT_EQ(starts["fb"].size(), 40u);
  // Trace minute 1 is the first second: fb ("middle") has 10 calls in it, due 50 ms apart.
  size_t fb_first_second = 0;
  for (double s : starts["fb"]) fb_first_second += s < 1050 ? 1 : 0;
  EXPECT_EQ(fb_first_second, 10u);
  EXPECT_NEAR(*std::max_element(starts["fa"].begin(), starts["fa"].end()), 2050, 60);
  auto missing = bench({"replay", "--function", "fa", "--trace", "/nonexistent.csv"});
  EXPECT_EQ(missing.status, 2) << missing;
}

TEST_F(BenchTest, TheHtmlReportIsOnePageOfInlineSvgChartsLoadingNothing) {
  ASSERT_EQ(daemon_->create_function("noop"), 201);
  const auto html_file = scratch_.path() / "report.html";
  auto run = bench({"cold", "--function", "noop", "--count", "3", "--html", html_file.string()});
  ASSERT_EQ(run.status, 0) << run;
  std::ifstream in(html_file);
  const std::string html((std::istreambuf_iterator<char>(in)), {});
  ASSERT_TRUE(html.starts_with("<!DOCTYPE html>")) << html.substr(0, 200);
  EXPECT_TRUE(html.ends_with("</html>\n"));
  // Well-formed enough for a browser: every element the page uses is closed as often as opened.
  for (const std::string tag : {"html", "head", "body", "svg", "table", "g", "h1", "h2", "p"}) {
    const std::regex open("<" + tag + R"([\s>])");
    const std::regex close("</" + tag + ">");
    const auto opened = std::distance(std::sregex_iterator(html.begin(), html.end(), open), {});
    const auto closed = std::distance(std::sregex_iterator(html.begin(), html.end(), close), {});
    EXPECT_EQ(opened, closed) << tag;
  }
  // The latency CDF and latency over time, with the three cold starts marked.
  const std::regex svg_open("<svg ");
  const auto svgs = std::distance(std::sregex_iterator(html.begin(), html.end(), svg_open), {});
  EXPECT_EQ(svgs, 2);
  EXPECT_NE(html.find("Latency CDF"), std::string::npos);
  EXPECT_NE(html.find("data-name=\"cold start\""), std::string::npos);
  EXPECT_EQ(html.find("http://"), std::string::npos);
  EXPECT_EQ(html.find("https://"), std::string::npos);
  EXPECT_EQ(html.find("<script"), std::string::npos);
}

TEST_F(BenchTest, TheBaselineMeasuresTheClientAgainstALoopbackServerBesideTheRun) {
  ASSERT_EQ(daemon_->create_function("noop"), 201);
  const auto json = scratch_.path() / "baseline.json";
  auto run =
      bench({"warm", "--function", "noop", "--count", "50", "--baseline", "--json", json.string()});
  ASSERT_EQ(run.status, 0) << run;
  EXPECT_NE(run.out.find("client overhead"), std::string::npos) << run;
  EXPECT_NE(run.out.find("this run: all p50"), std::string::npos) << run;
  const auto result = read_json(json);
  const auto& overhead = result["clientOverhead"];
  EXPECT_EQ(overhead["perCall"]["count"], 1000);
  EXPECT_GT(overhead["perCall"]["p50"].get<double>(), 0);
  EXPECT_GT(overhead["maxRate"].get<double>(), 100);
  // Overhead mode needs no endpoint and no function.
  auto alone =
      testsupport::run_command({testsupport::bin_path("runtimed").string(), "bench", "overhead"});
  EXPECT_EQ(alone.status, 0) << alone;
  EXPECT_NE(alone.out.find("max rate"), std::string::npos) << alone;
}

TEST_F(BenchTest, DrainDiscardsWarmEnvironmentsAndAnswersHowMany) {
  ASSERT_EQ(daemon_->create_function("noop"), 201);
  ASSERT_EQ(daemon_->invoke("noop", "{}")->status, 200);
  auto drained = testsupport::run_command(
      {testsupport::bin_path("runtimed").string(), "drain", "noop", "--endpoint", endpoint_});
  ASSERT_EQ(drained.status, 0) << drained;
  EXPECT_EQ(nlohmann::json::parse(drained.out)["DiscardedEnvironments"], 1) << drained;
  auto unknown = daemon_->client().Post("/runtimed/v1/functions/nope/drain");
  ASSERT_TRUE(unknown);
  EXPECT_EQ(unknown->status, 404);
  EXPECT_EQ(unknown->get_header_value("x-amzn-ErrorType"), "ResourceNotFoundException");
}

TEST_F(BenchTest, MetricsPassPromtoolAndCountInvocationsByOutcome) {
  ASSERT_EQ(daemon_->create_function("noop"), 201);
  for (int i = 0; i < 3; ++i) ASSERT_EQ(daemon_->invoke("noop", "{}")->status, 200);
  EXPECT_EQ(daemon_->client().Get("/2015-03-31/functions/no-such-fn")->status, 404);
  EXPECT_EQ(daemon_->client().Get("/no/such/route")->status, 404);
  const std::string text = metrics();
  // Requests by route pattern and status, never by raw path.
  EXPECT_EQ(sample(text, R"(runtimed_http_requests_total{route="POST /2015-03-31/functions/)"
                         R"({name...}/invocations",code="200"})"),
            3)
      << text;
  EXPECT_EQ(sample(text, R"(runtimed_http_requests_total{route="GET /2015-03-31/functions/{name}",)"
                         R"(code="404"})"),
            1);
  EXPECT_EQ(sample(text, R"(runtimed_http_requests_total{route="unmatched",code="404"})"), 1);
  EXPECT_EQ(text.find("no-such"), std::string::npos);
  EXPECT_EQ(sample(text, R"(runtimed_http_request_duration_seconds_count{route="POST )"
                         R"(/2015-03-31/functions/{name...}/invocations"})"),
            3);
  EXPECT_EQ(sample(text, "runtimed_invocations_total{function=\"noop\",outcome=\"success\"}"), 3)
      << text;
  EXPECT_GT(sample(text, "runtimed_memory_budget_bytes"), 0) << text;
  EXPECT_EQ(text.find("functions/noop/invocations"), std::string::npos) << text;
  const auto file = scratch_.path() / "metrics.txt";
  std::ofstream(file) << text;
  auto check =
      testsupport::run_command({"/bin/sh", "-c", "promtool check metrics < " + file.string()});
  EXPECT_EQ(check.status, 0) << check << text;
}

}  // namespace
