#include "ndpsync/types.hpp"

#include <arpa/inet.h>

#include <algorithm>
#include <array>
#include <charconv>
#include <string>

namespace ndpsync {

std::optional<Ipv6Address> Ipv6Address::parse(std::string_view text) {
  // inet_pton needs a terminated string; an address is never longer than 45 characters.
  if (text.empty() || text.size() > INET6_ADDRSTRLEN - 1) {
    return std::nullopt;
  }
  std::string terminated(text);
  Bytes bytes{};
  if (inet_pton(AF_INET6, terminated.c_str(), bytes.data()) != 1) {
    return std::nullopt;
  }
  return Ipv6Address(bytes);
}

std::string Ipv6Address::to_string() const {
  std::array<char, INET6_ADDRSTRLEN> buffer{};
  inet_ntop(AF_INET6, bytes_.data(), buffer.data(), buffer.size());
  return buffer.data();
}

LinkAddress::LinkAddress(const std::uint8_t* data, std::size_t size)
    : size_(static_cast<std::uint8_t>(std::min(size, kCapacity))) {
  std::copy_n(data, size_, bytes_.begin());
}

std::optional<LinkAddress> LinkAddress::parse(std::string_view text) {
  std::array<std::uint8_t, kCapacity> bytes{};
  std::size_t size = 0;
  for (std::size_t at = 0; at < text.size(); at += 3) {
    const bool last = at + 2 == text.size();
    if (size == kCapacity || at + 2 > text.size() || (!last && text[at + 2] != ':')) {
      return std::nullopt;
    }
    const auto* first = text.data() + at;
    const auto [end, error] = std::from_chars(first, first + 2, bytes[size], 16);
    if (error != std::errc() || end != first + 2) {
      return std::nullopt;
    }
    ++size;
    if (last) break;
    if (at + 3 == text.size()) return std::nullopt;  // a trailing ':'
  }
  return LinkAddress(bytes.data(), size);
}

std::string LinkAddress::to_string() const {
  static constexpr char kHex[] = "0123456789abcdef";
  std::string text;
  text.reserve(std::size_t{size_} * 3);
  for (std::size_t i = 0; i < size_; ++i) {
    if (i != 0) text += ':';
    text += kHex[bytes_[i] >> 4U];
    text += kHex[bytes_[i] & 0xfU];
  }
  return text;
}

bool Ipv6Address::is_unspecified() const { return *this == Ipv6Address(); }

bool Ipv6Address::is_loopback() const {
  Bytes loopback{};
  loopback[15] = 1;
  return bytes_ == loopback;
}

Prefix::Prefix(const Ipv6Address& address, unsigned length) : length_(length > 128 ? 128 : length) {
  auto bytes = address.bytes();
  for (unsigned i = 0; i < 16; ++i) {
    const unsigned first_bit = i * 8;
    if (first_bit >= length_) {
      bytes[i] = 0;
    } else if (first_bit + 8 > length_) {
      bytes[i] &= static_cast<std::uint8_t>(0xff << (8 - (length_ - first_bit)));
    }
  }
  network_ = Ipv6Address(bytes);
}

std::optional<Prefix> Prefix::parse(std::string_view text) {
  const auto slash = text.find('/');
  if (slash == std::string_view::npos) {
    return std::nullopt;
  }
  const auto address = Ipv6Address::parse(text.substr(0, slash));
  const auto length_text = text.substr(slash + 1);
  unsigned length = 0;
  const auto* end = length_text.data() + length_text.size();
  const auto [ptr, ec] = std::from_chars(length_text.data(), end, length);
  if (!address || length_text.empty() || ec != std::errc() || ptr != end || length > 128) {
    return std::nullopt;
  }
  return Prefix(*address, length);
}

bool Prefix::contains(const Ipv6Address& address) const {
  return Prefix(address, length_).network_ == network_;
}

std::string Prefix::to_string() const {
  return network_.to_string() + "/" + std::to_string(length_);
}

std::string unnamed_interface(IfIndex index) { return "if" + std::to_string(index); }

std::string interface_name(const Link* link, IfIndex index) {
  return link != nullptr ? link->name : unnamed_interface(index);
}

std::string to_string(const ProxyEntry& entry) {
  return entry.address.to_string() + " ifindex " + std::to_string(entry.ifindex) + " proto " +
         std::to_string(entry.protocol);
}

std::string nud_state_name(NudState state) {
  static constexpr std::array<std::pair<NudState, const char*>, 9> kNames{{
      {kNudNone, "NONE"},
      {kNudIncomplete, "INCOMPLETE"},
      {kNudReachable, "REACHABLE"},
      {kNudStale, "STALE"},
      {kNudDelay, "DELAY"},
      {kNudProbe, "PROBE"},
      {kNudFailed, "FAILED"},
      {kNudNoArp, "NOARP"},
      {kNudPermanent, "PERMANENT"},
  }};
  for (const auto& [value, name] : kNames) {
    if (value == state) return name;
  }
  return "state(" + std::to_string(state.bits()) + ")";
}

}  // namespace ndpsync
