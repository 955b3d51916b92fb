// Layer names and ARNs (see layer_arn.hpp).
#include "api/layer_arn.hpp"

#include <fmt/format.h>

#include <cctype>
#include <charconv>

#include "common/account_scope.hpp"

namespace api {

namespace {

constexpr size_t kMaxLayerName = 64;

ApiError bad_layer_arn(std::string_view arn) {
  return ApiError::invalid_parameter(fmt::format(
      "1 validation error detected: Value '{}' at 'layers' failed to satisfy constraint: Member "
      "must satisfy regular expression pattern: "
      "arn:[a-zA-Z0-9-]+:lambda:[a-zA-Z0-9-]+:\\d{{12}}:layer:[a-zA-Z0-9-_]+:[0-9]+",
      arn));
}

// "arn:aws:lambda:REGION:ACCOUNT:layer:" for this daemon.
std::string layer_prefix(const LambdaIdentity& identity) {
  return fmt::format("arn:aws:lambda:{}:{}:layer:", identity.region, identity.account_id);
}

}  // namespace

bool valid_layer_name(std::string_view name) {
  if (name.empty() || name.size() > kMaxLayerName) return false;
  for (char c : name)
    if (!std::isalnum(static_cast<unsigned char>(c)) && c != '-' && c != '_') return false;
  return true;
}

std::expected<std::string, ApiError> resolve_layer_name(std::string_view id,
                                                        const LambdaIdentity& identity) {
  if (valid_layer_name(id)) return std::string(id);
  if (id.starts_with("arn:")) {
    const std::string prefix = layer_prefix(identity);
    if (id.starts_with(prefix) && valid_layer_name(id.substr(prefix.size())))
      return std::string(id.substr(prefix.size()));
    return std::unexpected(ApiError::not_found(fmt::format("Layer not found: {}", id)));
  }
  return std::unexpected(ApiError::invalid_parameter(fmt::format(
      "1 validation error detected: Value '{}' at 'layerName' failed to satisfy constraint: "
      "Member must satisfy regular expression pattern: [a-zA-Z0-9-_]+ or a layer ARN",
      id)));
}

std::string layer_arn(const LambdaIdentity& identity, std::string_view name) {
  return layer_prefix({identity.region, std::string(common::account_of(identity, name))}) +
         std::string(common::display_name(name));
}

std::string layer_version_arn(const LambdaIdentity& identity, std::string_view name,
                              int64_t version) {
  return fmt::format("{}:{}", layer_arn(identity, name), version);
}

std::expected<common::LayerRef, ApiError> parse_layer_version_arn(std::string_view arn,
                                                                  const LambdaIdentity& identity) {
  // arn:PARTITION:lambda:REGION:ACCOUNT:layer:NAME:VERSION
  if (!arn.starts_with("arn:") || arn.size() > 140) return std::unexpected(bad_layer_arn(arn));
  const size_t colon = arn.rfind(':');
  const std::string_view version_text = arn.substr(colon + 1);
  int64_t version = 0;
  const auto [end, ec] =
      std::from_chars(version_text.data(), version_text.data() + version_text.size(), version);
  if (ec != std::errc() || end != version_text.data() + version_text.size() || version < 1)
    return std::unexpected(bad_layer_arn(arn));
  const std::string_view unversioned = arn.substr(0, colon);
  const size_t name_at = unversioned.rfind(':');
  const std::string_view name = unversioned.substr(name_at + 1);
  if (!valid_layer_name(name) || !unversioned.substr(0, name_at).ends_with(":layer"))
    return std::unexpected(bad_layer_arn(arn));
  if (std::string(unversioned.substr(0, name_at + 1)) != layer_prefix(identity))
    return std::unexpected(
        ApiError::invalid_parameter(fmt::format("Layer version {} does not exist.", arn)));
  return common::LayerRef{.arn = std::string(arn), .name = std::string(name), .version = version};
}

}  // namespace api
