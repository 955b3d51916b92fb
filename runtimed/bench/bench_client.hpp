// How the bench talks to an endpoint: Lambda's Invoke API asking for the log tail (and runtimed's
// phases), runtimed's drain admin call, and Get/UpdateFunctionConfiguration for the memory sweep.
#pragma once

#include <httplib.h>

#include <chrono>
#include <expected>
#include <memory>
#include <string>

#include "runtimed/bench/bench_summary.hpp"

namespace runtimed::bench {

struct Target {
  std::string name;       // the function's name
  std::string qualifier;  // empty for $LATEST
  std::string invoke_path;
  std::string drain_path;
  std::string configuration_path;
};

// NAME or NAME:QUALIFIER.
Target target_of(const std::string& function);

// A keep-alive client with Nagle off and an invocation's read timeout.
std::unique_ptr<httplib::Client> client_for(const std::string& endpoint);

// One invocation with its log tail; the sample's start and latency are the caller's.
Sample invoke_once(httplib::Client& client, const Target& target, const std::string& payload);

// Discards the function's idle environments (POST /runtimed/v1/functions/NAME/drain).
std::expected<void, std::string> drain(httplib::Client& client, const Target& target);

// The function's MemorySize ($LATEST's configuration).
std::expected<int, std::string> memory_size(httplib::Client& client, const Target& target);

// UpdateFunctionConfiguration {MemorySize}, then GetFunctionConfiguration until its
// LastUpdateStatus is Successful (Lambda applies an update asynchronously), up to `timeout`.
std::expected<void, std::string> set_memory_size(httplib::Client& client, const Target& target,
                                                 int memory_mb, std::chrono::milliseconds timeout);

}  // namespace runtimed::bench
