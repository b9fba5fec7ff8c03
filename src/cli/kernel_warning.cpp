#include "kernel_warning.hpp"

#include "ndpsync/utf8.hpp"

#include <spdlog/spdlog.h>
#include <sys/utsname.h>

#include <iostream>
#include <nlohmann/json.hpp>

namespace ndpsync::cli {

KernelCheck running_kernel_check() {
  struct utsname names = {};
  if (uname(&names) != 0) {
    return {};
  }
  return check_kernel(names.release, names.version);
}

void warn_about_kernel() {
  for (const auto& line : kernel_check_lines(running_kernel_check())) {
    spdlog::warn("{}", line);
  }
}

int print_kernel_check(KernelCheckFormat format) {
  const auto check = running_kernel_check();
  if (format == KernelCheckFormat::kText) {
    const auto lines = kernel_check_lines(check);
    if (lines.empty()) {
      std::cout << "kernel " << check.release << ": no known defect that touches ndpsync\n";
    }
    for (const auto& line : lines) {
      std::cout << line << "\n";
    }
    return 0;
  }
  nlohmann::json doc = {
      {"release", check.release}, {"version", nullptr}, {"defects", nlohmann::json::array()}};
  if (check.version) {
    doc["version"] = check.version->to_string();
  }
  for (const auto& d : check.defects) {
    doc["defects"].push_back(
        {{"id", d.id},
         {"summary", d.summary},
         {"fixed_in", d.fixed_in},
         {"exposure", d.exposure == Exposure::kPossibly ? "possibly" : "affected"}});
  }
  std::cout << json_text(doc, 2) << "\n";
  return 0;
}

}  // namespace ndpsync::cli
