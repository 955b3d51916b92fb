// The validated configuration of one function, as every layer (API, store, controller) sees it.
#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace common {

// Lambda's limits for the configurable values; the API validates against these, once.
// The tag that chooses a function's network: "none" (loopback only) or "bridge" (the default).
inline constexpr const char* kNetworkTag = "runtimed:network";
inline constexpr int kMinMemoryMb = 128;
inline constexpr int kMaxMemoryMb = 10240;
inline constexpr int kDefaultMemoryMb = 128;
inline constexpr int kMinTimeoutS = 1;
inline constexpr int kMaxTimeoutS = 900;
inline constexpr int kDefaultTimeoutS = 3;
inline constexpr int kMinEphemeralStorageMb = 512;
inline constexpr int kMaxEphemeralStorageMb = 10240;
inline constexpr int kDefaultEphemeralStorageMb = 512;
inline constexpr size_t kMaxFunctionNameLength = 64;
inline constexpr size_t kMaxHandlerLength = 128;
inline constexpr size_t kMaxDescriptionLength = 256;
inline constexpr size_t kMaxEnvironmentBytes = 4096;  // sum of key and value bytes

// A layer version a function uses: its ARN as the function's configuration shows it, and where
// its unpacked content is.
struct LayerRef {
  std::string arn;  // arn:aws:lambda:REGION:ACCOUNT:layer:NAME:VERSION
  std::string name;
  int64_t version = 0;
  std::string code_dir_key;  // filled by the catalog
  int64_t code_size = 0;     // the layer zip's bytes (Lambda shows it)

  bool operator==(const LayerRef&) const = default;
};

struct FunctionConfig {
  std::string name;
  std::string runtime;
  std::string handler;
  // The layer versions merged read-only at /opt, in order (a later layer's file wins).
  std::vector<LayerRef> layers;
  std::string role;
  std::string description;
  int memory_mb = kDefaultMemoryMb;
  int timeout_s = kDefaultTimeoutS;
  std::map<std::string, std::string> environment;
  int ephemeral_storage_mb = kDefaultEphemeralStorageMb;
  std::string code_sha256;    // base64 of the zip's SHA-256 digest, as Lambda reports it
  int64_t code_size = 0;      // zip bytes
  std::string code_dir_key;   // hex SHA-256 of the zip, names the unpacked code directory
  std::string last_modified;  // "2026-11-24T03:24:42.000+0000"
  std::string revision_id;    // a UUID, new on every change
  std::string version = "$LATEST";
  std::optional<std::string> dead_letter_target_arn;
  // The function's tags (TagResource); `runtimed:network` among them chooses its network.
  std::map<std::string, std::string> tags;

  // provided, provided.al2, provided.al2023: the function brings its own bootstrap.
  bool is_provided_runtime() const;
  // False when tagged runtimed:network=none: the function's environments have loopback only.
  bool wants_network() const;

  bool operator==(const FunctionConfig&) const = default;
};

// Lambda's LastModified format, UTC with milliseconds: "2026-11-24T03:24:42.000+0000".
std::string lambda_timestamp(std::chrono::system_clock::time_point t);

}  // namespace common
