// A GoogleTest fixture owning one real daemon, and the checks that every managed runtime must pass
// alike. At the end of each test the daemon must stop cleanly and leave nothing behind.
#pragma once

#include <gtest/gtest.h>
#include <sys/wait.h>

#include <chrono>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "tests/integration/daemon_process.hpp"

namespace testsupport {

// SIGTERM, a clean exit, and no cgroup, mount or loop device of the daemon's left.
inline void expect_clean_stop(DaemonProcess& daemon) {
  const auto parent = daemon.cgroup_parent();
  const auto state = daemon.state_dir();
  const int status = daemon.stop();
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << daemon.daemon_log();
  EXPECT_EQ(leftovers(parent, state), std::vector<std::string>{});
}

class DaemonTest : public ::testing::Test {
 protected:
  void start(std::vector<std::string> extra = {}) {
    daemon_ = std::make_unique<DaemonProcess>(std::move(extra));
  }
  // Replaces the daemon with one that keeps stems (test daemons have none unless asked) and waits
  // until `expected` are ready; answers how many are.
  int restart_with_stems(int expected) {
    expect_clean_stop(*daemon_);
    start({"--stem-cells", "1"});
    for (int i = 0; i < 300 && daemon_->health()["stems"] != expected; ++i)
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    return daemon_->health().value("stems", -1);
  }
  void TearDown() override {
    if (!daemon_) return;
    expect_clean_stop(*daemon_);
    daemon_.reset();
  }
  std::unique_ptr<DaemonProcess> daemon_;
};

// `fn` counts its invocations in module state and sleeps past its 1 s timeout on `slow_event`:
// the count survives warm invocations and restarts after the timeout killed the environment.
inline void expect_state_kept_warm_and_lost_after_timeout(DaemonProcess& daemon,
                                                          const std::string& fn,
                                                          const std::string& slow_event) {
  for (int expected = 1; expected <= 3; ++expected) {
    auto r = daemon.invoke(fn, "{}");
    ASSERT_EQ(r->status, 200) << r->body;
    EXPECT_EQ(body_json(r)["count"], expected);
  }
  auto slow = daemon.invoke(fn, slow_event);
  EXPECT_EQ(body_json(slow)["errorType"], "Sandbox.Timedout");
  auto after = daemon.invoke(fn, "{}");
  ASSERT_EQ(after->status, 200) << after->body;
  EXPECT_EQ(body_json(after)["count"], 1);
}

// `fn` returns its event: a JSON string just under 6 MB comes back byte for byte.
inline void expect_payload_near_six_megabytes_echoed(DaemonProcess& daemon, const std::string& fn) {
  const std::string payload = "\"" + std::string(6 * 1024 * 1024 - 200, 'x') + "\"";
  auto r = daemon.invoke(fn, payload);
  ASSERT_EQ(r->status, 200);
  EXPECT_EQ(header(r, "X-Amz-Function-Error"), "");
  EXPECT_EQ(r->body.size(), payload.size());
  EXPECT_EQ(r->body, payload);
}

// `fn` answers {"text": event.text, <count_field>: number of code points}.
inline void expect_unicode_round_trip(DaemonProcess& daemon, const std::string& fn,
                                      const std::string& count_field) {
  const std::string text = "héllo ✓ 日本語 😀";
  auto r = daemon.invoke(fn, nlohmann::json{{"text", text}}.dump());
  ASSERT_EQ(r->status, 200) << r->body;
  auto u = body_json(r);
  EXPECT_EQ(u["text"], text);
  EXPECT_EQ(u[count_field], 13);
}

}  // namespace testsupport
