// Identifiers: request ids (UUID v4, as Lambda's) and short random hex names.
#pragma once

#include <string>

namespace common {

std::string new_request_id();          // "8f5c0e4e-3b7a-4c1e-9d2a-0b6f1e2d3c4b"
std::string random_hex(size_t chars);  // lowercase hex from the kernel's CSPRNG

}  // namespace common
