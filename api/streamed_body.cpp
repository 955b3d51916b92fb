// A response body written while it is produced (see streamed_body.hpp).
#include "api/streamed_body.hpp"

#include <algorithm>
#include <utility>

namespace api {

bool StreamedBody::write(std::string piece) {
  if (piece.empty()) return !abandoned();
  std::function<void()> wake;
  {
    common::MutexLock lock(mu_);
    if (abandoned_ || finished_) return false;
    backlog_ += piece.size();
    pieces_.push_back(std::move(piece));
    wake = std::exchange(wake_, nullptr);
  }
  if (wake) wake();
  return true;
}

void StreamedBody::finish() { end(false); }

void StreamedBody::fail() { end(true); }

void StreamedBody::end(bool failed) {
  std::function<void()> wake;
  {
    common::MutexLock lock(mu_);
    if (finished_) return;
    finished_ = true;
    failed_ = failed;
    wake = std::exchange(wake_, nullptr);
  }
  if (wake) wake();
}

size_t StreamedBody::backlog() const {
  common::MutexLock lock(mu_);
  return backlog_;
}

bool StreamedBody::abandoned() const {
  common::MutexLock lock(mu_);
  return abandoned_;
}

void StreamedBody::when_below(size_t low, std::function<void()> resume) {
  {
    common::MutexLock lock(mu_);
    if (!abandoned_ && backlog_ > low) {
      low_ = low;
      resume_ = std::move(resume);
      return;
    }
  }
  resume();
}

StreamedBody::Taken StreamedBody::take_or_wait(std::function<void()> wake) {
  Taken taken;
  common::MutexLock lock(mu_);
  if (pieces_.size() == 1) {
    taken.data = std::move(pieces_.front());
  } else {
    for (auto& piece : pieces_) taken.data += piece;
  }
  pieces_.clear();
  taken.finished = finished_;
  taken.failed = failed_;
  if (taken.data.empty() && !taken.finished) wake_ = std::move(wake);
  return taken;
}

void StreamedBody::sent(size_t bytes) {
  std::function<void()> resume;
  {
    common::MutexLock lock(mu_);
    backlog_ -= std::min(bytes, backlog_);
    if (resume_ && backlog_ <= low_) resume = std::exchange(resume_, nullptr);
  }
  if (resume) resume();
}

void StreamedBody::abandon() {
  std::function<void()> resume;
  {
    common::MutexLock lock(mu_);
    abandoned_ = true;
    pieces_.clear();
    backlog_ = 0;
    wake_ = nullptr;
    resume = std::exchange(resume_, nullptr);
  }
  if (resume) resume();
}

}  // namespace api
