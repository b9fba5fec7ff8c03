// The packet sockets: DAD snooping's listener and on-demand discovery's, and the advert socket.
// Each listener is one AF_PACKET socket whose classic BPF filter (bpf_program.hpp) passes only
// ICMPv6 neighbour solicitations, from `::` (DAD probes) or from anyone else (address
// resolution), on the interfaces the agent sets (FilteredSocket); ns_parse.hpp parses what
// passes. The advert socket sends neighbour advertisements (na_builder.hpp) and holds the
// uplinks' all-multicast references. Opening any of them needs CAP_NET_RAW; the sockets keep
// working after the capability is dropped.
#pragma once

#include <memory>

#include "ndpsync/dad_port.hpp"
#include "ndpsync/result.hpp"
#include "ndpsync/solicitation_port.hpp"

namespace ndpsync {

// Opens the listener on every interface (the caller keeps the interfaces it wants).
Result<std::unique_ptr<DadProbeSource>> open_dad_listener();
Result<std::unique_ptr<SolicitationSource>> open_solicitation_listener();
// The send-only packet socket adverts leave by (IPv6 header built here, hop limit 255).
Result<std::unique_ptr<AdvertPort>> open_advert_port();

}  // namespace ndpsync
