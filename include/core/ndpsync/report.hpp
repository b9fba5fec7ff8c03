// JSON and text renderings of what reconcile decided and did. Schema: docs/status.md.
#pragma once

#include <nlohmann/json.hpp>
#include <string>

#include "ndpsync/oneshot.hpp"

namespace ndpsync {

constexpr int kSchemaVersion = 1;
extern const char* const kVersion;

using Names = std::map<IfIndex, std::string>;

std::string name_of(const Names& names, IfIndex index);

nlohmann::json uplinks_json(const Decision& decision, const std::vector<SysctlState>& sysctls);
nlohmann::json sysctls_json(const std::vector<SysctlState>& sysctls, const std::string& iface);
nlohmann::json skipped_json(const Decision& decision, const Names& names);
nlohmann::json foreign_json(const Decision& decision, const Names& names);
// {interface, mac, admitted, refused} per MAC that max_entries_per_mac refuses addresses of.
nlohmann::json capped_macs_json(const Decision& decision, const Names& names);
nlohmann::json failures_json(const std::vector<Failure>& failures);
nlohmann::json candidates_json(const Decision& decision);

// For an uplink found from SLAAC's traces (UplinkSource::kSlaac): which evidence, and what its
// accept_ra means for the route ("uplink eth0 found from SLAAC addresses; its default route is
// gone, accept_ra set to 2 so the next RA restores it"). Empty for any other uplink.
std::string uplink_note(const Uplink& uplink, const std::vector<SysctlState>& sysctls,
                        bool dry_run);

nlohmann::json report_json(const ReconcileReport& report);
std::string report_text(const ReconcileReport& report);

}  // namespace ndpsync
