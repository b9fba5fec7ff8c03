// DAD snooping's listener: one AF_PACKET socket on every interface whose classic BPF filter
// passes only ICMPv6 neighbour solicitations from `::` (DAD probes). Opening it needs
// CAP_NET_RAW; the socket keeps working after the capability is dropped.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <span>

#include "ndpsync/dad_port.hpp"
#include "ndpsync/result.hpp"

namespace ndpsync {

// The target of a DAD probe, from an IPv6 packet (IPv6 header first, no link-layer header):
// next header ICMPv6 (no extension headers), hop limit 255, source `::`, ICMPv6 type 135 code 0,
// at least 24 bytes of ICMPv6, a payload length that fits the bytes. nullopt for anything else,
// and for targets that are never proxied anyway (multicast, link-local, unspecified, loopback).
// Pure: it reads only `packet`.
std::optional<Ipv6Address> parse_dad_probe(std::span<const std::uint8_t> packet);

// Opens the listener on every interface (the caller keeps the interfaces it wants).
Result<std::unique_ptr<DadProbeSource>> open_dad_listener();

}  // namespace ndpsync
