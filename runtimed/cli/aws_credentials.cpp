// The runtimed CLI's signing keys (see aws_credentials.hpp).
#include "runtimed/cli/aws_credentials.hpp"

#include <boost/property_tree/ini_parser.hpp>
#include <boost/property_tree/ptree.hpp>
#include <cstdlib>
#include <filesystem>

namespace runtimed {
namespace {

std::optional<std::string>& explicit_profile() {
  static std::optional<std::string> profile;
  return profile;
}

std::string env(const char* name) {
  const char* v = std::getenv(name);
  return v ? v : "";
}

}  // namespace

void set_cli_profile(std::string profile) { explicit_profile() = std::move(profile); }

std::expected<std::optional<AwsKeys>, std::string> find_aws_credentials() {
  if (!explicit_profile() && !env("AWS_ACCESS_KEY_ID").empty() &&
      !env("AWS_SECRET_ACCESS_KEY").empty())
    return AwsKeys{env("AWS_ACCESS_KEY_ID"), env("AWS_SECRET_ACCESS_KEY")};
  const bool named = explicit_profile() || !env("AWS_PROFILE").empty();
  const std::string profile =
      explicit_profile() ? *explicit_profile() : (named ? env("AWS_PROFILE") : "default");
  std::filesystem::path file = env("AWS_SHARED_CREDENTIALS_FILE");
  if (file.empty()) {
    const std::string home = env("HOME");
    if (home.empty()) return std::optional<AwsKeys>();
    file = std::filesystem::path(home) / ".aws" / "credentials";
  }
  boost::property_tree::ptree tree;
  try {
    boost::property_tree::ini_parser::read_ini(file.string(), tree);
  } catch (const boost::property_tree::ini_parser_error&) {
    if (named) return std::unexpected("profile " + profile + ": cannot read " + file.string());
    return std::optional<AwsKeys>();
  }
  auto section = tree.get_child_optional(boost::property_tree::ptree::path_type(profile, '\0'));
  if (!section) {
    if (named) return std::unexpected("profile " + profile + " is not in " + file.string());
    return std::optional<AwsKeys>();
  }
  AwsKeys keys{section->get<std::string>("aws_access_key_id", ""),
               section->get<std::string>("aws_secret_access_key", "")};
  if (keys.access_key_id.empty() || keys.secret_access_key.empty())
    return std::unexpected("profile " + profile + " in " + file.string() +
                           " lacks aws_access_key_id or aws_secret_access_key");
  return keys;
}

}  // namespace runtimed
