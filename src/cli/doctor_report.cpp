// `ndpsync doctor`'s output, text or JSON, and the command itself.
#include <chrono>
#include <iostream>
#include <sstream>

#include "doctor.hpp"
#include "ndpsync/utf8.hpp"

namespace ndpsync::cli {
namespace {

std::string_view result_word(CheckResult result) {
  switch (result) {
    case CheckResult::kOk: return "ok";
    case CheckResult::kProblem: return "problem";
    case CheckResult::kNotApplicable: return "not_applicable";
  }
  return "?";
}

std::string uplinks_text(const Diagnosis& diagnosis) {
  std::string text;
  for (const auto& uplink : diagnosis.decision.uplinks) {
    text += (text.empty() ? "" : "; ") + uplink.name;
    for (std::size_t i = 0; i < uplink.prefixes.size(); ++i) {
      text += (i == 0 ? " " : ", ") + uplink.prefixes[i].to_string();
    }
    if (const auto it = diagnosis.uplink_owners.find(uplink.name);
        it != diagnosis.uplink_owners.end()) {
      text += " (managed by " + std::string(to_string(it->second.manager)) + ")";
    }
  }
  return text.empty() ? "none found" : text;
}

}  // namespace

std::string doctor_text(const Diagnosis& diagnosis) {
  std::ostringstream out;
  out << "uplink: " << uplinks_text(diagnosis) << "; " << diagnosis.decision.desired.size()
      << " container address" << (diagnosis.decision.desired.size() == 1 ? "" : "es")
      << " to proxy\n\n";
  for (const auto& [id, result] : diagnosis.checks) {
    const auto word = result == CheckResult::kProblem ? "PROBLEM"
                      : result == CheckResult::kOk    ? "ok"
                                                      : "n/a";
    out << "  " << word << std::string(9 - std::string_view(word).size(), ' ') << id << "\n";
  }
  for (const auto& finding : diagnosis.findings) {
    out << "\n[" << finding.check << "] " << finding.problem << ".\n  fix: " << finding.fix << "\n";
  }
  const auto n = diagnosis.findings.size();
  out << "\n"
      << (n == 0 ? std::string("healthy: no problem found")
                 : std::to_string(n) + " problem" + (n == 1 ? "" : "s") + " found")
      << "\n";
  return out.str();
}

nlohmann::json doctor_json(const Diagnosis& diagnosis, std::chrono::milliseconds took) {
  auto checks = nlohmann::json::array();
  for (const auto& [id, result] : diagnosis.checks) {
    checks.push_back({{"check", id}, {"result", result_word(result)}});
  }
  auto problems = nlohmann::json::array();
  for (const auto& f : diagnosis.findings) {
    problems.push_back({{"check", f.check}, {"problem", f.problem}, {"fix", f.fix}});
  }
  auto uplinks = nlohmann::json::array();
  for (const auto& uplink : diagnosis.decision.uplinks) {
    auto prefixes = nlohmann::json::array();
    for (const auto& p : uplink.prefixes) prefixes.push_back(p.to_string());
    const auto owner = diagnosis.uplink_owners.find(uplink.name);
    const bool owned = owner != diagnosis.uplink_owners.end();
    uplinks.push_back(
        {{"name", uplink.name},
         {"prefixes", prefixes},
         {"manager", owned ? to_string(owner->second.manager) : to_string(LinkManager::kNone)},
         {"manager_source", owned ? owner->second.source : ""}});
  }
  return {{"healthy", diagnosis.healthy()},
          {"uplinks", uplinks},
          {"to_proxy", diagnosis.decision.desired.size()},
          {"problems", problems},
          {"checks", checks},
          {"took_ms", took.count()}};
}

int run_doctor(const LoadedConfig& loaded, const DoctorOptions& options) {
  const auto start = std::chrono::steady_clock::now();
  const auto facts = gather_host_facts(loaded, options);
  if (!facts.ok()) {
    std::cerr << "ndpsync: doctor cannot read the host: " << facts.status.message << "\n";
    return 1;
  }
  const auto diagnosis = diagnose(facts.value);
  const auto took = std::chrono::duration_cast<std::chrono::milliseconds>(
      std::chrono::steady_clock::now() - start);
  if (options.json) {
    std::cout << json_text(doctor_json(diagnosis, took), 2) << "\n";
  } else {
    std::cout << doctor_text(diagnosis);
  }
  return diagnosis.healthy() ? 0 : 1;
}

}  // namespace ndpsync::cli
