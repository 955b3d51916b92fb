// StemPool: prewarmed runtimes per language (see stem_pool.hpp).
#include "runtimed/controller/stem_pool.hpp"

#include <spdlog/spdlog.h>

#include <chrono>

namespace runtimed {

StemPool::StemPool(sandbox::SandboxHost& host, sandbox::PrepareOptions shape,
                   std::map<std::string, sandbox::StemSpec> specs, size_t per_language)
    : host_(host), shape_(shape), specs_(std::move(specs)), per_language_(per_language) {
  if (per_language_ > 0 && !specs_.empty()) refiller_ = std::thread([this] { refill_loop(); });
}

StemPool::~StemPool() { stop(); }

void StemPool::stop() {
  {
    common::MutexLock lock(mu_);
    stopping_ = true;
  }
  cv_.notify_all();
  if (refiller_.joinable()) refiller_.join();
  std::map<std::string, std::deque<std::unique_ptr<sandbox::Environment>>> released;
  {
    common::MutexLock lock(mu_);
    released.swap(ready_);
  }
}

size_t StemPool::ready_count() {
  common::MutexLock lock(mu_);
  size_t n = 0;
  for (const auto& [language, stems] : ready_) n += stems.size();
  return n;
}

std::unique_ptr<sandbox::Environment> StemPool::take(const std::string& language,
                                                     const sandbox::PrepareOptions& shape) {
  if (!(shape == shape_)) return nullptr;
  std::unique_ptr<sandbox::Environment> stem;
  std::vector<std::unique_ptr<sandbox::Environment>> dead;  // destroyed outside the lock
  {
    common::MutexLock lock(mu_);
    auto it = ready_.find(language);
    while (it != ready_.end() && !it->second.empty()) {
      auto candidate = std::move(it->second.front());
      it->second.pop_front();
      if (candidate->stem_alive()) {
        stem = std::move(candidate);
        break;
      }
      dead.push_back(std::move(candidate));
    }
  }
  cv_.notify_all();
  if (!dead.empty()) spdlog::warn("stem pool: {} {} stem(s) had ended", dead.size(), language);
  return stem;
}

void StemPool::refill_loop() {
  common::MutexLock lock(mu_);
  int failures = 0;
  while (!stopping_) {
    cv_.wait_for(lock, std::chrono::milliseconds(500), [&]() REQUIRES(mu_) {
      if (stopping_) return true;
      for (const auto& [language, spec] : specs_)
        if (ready_[language].size() < per_language_) return true;
      return false;
    });
    if (stopping_) break;
    for (const auto& [language, spec] : specs_) {
      while (!stopping_ && ready_[language].size() < per_language_) {
        lock.unlock();
        auto env = host_.prepare(shape_);
        sandbox::Result<void> started =
            env ? (*env)->start_stem(spec) : std::unexpected(env.error());
        lock.lock();
        if (!started) {
          spdlog::warn("stem pool: starting a {} stem failed: {}", language,
                       started.error().to_string());
          ++failures;
          cv_.wait_for(lock, std::chrono::milliseconds(std::min(30000, 500 * failures)),
                       [&]() REQUIRES(mu_) { return stopping_; });
          break;
        }
        failures = 0;
        ready_[language].push_back(std::move(*env));
      }
    }
  }
}

}  // namespace runtimed
