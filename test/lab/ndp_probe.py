#!/usr/bin/python3
"""ndp_probe.py — send IPv6 Neighbor Solicitations and wait for the Neighbor Advertisement.

Run it inside the namespace that plays the provider's router, e.g.

    ip netns exec LABr /usr/bin/python3 ndp_probe.py --iface wan \
        --source 2001:db8:0:1::1 --target 2001:db8:0:1::1:2 [--unicast] [--count 100]

Modes
  multicast (default)  NS to the target's solicited-node group (ff02::1:ffXX:XXXX), as a router
                       does when it first resolves an address. The kernel proxy answers these
                       in ndisc_recv_ns (after proxy_delay).
  --unicast            NS to the target address itself, sent to the host's MAC: the router's
                       reachability probe (NUD PROBE). On the host these go through ip6_forward,
                       which needs all.proxy_ndp=1 (docs/design.md, "Unicast NS"). To make our own
                       kernel send the packet to the right MAC without resolving the target first,
                       the probe pins the router's neighbour entry for the target
                       (`ip -6 neigh replace TARGET lladdr MAC dev IFACE nud permanent`) and
                       deletes it again afterwards (unless --keep-pin). The MAC is --dst-mac, or
                       learned from the TLLA option of a multicast NS answer.

Each solicitation is sent with hop limit 255 and a source link-layer address option carrying the
interface's MAC. One JSON line is printed:

    {"answered": true, "rtt_us": 412, ...}

With --count N, solicitations are sent one at a time (each waits up to --timeout for its answer);
"answered" is true only when every one was answered, and rtt_us is the median, with p99_us,
min_us, max_us, sent and received alongside.

Exit status: 0 answered, 1 not answered (or a runtime failure), 2 usage error.
Stdlib only; Linux only; needs CAP_NET_RAW (root).
"""

import argparse
import ipaddress
import json
import math
import os
import select
import socket
import statistics
import struct
import subprocess
import sys
import time

ICMPV6_NS = 135
ICMPV6_NA = 136
OPT_SLLA = 1
OPT_TLLA = 2

# Linux values (not all are exported by Python's socket module).
SO_BINDTODEVICE = getattr(socket, "SO_BINDTODEVICE", 25)
IPV6_PKTINFO = getattr(socket, "IPV6_PKTINFO", 50)
IPV6_UNICAST_HOPS = getattr(socket, "IPV6_UNICAST_HOPS", 16)
IPV6_MULTICAST_HOPS = getattr(socket, "IPV6_MULTICAST_HOPS", 18)
IPV6_MULTICAST_IF = getattr(socket, "IPV6_MULTICAST_IF", 17)
IPV6_MULTICAST_LOOP = getattr(socket, "IPV6_MULTICAST_LOOP", 19)
ICMP6_FILTER = 1  # level IPPROTO_ICMPV6



def parse_args(argv):
    p = argparse.ArgumentParser(description="Send IPv6 NS, wait for the NA (see module doc).")
    p.add_argument("--iface", required=True, help="interface to send on (e.g. wan)")
    p.add_argument("--source", required=True, help="IPv6 source address of the NS")
    p.add_argument("--target", required=True, help="address to solicit")
    p.add_argument("--unicast", action="store_true",
                   help="send to the target itself (reachability probe), not to its group")
    p.add_argument("--dst-mac", help="MAC to send unicast NS to (default: learn it)")
    p.add_argument("--keep-pin", action="store_true",
                   help="leave the pinned neighbour entry in place after --unicast")
    p.add_argument("--count", type=int, default=1, help="solicitations to send (default 1)")
    p.add_argument("--timeout", type=float, default=1.0,
                   help="seconds to wait for each answer (default 1.0)")
    p.add_argument("--interval", type=float, default=0.0,
                   help="pause between solicitations in seconds (default 0)")
    args = p.parse_args(argv)
    try:
        args.source_ip = ipaddress.IPv6Address(args.source)
        args.target_ip = ipaddress.IPv6Address(args.target)
    except ipaddress.AddressValueError as e:
        p.error(str(e))
    if args.target_ip.is_multicast or args.target_ip.is_unspecified:
        p.error("--target must be a unicast address")
    if args.count < 1:
        p.error("--count must be >= 1")
    if args.timeout <= 0 or args.interval < 0:
        p.error("--timeout must be > 0 and --interval >= 0")
    if args.dst_mac is not None:
        try:
            args.dst_mac_bytes = parse_mac(args.dst_mac)
        except ValueError:
            p.error("--dst-mac: not a MAC address: %s" % args.dst_mac)
    try:
        args.ifindex = socket.if_nametoindex(args.iface)
    except OSError:
        p.error("--iface: no such interface in this namespace: %s" % args.iface)
    return args


