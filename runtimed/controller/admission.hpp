// Whether an invocation may run now: the host's concurrency limit, reserved concurrency (a
// function with a reservation is held to it; every other function shares what the reservations
// leave, as on Lambda) and the memory budget environments are placed in. Plain counters, no lock
// and no kernel: the controller calls it under its own mutex, and it is unit-tested on its own.
#pragma once

#include <cstddef>
#include <cstdint>
#include <expected>
#include <optional>
#include <string>
#include <unordered_map>

namespace runtimed {

class Admission {
 public:
  enum class Refusal {
    ConcurrencyLimit,  // the unreserved pool or the host's limit is full
    ReservedLimit,     // the function's reservation is full
  };
  // A running invocation's place, handed back to release().
  struct Slot {
    bool reserved = false;
  };
  struct Capacity {
    size_t limit = 0;
    size_t busy = 0;
  };

  Admission(size_t concurrency_limit, uint64_t memory_budget_mb)
      : concurrency_limit_(concurrency_limit), memory_budget_mb_(memory_budget_mb) {}

  // One more invocation of `function`, or why not.
  std::expected<Slot, Refusal> acquire(const std::string& function);
  void release(const std::string& function, Slot slot);

  // Memory is counted per account too ("" the daemon's own, else the scope of the function's
  // name, common/account_scope.hpp), so an account's share can be capped (--credentials'
  // max_memory_mb): an environment fits when both the budget and its account's share have room.
  bool memory_fits(uint64_t mb, const std::string& account = {}) const {
    return memory_used_mb_ + mb <= memory_budget_mb_ && account_memory_fits(mb, account);
  }
  bool account_memory_fits(uint64_t mb, const std::string& account) const;
  void add_memory(uint64_t mb, const std::string& account = {});
  void remove_memory(uint64_t mb, const std::string& account = {});
  // nullopt: the account shares the whole budget.
  void set_account_memory_cap(const std::string& account, std::optional<uint64_t> mb);
  std::optional<uint64_t> account_memory_cap(const std::string& account) const;
  uint64_t account_memory_used_mb(const std::string& account) const;

  // nullopt removes the reservation. Running invocations keep the slot they were admitted with.
  void set_reserved(const std::string& function, std::optional<int> reserved);
  std::optional<int> reserved(const std::string& function) const;
  // The function's limit now (its reservation or the unreserved pool) and how much of it runs.
  Capacity capacity(const std::string& function) const;

  size_t busy() const { return busy_; }
  size_t unreserved_busy() const { return busy_unreserved_; }
  size_t total_reserved() const { return total_reserved_; }
  size_t concurrency_limit() const { return concurrency_limit_; }
  uint64_t memory_used_mb() const { return memory_used_mb_; }
  uint64_t memory_budget_mb() const { return memory_budget_mb_; }

 private:
  size_t unreserved_pool() const;

  size_t concurrency_limit_;
  uint64_t memory_budget_mb_;
  uint64_t memory_used_mb_ = 0;
  size_t busy_ = 0;
  size_t busy_unreserved_ = 0;
  size_t total_reserved_ = 0;
  std::unordered_map<std::string, int> reserved_;
  std::unordered_map<std::string, size_t> busy_reserved_;  // per function with a reservation
  std::unordered_map<std::string, uint64_t> account_memory_used_mb_;
  std::unordered_map<std::string, uint64_t> account_memory_cap_mb_;
};

}  // namespace runtimed
