#!/usr/bin/python3
"""ndp_scan.py — scan a prefix with Neighbor Solicitations, as an attacker outside would.

    ip netns exec LABr /usr/bin/python3 ndp_scan.py --iface wan --source 2001:db8:0:1::1 \
        --prefix 2001:db8:0:1::/64 --count 10000 --rate 1000 [--seed 1] [--within P/L ...]

Sends --count multicast NS, each for a random target in --prefix (or, with --within, in one of
those smaller prefixes, chosen in turn), to the target's solicited-node group, at --rate a
second. Every NA that comes back is recorded. One JSON line is printed:

    {"sent": 10000, "duration_s": 10.01, "answered": ["2001:db8:0:1::2:2", ...]}

Exit status: 0, or 2 on a usage error. Stdlib only; needs CAP_NET_RAW (root).
"""

import argparse
import ipaddress
import json
import os
import random
import socket
import struct
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import ndp_probe  # noqa: E402  (the lab's NS builder and socket)


def main(argv):
    p = argparse.ArgumentParser(description="Scan a prefix with NS (see module doc).")
    p.add_argument("--iface", required=True)
    p.add_argument("--source", required=True)
    p.add_argument("--prefix", required=True)
    p.add_argument("--within", action="append", default=[])
    p.add_argument("--count", type=int, default=10000)
    p.add_argument("--rate", type=float, default=1000)
    p.add_argument("--seed", type=int, default=1)
    args = p.parse_args(argv)
    try:
        nets = [ipaddress.IPv6Network(n) for n in (args.within or [args.prefix])]
        args.source_ip = ipaddress.IPv6Address(args.source)
        args.ifindex = socket.if_nametoindex(args.iface)
    except (ValueError, OSError) as e:
        p.error(str(e))
    if args.count < 1 or args.rate <= 0:
        p.error("--count must be >= 1 and --rate > 0")
    rng = random.Random(args.seed)
    s = ndp_probe.open_socket(args)
    slla = ndp_probe.iface_mac(args.iface)
    pktinfo = struct.pack("=16sI", args.source_ip.packed, args.ifindex)
    answered = set()

    def collect():
        while True:
            try:
                data, _ = s.recvfrom(2048)
            except BlockingIOError:
                return
            na = ndp_probe.parse_na(data)
            if na is not None:
                answered.add(str(na[0]))

    t0 = time.monotonic()
    for i in range(args.count):
        net = nets[i % len(nets)]
        host = rng.randrange(1, net.num_addresses - 1)
        target = net.network_address + host
        dst = ndp_probe.solicited_node(target)
        try:
            s.sendmsg([ndp_probe.build_ns(target, slla)],
                      [(socket.IPPROTO_IPV6, ndp_probe.IPV6_PKTINFO, pktinfo)], 0,
                      (str(dst), 0, 0, args.ifindex))
        except (BlockingIOError, OSError):
            pass
        collect()
        due = t0 + (i + 1) / args.rate
        pause = due - time.monotonic()
        if pause > 0:
            time.sleep(pause)
    sent_s = time.monotonic() - t0
    end = time.monotonic() + 1.0  # late answers
    while time.monotonic() < end:
        collect()
        time.sleep(0.02)
    print(json.dumps({"sent": args.count, "duration_s": round(sent_s, 3),
                      "answered": sorted(answered)}))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
