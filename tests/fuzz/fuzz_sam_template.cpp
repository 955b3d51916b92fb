// SAM templates (runtimed/deploy/sam_template): what `runtimed deploy FILE` reads. A template may
// come from anyone (a repository, a tutorial), so reading one must end in a stack or an error,
// never a crash, an escaping exception or a hang. Checks: every error names the template ("x.yaml
// line N: ..." or "x.yaml: ..."), and every resource of a stack has a key. Templates that name
// code on disk (CodeUri, ContentUri) are skipped: the reader zips what they name.
#include <cstdlib>
#include <string>
#include <string_view>

#include "runtimed/deploy/sam_template.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size > 64 * 1024) return 0;
  const std::string_view bytes(reinterpret_cast<const char*>(data), size);
  if (bytes.find("Uri") != std::string_view::npos) return 0;
  runtimed::deploy::TemplateInput input;
  input.text = std::string(bytes);
  input.file_label = "x.yaml";
  input.base_dir = "/nonexistent-runtimed-fuzz";
  input.stack_name = "st";
  input.region = "us-east-1";
  input.account_id = "000000000000";
  input.endpoint = "http://127.0.0.1:9000";
  input.parameter_overrides = {{"Stage", "prod"}};
  auto stack = runtimed::deploy::load_sam_template(input);
  if (!stack) {
    if (!stack.error().starts_with("x.yaml")) std::abort();
    return 0;
  }
  for (const auto& resource : stack->resources)
    if (resource.key.empty()) std::abort();
  return 0;
}