def parse_mac(text):
    parts = text.split(":")
    if len(parts) != 6:
        raise ValueError(text)
    return bytes(int(x, 16) for x in parts)


def format_mac(raw):
    return ":".join("%02x" % b for b in raw)


def iface_mac(iface):
    with open("/sys/class/net/%s/address" % iface) as f:
        return parse_mac(f.read().strip())


def solicited_node(addr):
    """ff02::1:ffXX:XXXX for the low 24 bits of addr."""
    low = addr.packed[13:]
    return ipaddress.IPv6Address(bytes.fromhex("ff0200000000000000000001ff") + low)


def build_ns(target, slla):
    # type, code, checksum (the kernel fills it in for ICMPv6 raw sockets), reserved
    hdr = struct.pack("!BBHI", ICMPV6_NS, 0, 0, 0)
    opt = struct.pack("!BB", OPT_SLLA, 1) + slla  # length in units of 8 bytes
    return hdr + target.packed + opt


def parse_na(data):
    """Return (target, tlla or None) if data is a Neighbor Advertisement, else None."""
    if len(data) < 24 or data[0] != ICMPV6_NA or data[1] != 0:
        return None
    target = ipaddress.IPv6Address(data[8:24])
    tlla = None
    off = 24
    while off + 2 <= len(data):
        otype, olen = data[off], data[off + 1]
        if olen == 0:
            break
        if otype == OPT_TLLA and olen == 1 and off + 8 <= len(data):
            tlla = bytes(data[off + 2:off + 8])
        off += olen * 8
    return target, tlla


def open_socket(args):
    s = socket.socket(socket.AF_INET6, socket.SOCK_RAW, socket.IPPROTO_ICMPV6)
    s.setsockopt(socket.SOL_SOCKET, SO_BINDTODEVICE, args.iface.encode())
    # RFC 4861: NDP messages must carry hop limit 255, or receivers drop them.
    s.setsockopt(socket.IPPROTO_IPV6, IPV6_UNICAST_HOPS, 255)
    s.setsockopt(socket.IPPROTO_IPV6, IPV6_MULTICAST_HOPS, 255)
    s.setsockopt(socket.IPPROTO_IPV6, IPV6_MULTICAST_IF, args.ifindex)
    s.setsockopt(socket.IPPROTO_IPV6, IPV6_MULTICAST_LOOP, 0)
    # Receive only Neighbor Advertisements (a set bit blocks that type).
    words = [0xFFFFFFFF] * 8
    words[ICMPV6_NA >> 5] &= ~(1 << (ICMPV6_NA & 31)) & 0xFFFFFFFF
    s.setsockopt(socket.IPPROTO_ICMPV6, ICMP6_FILTER, struct.pack("=8I", *words))
    s.setblocking(False)
    return s


def drain(s):
    while True:
        try:
            s.recvfrom(2048)
        except BlockingIOError:
            return


