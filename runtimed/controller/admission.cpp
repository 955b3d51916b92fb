// Admission (see admission.hpp).
#include "runtimed/controller/admission.hpp"

#include <algorithm>

namespace runtimed {

std::expected<Admission::Slot, Admission::Refusal> Admission::acquire(const std::string& function) {
  if (const auto reservation = reserved_.find(function); reservation != reserved_.end()) {
    size_t& busy = busy_reserved_[function];
    if (busy >= static_cast<size_t>(reservation->second)) {
      return std::unexpected(Refusal::ReservedLimit);
    }
    ++busy;
    ++busy_;
    return Slot{.reserved = true};
  }
  if (busy_unreserved_ >= unreserved_pool() || busy_ >= concurrency_limit_) {
    return std::unexpected(Refusal::ConcurrencyLimit);
  }
  ++busy_unreserved_;
  ++busy_;
  return Slot{.reserved = false};
}

void Admission::release(const std::string& function, Slot slot) {
  --busy_;
  if (slot.reserved) {
    // The reservation may have been removed (and its count with it) while this one ran.
    auto it = busy_reserved_.find(function);
    if (it != busy_reserved_.end() && it->second > 0) --it->second;
  } else {
    --busy_unreserved_;
  }
}

void Admission::set_reserved(const std::string& function, std::optional<int> reserved) {
  if (auto it = reserved_.find(function); it != reserved_.end()) {
    total_reserved_ -= static_cast<size_t>(it->second);
    reserved_.erase(it);
  }
  if (reserved) {
    reserved_[function] = *reserved;
    total_reserved_ += static_cast<size_t>(*reserved);
  }
}

std::optional<int> Admission::reserved(const std::string& function) const {
  auto it = reserved_.find(function);
  if (it == reserved_.end()) return std::nullopt;
  return it->second;
}

Admission::Capacity Admission::capacity(const std::string& function) const {
  if (auto it = reserved_.find(function); it != reserved_.end()) {
    auto busy = busy_reserved_.find(function);
    return {static_cast<size_t>(it->second), busy == busy_reserved_.end() ? 0 : busy->second};
  }
  return {unreserved_pool(), busy_unreserved_};
}

size_t Admission::unreserved_pool() const {
  return concurrency_limit_ > total_reserved_ ? concurrency_limit_ - total_reserved_ : 0;
}

bool Admission::account_memory_fits(uint64_t mb, const std::string& account) const {
  auto cap = account_memory_cap_mb_.find(account);
  return cap == account_memory_cap_mb_.end() || account_memory_used_mb(account) + mb <= cap->second;
}

void Admission::add_memory(uint64_t mb, const std::string& account) {
  memory_used_mb_ += mb;
  account_memory_used_mb_[account] += mb;
}

void Admission::remove_memory(uint64_t mb, const std::string& account) {
  memory_used_mb_ -= mb;
  auto it = account_memory_used_mb_.find(account);
  if (it == account_memory_used_mb_.end()) return;
  it->second -= std::min(it->second, mb);
  if (it->second == 0) account_memory_used_mb_.erase(it);
}

void Admission::set_account_memory_cap(const std::string& account, std::optional<uint64_t> mb) {
  if (mb)
    account_memory_cap_mb_[account] = *mb;
  else
    account_memory_cap_mb_.erase(account);
}

std::optional<uint64_t> Admission::account_memory_cap(const std::string& account) const {
  auto it = account_memory_cap_mb_.find(account);
  if (it == account_memory_cap_mb_.end()) return std::nullopt;
  return it->second;
}

uint64_t Admission::account_memory_used_mb(const std::string& account) const {
  auto it = account_memory_used_mb_.find(account);
  return it == account_memory_used_mb_.end() ? 0 : it->second;
}

}  // namespace runtimed
