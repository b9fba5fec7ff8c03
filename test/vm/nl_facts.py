#!/usr/bin/python3
"""nl_facts.py — raw netlink probes for test/vm/kernel_facts.sh (run inside a lab namespace).

    nl_facts.py dump-filter IFNAME    how RTM_GETNEIGH dumps honour ndm_flags=NTF_PROXY and an
                                      NDA_PROTOCOL attribute (plain and with strict checking)
    nl_facts.py enobufs IFNAME        what an RTNLGRP_NEIGH subscriber with a tiny receive buffer
                                      sees when 400 neighbour events arrive unread

Prints one JSON object. Stdlib only; needs CAP_NET_ADMIN in the namespace.
"""

import errno
import json
import os
import socket
import struct
import subprocess
import sys
import time

NETLINK_ROUTE = 0
RTM_NEWNEIGH, RTM_GETNEIGH = 28, 30
NLM_F_REQUEST, NLM_F_DUMP = 0x1, 0x300
NLMSG_ERROR, NLMSG_DONE = 2, 3
NTF_PROXY = 0x08
NDA_PROTOCOL = 12
NETLINK_GET_STRICT_CHK = 12
SOL_NETLINK = 270
RTMGRP_NEIGH = 0x4


def dump(flags, protocol=None, strict=False):
    """One RTM_GETNEIGH dump; returns (list of (ndm_flags, protocol), errno or 0)."""
    s = socket.socket(socket.AF_NETLINK, socket.SOCK_RAW, NETLINK_ROUTE)
    s.bind((0, 0))
    if strict:
        s.setsockopt(SOL_NETLINK, NETLINK_GET_STRICT_CHK, 1)
    body = struct.pack("=BxxxiHBB", socket.AF_INET6, 0, 0, flags, 0)
    if protocol is not None:
        body += struct.pack("=HHBxxx", 5, NDA_PROTOCOL, protocol)
    s.send(struct.pack("=IHHII", 16 + len(body), RTM_GETNEIGH, NLM_F_REQUEST | NLM_F_DUMP, 1, 0) + body)
    out = []
    while True:
        data = s.recv(65536)
        off = 0
        while off < len(data):
            length, mtype, _, _, _ = struct.unpack_from("=IHHII", data, off)
            if mtype == NLMSG_DONE:
                # A dump that fails at its start reports the error in DONE's payload.
                err = -struct.unpack_from("=i", data, off + 16)[0] if length >= 20 else 0
                return out, err
            if mtype == NLMSG_ERROR:
                err = -struct.unpack_from("=i", data, off + 16)[0]
                return out, err
            if mtype == RTM_NEWNEIGH:
                ndm_flags = data[off + 16 + 10]
                proto = None
                a = off + 16 + 12
                while a + 4 <= off + length:
                    alen, atype = struct.unpack_from("=HH", data, a)
                    if alen < 4:
                        break
                    if atype == NDA_PROTOCOL:
                        proto = data[a + 4]
                    a += (alen + 3) & ~3
                out.append((ndm_flags, proto))
            off += (length + 3) & ~3


def summarize(entries, err):
    if err:
        return "error %s" % errno.errorcode.get(err, err)
    proxies = [e for e in entries if e[0] & NTF_PROXY]
    protos = sorted({e[1] if e[1] is not None else 0 for e in proxies})
    return "%d proxies (protocols %s), %d neighbours" % (
        len(proxies), ",".join(str(p) for p in protos), len(entries) - len(proxies))


def dump_filter():
    return {
        "flags_0": summarize(*dump(0)),
        "flags_proxy": summarize(*dump(NTF_PROXY)),
        "flags_proxy_protocol_176": summarize(*dump(NTF_PROXY, 176)),
        "strict_flags_proxy": summarize(*dump(NTF_PROXY, strict=True)),
        "strict_flags_proxy_protocol_176": summarize(*dump(NTF_PROXY, 176, strict=True)),
    }


def enobufs(ifname):
    s = socket.socket(socket.AF_NETLINK, socket.SOCK_RAW, NETLINK_ROUTE)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1)  # the kernel's minimum
    s.bind((0, RTMGRP_NEIGH))
    batch = "".join("neigh replace 2001:db8:ffff::%x lladdr 02:00:00:00:%02x:%02x dev %s nud permanent\n"
                    % (i, i >> 8, i & 0xFF, ifname) for i in range(1, 401))
    subprocess.run(["ip", "-6", "-batch", "-"], input=batch.encode(), check=True)
    s.setblocking(False)
    before, first_error = 0, None
    while True:
        try:
            s.recv(65536)
            before += 1
        except BlockingIOError:
            break
        except OSError as e:
            first_error = errno.errorcode.get(e.errno, e.errno)
            break
    after = 0
    if first_error:
        # Drain, then one more event: is the socket usable again? The buffer holds only a few
        # messages, and the lab's own neighbours (STALE, PROBE...) may overrun it again before
        # ours comes, most in a slow guest: a new ENOBUFS is drained and the event sent again,
        # until one event is read or the time (scaled like the lab's waits) is up.
        deadline = time.monotonic() + 5 * float(os.environ.get("LAB_TIME_SCALE", "1"))
        for attempt in range(50):
            s.setblocking(False)
            while True:
                try:
                    s.recv(65536)
                except (BlockingIOError, OSError):
                    break
            subprocess.run(["ip", "-6", "neigh", "replace", "2001:db8:ffff::ffff", "lladdr",
                            "02:00:00:00:ff:%02x" % attempt, "dev", ifname, "nud", "permanent"],
                           check=True)
            left = deadline - time.monotonic()
            if left <= 0:
                break
            s.settimeout(left)
            try:
                s.recv(65536)
                after = 1
                break
            except socket.timeout:
                break
            except OSError as e:
                if e.errno != errno.ENOBUFS:
                    break
    subprocess.run(["ip", "-6", "neigh", "flush", "dev", ifname, "nud", "permanent"], check=False)
    return {"messages_before_error": before, "error": first_error or "none",
            "event_after_drain": bool(after)}


def main(argv):
    if len(argv) != 3 or argv[1] not in ("dump-filter", "enobufs"):
        print(__doc__, file=sys.stderr)
        return 2
    result = dump_filter() if argv[1] == "dump-filter" else enobufs(argv[2])
    print(json.dumps(result, sort_keys=True))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
