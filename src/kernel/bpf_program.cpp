#include "ndpsync/bpf_program.hpp"

#include <linux/if_packet.h>

#include <algorithm>
#include <map>

#include "ndpsync/ndp_wire.hpp"

namespace ndpsync {
namespace {

// Offsets the programs load from, as BPF_ABS takes them.
constexpr auto kSource = static_cast<std::uint32_t>(kSourceOffset);
constexpr auto kTarget = static_cast<std::uint32_t>(kIpv6Header + kTargetOffset);
// conditional jumps reach at most 255 instructions ahead: a longer interface list is not checked
constexpr std::size_t kMaxInterfaces = 200;

sock_filter stmt(std::uint16_t code, std::uint32_t k) { return BPF_STMT(code, k); }
sock_filter jump(std::uint16_t code, std::uint32_t k, std::uint8_t jt, std::uint8_t jf) {
  return BPF_JUMP(code, k, jt, jf);
}
sock_filter load_byte(std::uint32_t offset) { return stmt(BPF_LD | BPF_B | BPF_ABS, offset); }
sock_filter load_word(std::uint32_t offset) { return stmt(BPF_LD | BPF_W | BPF_ABS, offset); }
sock_filter drop() { return stmt(BPF_RET | BPF_K, 0); }
sock_filter pass() { return stmt(BPF_RET | BPF_K, kPassBytes); }

// The byte at `offset` must be `value`, or the packet is dropped.
void require_byte(std::vector<sock_filter>& code, std::uint32_t offset, std::uint8_t value) {
  code.push_back(load_byte(offset));
  code.push_back(jump(BPF_JMP | BPF_JEQ | BPF_K, value, 1, 0));
  code.push_back(drop());
}

std::uint32_t word(const Ipv6Address& a, std::size_t index) {
  const auto& b = a.bytes();
  const auto i = index * 4;
  return (std::uint32_t{b[i]} << 24) | (std::uint32_t{b[i + 1]} << 16) |
         (std::uint32_t{b[i + 2]} << 8) | b[i + 3];
}

void check_packet_type(std::vector<sock_filter>& code) {
  code.push_back(stmt(BPF_LD | BPF_W | BPF_ABS, SKF_AD_OFF + SKF_AD_PKTTYPE));
  code.push_back(jump(BPF_JMP | BPF_JEQ | BPF_K, PACKET_OTHERHOST, 1, 0));  // not for this host
  code.push_back(jump(BPF_JMP | BPF_JEQ | BPF_K, PACKET_OUTGOING, 0, 1));   // the host's own
  code.push_back(drop());
}

void check_interfaces(std::vector<sock_filter>& code, const std::vector<IfIndex>& interfaces) {
  code.push_back(stmt(BPF_LD | BPF_W | BPF_ABS, SKF_AD_OFF + SKF_AD_IFINDEX));
  const auto n = interfaces.size();
  for (std::size_t i = 0; i < n; ++i) {
    // A match skips the rest of the list and the drop after it.
    code.push_back(jump(BPF_JMP | BPF_JEQ | BPF_K, static_cast<std::uint32_t>(interfaces[i]),
                        static_cast<std::uint8_t>(n - i), 0));
  }
  code.push_back(drop());
}

void check_source(std::vector<sock_filter>& code, NsListener listener) {
  if (listener == NsListener::kDad) {  // all four words zero
    for (std::uint32_t i = 0; i < 4; ++i) {
      code.push_back(load_word(kSource + 4 * i));
      code.push_back(jump(BPF_JMP | BPF_JEQ | BPF_K, 0, 1, 0));
      code.push_back(drop());
    }
    return;
  }
  for (std::uint8_t i = 0; i < 4; ++i) {  // any non-zero word goes on, past the drop
    code.push_back(load_word(kSource + 4U * i));
    code.push_back(jump(BPF_JMP | BPF_JEQ | BPF_K, 0, 0, static_cast<std::uint8_t>(7 - 2 * i)));
  }
  code.push_back(drop());
}

using Groups = std::map<std::uint32_t, std::vector<Ipv6Address>>;  // by the target's last word

// One last word: the targets that end in it, each confirmed on its other three words.
void emit_leaf(std::vector<sock_filter>& code, const Groups::value_type& group) {
  code.push_back(jump(BPF_JMP | BPF_JEQ | BPF_K, group.first, 1, 0));
  code.push_back(pass());
  for (const auto& target : group.second) {  // seven instructions; a mismatch tries the next
    for (std::uint8_t i = 0; i < 3; ++i) {
      code.push_back(load_word(kTarget + 4U * i));
      code.push_back(jump(BPF_JMP | BPF_JEQ | BPF_K, word(target, i), 0,
                          static_cast<std::uint8_t>(5 - 2 * i)));
    }
    code.push_back(drop());  // the kernel answers this one
  }
  code.push_back(pass());
}

// A binary search on the last word (in the accumulator) over groups [first, last).
void emit_tree(std::vector<sock_filter>& code, Groups::const_iterator first, std::size_t count) {
  if (count == 1) {
    emit_leaf(code, *first);
    return;
  }
  const auto half = count / 2;
  const auto middle = std::next(first, static_cast<long>(half));
  code.push_back(jump(BPF_JMP | BPF_JGE | BPF_K, middle->first, 0, 1));
  const auto far = code.size();
  code.push_back(stmt(BPF_JMP | BPF_JA, 0));  // to the upper half; BPF_JA reaches any distance
  // The accumulator still holds the last word here: a leaf clobbers it, but ends in a verdict.
  emit_tree(code, first, half);
  code[far].k = static_cast<std::uint32_t>(code.size() - far - 1);
  emit_tree(code, middle, count - half);
}

// The instructions check_targets emits, counted without building them: a proxy table of
// 10,000 entries must not cost a megabyte of program to find out that it does not fit.
std::size_t targets_size(const std::vector<Ipv6Address>& answered) {
  std::vector<std::uint32_t> last;
  last.reserve(answered.size());
  for (const auto& target : answered) last.push_back(word(target, 3));
  std::sort(last.begin(), last.end());
  const auto groups =
      static_cast<std::size_t>(std::unique(last.begin(), last.end()) - last.begin());
  // the load, two per inner node, three per leaf and seven per target
  return 1 + 2 * (groups - 1) + 3 * groups + 7 * answered.size();
}

void check_targets(std::vector<sock_filter>& code, const std::vector<Ipv6Address>& answered) {
  Groups groups;
  for (const auto& target : answered) groups[word(target, 3)].push_back(target);
  code.push_back(load_word(kTarget + 12));
  emit_tree(code, groups.begin(), groups.size());
}

}  // namespace

BpfProgram build_ns_filter(NsListener listener, const PacketFilter& filter, std::size_t max_insns) {
  BpfProgram program;
  auto& code = program.code;
  check_packet_type(code);
  if (filter.interfaces && filter.interfaces->empty()) {
    code.assign(1, drop());
    return program;
  }
  if (filter.interfaces && filter.interfaces->size() <= kMaxInterfaces) {
    check_interfaces(code, *filter.interfaces);
  }
  require_byte(code, kNextHeaderOffset, kIcmpv6);           // no extension headers
  require_byte(code, kHopLimitOffset, kNdpHopLimit);        // not forwarded
  require_byte(code, kIpv6Header, kNeighbourSolicitation);  // type
  require_byte(code, kIpv6Header + 1, 0);                   // code
  check_source(code, listener);
  if (listener == NsListener::kSolicitation && !filter.answered.empty()) {
    // Each target takes at least seven instructions: most tables too big are known at once.
    max_insns = std::min<std::size_t>(max_insns, BPF_MAXINSNS);
    if (7 * filter.answered.size() < max_insns &&
        code.size() + targets_size(filter.answered) <= max_insns) {
      check_targets(code, filter.answered);
      return program;  // the leaves end in a verdict
    }
    program.targets_filtered = false;
  }
  code.push_back(pass());
  return program;
}

std::vector<sock_filter> drop_all_filter() { return {drop()}; }

}  // namespace ndpsync
