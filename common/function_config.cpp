#include "common/function_config.hpp"

#include <time.h>

#include <cstdio>

namespace common {

bool FunctionConfig::is_provided_runtime() const {
  return runtime == "provided" || runtime == "provided.al2" || runtime == "provided.al2023";
}

bool FunctionConfig::wants_network() const {
  auto it = tags.find(kNetworkTag);
  return it == tags.end() || it->second != "none";
}

std::string lambda_timestamp(std::chrono::system_clock::time_point t) {
  using namespace std::chrono;
  const auto ms = duration_cast<milliseconds>(t.time_since_epoch()).count();
  const time_t secs = static_cast<time_t>(ms / 1000);
  struct tm tm {};
  ::gmtime_r(&secs, &tm);
  char buf[96];  // room for any int the compiler cannot rule out
  std::snprintf(buf, sizeof buf, "%04d-%02d-%02dT%02d:%02d:%02d.%03d+0000", tm.tm_year + 1900,
                tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec,
                static_cast<int>(ms % 1000));
  return buf;
}

}  // namespace common
