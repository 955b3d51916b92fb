// Prepared environments kept ready ahead of demand (cgroups made and attached, net namespace and
// Runtime API socket, /tmp formatted, init waiting), refilled in batches by a background thread so
// a cold start pays only for launch().
#pragma once

#include <condition_variable>
#include <cstdint>
#include <deque>
#include <memory>
#include <thread>

#include "common/thread_annotations.hpp"
#include "sandbox/sandbox_host.hpp"

namespace runtimed {

class EnvironmentPool {
 public:
  // Keeps `target` environments shaped as `shape` ready (0 disables pooling).
  EnvironmentPool(sandbox::SandboxHost& host, size_t target, sandbox::PrepareOptions shape);
  ~EnvironmentPool();
  EnvironmentPool(const EnvironmentPool&) = delete;
  EnvironmentPool& operator=(const EnvironmentPool&) = delete;

  // A prepared environment: from the pool when its shape matches, else prepared now.
  sandbox::Result<std::unique_ptr<sandbox::Environment>> take(const sandbox::PrepareOptions& shape);
  size_t ready_count();
  // Stops refilling and releases the pooled environments.
  void stop();

 private:
  void refill_loop();

  sandbox::SandboxHost& host_;
  const size_t target_;
  const sandbox::PrepareOptions shape_;
  common::Mutex mu_;
  std::condition_variable_any cv_;
  std::deque<std::unique_ptr<sandbox::Environment>> ready_ GUARDED_BY(mu_);
  bool stopping_ GUARDED_BY(mu_) = false;
  std::thread refiller_;
};

}  // namespace runtimed
