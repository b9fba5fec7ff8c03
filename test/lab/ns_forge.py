#!/usr/bin/python3
"""ns_forge.py — send neighbour solicitations as a hostile or broken node would, whole frames.

    ip netns exec NS /usr/bin/python3 ns_forge.py --iface eth0 --target ADDR --kind KIND
        [--source ADDR] [--count N]

Builds each IPv6 packet itself (header, NS, options, checksum) and sends it on a packet socket,
so that it can be wrong in ways the kernel's own sockets would not allow. KIND:

    valid         an NS for --target from --source (default: the interface's link-local address),
                  with a source link-layer address option, to the target's solicited-node group
    bad-checksum  the same, checksum off by one
    code1         the same, ICMPv6 code 1
    zero-option   the same, with an option of length 0 after the source link-layer option
    dad           a DAD probe: from ::, no options, to the target's solicited-node group
    dad-slla      a DAD probe carrying a source link-layer address option
    dad-wrong-dst a DAD probe to ff02::1 instead of the target's solicited-node group

Exit status: 0, or 2 on a usage error. Stdlib only; needs CAP_NET_RAW (root).
"""

import argparse
import ipaddress
import socket
import struct
import sys

ETH_P_IPV6 = 0x86DD
KINDS = ("valid", "bad-checksum", "code1", "zero-option", "dad", "dad-slla", "dad-wrong-dst")


def checksum(source, destination, message):
    data = source.packed + destination.packed + struct.pack("!IxxxB", len(message), 58) + message
    if len(data) % 2:
        data += b"\0"
    total = sum(struct.unpack("!%dH" % (len(data) // 2), data))
    while total >> 16:
        total = (total & 0xFFFF) + (total >> 16)
    return ~total & 0xFFFF


def link_local(iface):
    with open("/proc/net/if_inet6") as f:
        for line in f:
            fields = line.split()
            if fields[5] == iface and fields[0].startswith("fe80"):
                return ipaddress.IPv6Address(bytes.fromhex(fields[0]))
    raise ValueError("%s has no link-local address" % iface)


def build(kind, source, target, mac):
    dad = kind.startswith("dad")
    if dad:
        source = ipaddress.IPv6Address("::")
    group = ipaddress.IPv6Address(bytes.fromhex("ff0200000000000000000001ff") + target.packed[13:])
    destination = ipaddress.IPv6Address("ff02::1") if kind == "dad-wrong-dst" else group
    options = b""
    if kind in ("valid", "bad-checksum", "code1", "zero-option", "dad-slla"):
        options += struct.pack("!BB", 1, 1) + mac
    if kind == "zero-option":
        options += struct.pack("!BB", 14, 0) + b"\0" * 6
    code = 1 if kind == "code1" else 0
    message = struct.pack("!BBHI", 135, code, 0, 0) + target.packed + options
    total = checksum(source, destination, message)
    if kind == "bad-checksum":
        total = (total + 1) & 0xFFFF
    message = message[:2] + struct.pack("!H", total) + message[4:]
    header = struct.pack("!IHBB", 6 << 28, len(message), 58, 255)
    return header + source.packed + destination.packed + message, destination


def main(argv):
    p = argparse.ArgumentParser(description="Send forged NS (see module doc).")
    p.add_argument("--iface", required=True)
    p.add_argument("--target", required=True)
    p.add_argument("--kind", required=True, choices=KINDS)
    p.add_argument("--source")
    p.add_argument("--count", type=int, default=1)
    args = p.parse_args(argv)
    try:
        target = ipaddress.IPv6Address(args.target)
        source = ipaddress.IPv6Address(args.source) if args.source else link_local(args.iface)
        with open("/sys/class/net/%s/address" % args.iface) as f:
            mac = bytes(int(x, 16) for x in f.read().strip().split(":"))
    except (ValueError, OSError) as e:
        print("ns_forge.py: %s" % e, file=sys.stderr)
        return 2
    packet, destination = build(args.kind, source, target, mac)
    dst_mac = b"\x33\x33" + destination.packed[12:]
    s = socket.socket(socket.AF_PACKET, socket.SOCK_DGRAM, socket.htons(ETH_P_IPV6))
    for _ in range(args.count):
        s.sendto(packet, (args.iface, ETH_P_IPV6, 0, 0, dst_mac))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
