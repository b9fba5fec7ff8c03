// The packet sockets: DAD snooping's listener and on-demand discovery's. Each is one AF_PACKET
// socket whose classic BPF filter (bpf_program.hpp) passes only ICMPv6 neighbour solicitations,
// from `::` (DAD probes) or from anyone else (address resolution), on the interfaces the agent
// sets (FilteredSocket). The advert port sends
// neighbour advertisements on a send-only packet socket. Opening any of them needs CAP_NET_RAW; the
// sockets keep working after the capability is dropped.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <span>

#include "ndpsync/dad_port.hpp"
#include "ndpsync/result.hpp"
#include "ndpsync/solicitation_port.hpp"

namespace ndpsync {

// The target of a DAD probe, from an IPv6 packet (IPv6 header first, no link-layer header), valid
// by RFC 4861 7.1.1 as the kernel checks it: next header ICMPv6 (no extension headers), hop limit
// 255, ICMPv6 type 135 code 0, a valid checksum, at least 24 bytes of ICMPv6 within a payload
// length that fits the bytes, options each of non-zero length and within the message; and for a
// DAD probe: source `::`, no source link-layer address option, destination the target's
// solicited-node group. nullopt for anything else, and for targets that are never proxied anyway
// (multicast, link-local, unspecified, loopback). Pure: it reads only `packet`.
std::optional<Ipv6Address> parse_dad_probe(std::span<const std::uint8_t> packet);

// A neighbour solicitation for address resolution, with the same checks as parse_dad_probe
// except the source, which must be a unicast address (not `::`, not multicast). The ifindex is
// left 0. Pure: it reads only `packet`.
std::optional<Solicitation> parse_solicitation(std::span<const std::uint8_t> packet);

// The ICMPv6 checksum (RFC 4443 2.3) of `message` between these addresses; over a message with
// its checksum field filled in, 0 when that checksum is right.
std::uint16_t icmpv6_checksum(const Ipv6Address& source, const Ipv6Address& destination,
                              std::span<const std::uint8_t> message);

// Opens the listener on every interface (the caller keeps the interfaces it wants).
Result<std::unique_ptr<DadProbeSource>> open_dad_listener();
Result<std::unique_ptr<SolicitationSource>> open_solicitation_listener();
// The send-only packet socket adverts leave by (IPv6 header built here, hop limit 255).
Result<std::unique_ptr<AdvertPort>> open_advert_port();

}  // namespace ndpsync
