// Stem cells: environments whose runtime (interpreter and bootstrap) is already started and waits
// for its function, one small pool per managed language. A cold start of a function that can use
// one skips the interpreter's start-up (tens of milliseconds for python and node), as OpenWhisk's
// prewarmed containers do. Each stem serves one function once, like any environment: nothing is
// shared between environments, and until launch it runs only the runtime's own bootstrap.
#pragma once

#include <condition_variable>
#include <deque>
#include <map>
#include <memory>
#include <string>
#include <thread>

#include "common/thread_annotations.hpp"
#include "sandbox/sandbox_host.hpp"

namespace runtimed {

class StemPool {
 public:
  // Keeps `per_language` stems of each spec ready, in environments shaped as `shape`.
  StemPool(sandbox::SandboxHost& host, sandbox::PrepareOptions shape,
           std::map<std::string, sandbox::StemSpec> specs, size_t per_language);
  ~StemPool();
  StemPool(const StemPool&) = delete;
  StemPool& operator=(const StemPool&) = delete;

  // A live stem of `language` in an environment of `shape`, or null (none ready, another shape):
  // the caller then starts cold as usual.
  std::unique_ptr<sandbox::Environment> take(const std::string& language,
                                             const sandbox::PrepareOptions& shape);
  size_t ready_count();
  // Stops refilling and releases the stems.
  void stop();

 private:
  void refill_loop();

  sandbox::SandboxHost& host_;
  const sandbox::PrepareOptions shape_;
  const std::map<std::string, sandbox::StemSpec> specs_;
  const size_t per_language_;
  common::Mutex mu_;
  std::condition_variable_any cv_;
  std::map<std::string, std::deque<std::unique_ptr<sandbox::Environment>>> ready_ GUARDED_BY(mu_);
  bool stopping_ GUARDED_BY(mu_) = false;
  std::thread refiller_;
};

}  // namespace runtimed
