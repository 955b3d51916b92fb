// The closed list of function error types the platform itself reports (the `errorType` of an
// invocation's error payload and of X-Amz-Function-Error responses), as Lambda names them.
// A runtime's own types (`Runtime.*`, `Function.*` it posts) pass through unchanged.
#pragma once

namespace function_error {

inline constexpr char kRuntimeUnknown[] = "Runtime.Unknown";
inline constexpr char kRuntimeInvalidEntrypoint[] = "Runtime.InvalidEntrypoint";
inline constexpr char kRuntimeExitError[] = "Runtime.ExitError";
inline constexpr char kRuntimeOutOfMemory[] = "Runtime.OutOfMemory";
inline constexpr char kFunctionUnknown[] = "Function.Unknown";
// A streamed response whose runtime connection broke before its end (runtimed's own type).
inline constexpr char kRuntimeTruncatedResponse[] = "Runtime.TruncatedResponse";
inline constexpr char kFunctionResponseSizeTooLarge[] = "Function.ResponseSizeTooLarge";
inline constexpr char kSandboxTimedout[] = "Sandbox.Timedout";

}  // namespace function_error