def solicit_once(s, args, packet, dst):
    """Send one NS and wait for its NA. Return (rtt_us, from_addr, tlla) or None."""
    drain(s)  # forget late answers to earlier solicitations
    pktinfo = struct.pack("=16sI", args.source_ip.packed, args.ifindex)
    t0 = time.monotonic_ns()
    s.sendmsg([packet], [(socket.IPPROTO_IPV6, IPV6_PKTINFO, pktinfo)],
              0, (str(dst), 0, 0, args.ifindex))
    deadline = t0 + int(args.timeout * 1e9)
    while True:
        left = (deadline - time.monotonic_ns()) / 1e9
        if left <= 0:
            return None
        ready, _, _ = select.select([s], [], [], left)
        if not ready:
            return None
        try:
            data, addr = s.recvfrom(2048)
        except BlockingIOError:
            continue
        now = time.monotonic_ns()
        na = parse_na(data)
        if na is None or na[0] != args.target_ip:
            continue
        return (now - t0) // 1000, addr[0].split("%")[0], na[1]


def ip_cmd(*argv):
    return subprocess.run(["ip", *argv], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                          text=True)


def pin(args, mac):
    r = ip_cmd("-6", "neigh", "replace", str(args.target_ip), "lladdr", format_mac(mac),
               "dev", args.iface, "nud", "permanent")
    if r.returncode != 0:
        raise RuntimeError("cannot pin neighbour entry: " + r.stderr.strip())


def unpin(args):
    ip_cmd("-6", "neigh", "del", str(args.target_ip), "dev", args.iface)


def percentile(sorted_values, p):
    """Nearest-rank percentile."""
    k = max(1, math.ceil(p / 100.0 * len(sorted_values)))
    return sorted_values[k - 1]


def run(args):
    slla = iface_mac(args.iface)
    result = {"target": str(args.target_ip), "mode": "unicast" if args.unicast else "multicast"}
    s = open_socket(args)
    pinned = False
    try:
        group = solicited_node(args.target_ip)
        packet = build_ns(args.target_ip, slla)
        if args.unicast:
            mac = getattr(args, "dst_mac_bytes", None)
            if mac is None:
                # Learn the proxy's MAC from a multicast answer's TLLA option.
                got = solicit_once(s, args, packet, group)
                if got is None or got[2] is None:
                    result.update(answered=False, rtt_us=None,
                                  error="could not learn the target's MAC (no multicast answer);"
                                        " pass --dst-mac")
                    return result, 1
                mac = got[2]
            pin(args, mac)
            pinned = True
            result["dst_mac"] = format_mac(mac)
            dst = args.target_ip
        else:
            dst = group

        rtts = []
        last_from = None
        last_tlla = None
        for i in range(args.count):
            if i and args.interval:
                time.sleep(args.interval)
            got = solicit_once(s, args, packet, dst)
            if got is not None:
                rtts.append(got[0])
                last_from, last_tlla = got[1], got[2]
    finally:
        s.close()
        if pinned and not args.keep_pin:
            unpin(args)

    answered = len(rtts) == args.count
    rtts.sort()
    result["answered"] = answered
    result["rtt_us"] = int(statistics.median(rtts)) if rtts else None
    if args.count > 1:
        result.update(sent=args.count, received=len(rtts),
                      median_us=result["rtt_us"],
                      p99_us=percentile(rtts, 99) if rtts else None,
                      min_us=rtts[0] if rtts else None,
                      max_us=rtts[-1] if rtts else None)
    if last_from is not None:
        result["from"] = last_from  # the kernel's proxy NA comes from a link-local address
    if last_tlla is not None:
        result["tlla"] = format_mac(last_tlla)
    return result, 0 if answered else 1


def main(argv):
    args = parse_args(argv)  # exits 2 on usage errors
    try:
        result, rc = run(args)
    except (OSError, RuntimeError) as e:
        result, rc = {"answered": False, "rtt_us": None, "error": str(e)}, 1
    # "answered" and "rtt_us" first: the documented contract.
    ordered = {"answered": result.pop("answered"), "rtt_us": result.pop("rtt_us")}
    ordered.update(result)
    print(json.dumps(ordered), flush=True)
    return rc


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
