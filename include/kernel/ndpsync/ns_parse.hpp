// The neighbour solicitation parsers of the packet listeners, held to RFC 4861 7.1.1 as the
// kernel's ndisc_recv_ns holds them: what the kernel would drop must not reach the agent's
// judgement either. Pure: they read only `packet` (IPv6 header first, no link-layer header).
#pragma once

#include <cstdint>
#include <optional>
#include <span>

#include "ndpsync/solicitation_port.hpp"
#include "ndpsync/types.hpp"

namespace ndpsync {

// The target of a DAD probe, valid by RFC 4861 7.1.1 as the kernel checks it: next header ICMPv6
// (no extension headers), hop limit 255, ICMPv6 type 135 code 0, a valid checksum, at least 24
// bytes of ICMPv6 within a payload length that fits the bytes, options each of non-zero length
// and within the message; and for a DAD probe: source `::`, no source link-layer address option,
// destination the target's solicited-node group. nullopt for anything else, and for targets that
// are never proxied anyway (multicast, link-local, unspecified, loopback).
std::optional<Ipv6Address> parse_dad_probe(std::span<const std::uint8_t> packet);

// A neighbour solicitation for address resolution, with the same checks as parse_dad_probe
// except the source, which must be a unicast address (not `::`, not multicast). The ifindex is
// left 0.
std::optional<Solicitation> parse_solicitation(std::span<const std::uint8_t> packet);

}  // namespace ndpsync
