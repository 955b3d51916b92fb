// Example C++ Lambda function on runtimes/cpp/lambda_runtime.hpp: zip the static binary as
// `bootstrap` with runtime provided.al2023. Events: {"action":"error"} fails, {"action":"time"}
// reports the remaining time, anything else is echoed with the invocation's identity.
#include <cstdio>
#include <stdexcept>
#include <string>

#include "runtimes/cpp/lambda_runtime.hpp"

namespace {

int invocations = 0;  // survives between invocations of a warm environment

bool has_action(const std::string& payload, const std::string& action) {
  return payload.find("\"action\":\"" + action + "\"") != std::string::npos;
}

}  // namespace

int main() {
  return lambda::run([](const lambda::Invocation& inv) -> lambda::Result {
    ++invocations;
    if (has_action(inv.payload, "error")) {
      return lambda::Result::failure("HelloError", "asked to fail");
    }
    if (has_action(inv.payload, "throw")) throw std::runtime_error("thrown from the handler");
    std::printf("cpp-hello: invocation %d, request %s\n", invocations, inv.request_id.c_str());
    std::fflush(stdout);
    return lambda::Result::success(
        "{\"request_id\":\"" + inv.request_id + "\",\"function_arn\":\"" + inv.function_arn +
        "\",\"remaining_ms\":" + std::to_string(inv.remaining_ms()) +
        ",\"deadline_ms\":" + std::to_string(inv.deadline_ms) +
        ",\"invocations\":" + std::to_string(invocations) + ",\"event\":" + inv.payload + "}");
  });
}
