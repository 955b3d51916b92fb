// Clang's thread-safety analysis (-Wthread-safety): which mutex guards which member, and which
// functions must hold it. GCC ignores the attributes; the clang build in CI (scripts/lint.sh's
// thread-safety step) checks them. libstdc++'s std::mutex carries no annotations, so members
// guarded this way use common::Mutex and common::MutexLock.
#pragma once

#include <mutex>

#if defined(__clang__)
#define RT_THREAD_ANNOTATION(x) __attribute__((x))
#else
#define RT_THREAD_ANNOTATION(x)
#endif

#define CAPABILITY(x) RT_THREAD_ANNOTATION(capability(x))
#define SCOPED_CAPABILITY RT_THREAD_ANNOTATION(scoped_lockable)
#define GUARDED_BY(x) RT_THREAD_ANNOTATION(guarded_by(x))
#define PT_GUARDED_BY(x) RT_THREAD_ANNOTATION(pt_guarded_by(x))
#define ACQUIRED_BEFORE(...) RT_THREAD_ANNOTATION(acquired_before(__VA_ARGS__))
#define REQUIRES(...) RT_THREAD_ANNOTATION(requires_capability(__VA_ARGS__))
#define ACQUIRE(...) RT_THREAD_ANNOTATION(acquire_capability(__VA_ARGS__))
#define RELEASE(...) RT_THREAD_ANNOTATION(release_capability(__VA_ARGS__))
#define TRY_ACQUIRE(...) RT_THREAD_ANNOTATION(try_acquire_capability(__VA_ARGS__))
#define EXCLUDES(...) RT_THREAD_ANNOTATION(locks_excluded(__VA_ARGS__))
#define NO_THREAD_SAFETY_ANALYSIS RT_THREAD_ANNOTATION(no_thread_safety_analysis)

namespace common {

class CAPABILITY("mutex") Mutex {
 public:
  void lock() ACQUIRE() { mu_.lock(); }
  void unlock() RELEASE() { mu_.unlock(); }
  bool try_lock() TRY_ACQUIRE(true) { return mu_.try_lock(); }

 private:
  std::mutex mu_;
};

// Holds a Mutex for its scope. unlock()/lock() let it be released early or waited on with
// std::condition_variable_any.
class SCOPED_CAPABILITY MutexLock {
 public:
  explicit MutexLock(Mutex& mu) ACQUIRE(mu) : mu_(mu) { mu_.lock(); }
  ~MutexLock() RELEASE() {
    if (held_) mu_.unlock();
  }
  MutexLock(const MutexLock&) = delete;
  MutexLock& operator=(const MutexLock&) = delete;

  void lock() ACQUIRE() {
    mu_.lock();
    held_ = true;
  }
  void unlock() RELEASE() {
    held_ = false;
    mu_.unlock();
  }

 private:
  Mutex& mu_;
  bool held_ = true;
};

}  // namespace common
