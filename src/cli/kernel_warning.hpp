// The running kernel against ndpsync's list of known kernel defects (ndpsync/kernel_check.hpp):
// a warning per defect when `run` or `reconcile` starts, and `ndpsync kernel-check`.
#pragma once

#include <cstdint>

#include "ndpsync/kernel_check.hpp"

namespace ndpsync::cli {

// check_kernel() on this machine's uname -r and uname -v.
KernelCheck running_kernel_check();

// Logs one warning per known defect of the running kernel (nothing when there is none).
void warn_about_kernel();

enum class KernelCheckFormat : std::uint8_t { kText, kJson };

// `ndpsync kernel-check [--json]`: prints the defects; exit 0 (they are warnings, not errors).
int print_kernel_check(KernelCheckFormat format);

}  // namespace ndpsync::cli
