#!/usr/bin/python3
"""bench/helpers.py — small measuring helpers for bench/run.sh (Debian's python3, stdlib only).

  helpers.py pcap FILE --target ADDR [--router ADDR]
      Pair each Neighbor Solicitation for ADDR (sent by the router) in a tcpdump capture with the
      first Neighbor Advertisement for ADDR that follows it, before the next solicitation.
      Prints {"ns": n, "answered": k, "latency_us": [...]} with capture timestamps.

  helpers.py sample PID --seconds S [--interval I]
      Sample a process (all its threads) every I seconds for S seconds: CPU time from
      /proc/PID/stat (utime+stime, clock ticks) and /proc/PID/task/*/schedstat (ns), context
      switches from /proc/PID/task/*/status. Prints totals, and the "bursts": intervals in which
      the process ran at all (start time, CPU ns), so periodic wakeups and per-resync costs show.

  helpers.py proc PID
      One snapshot: {"cpu_ticks", "cpu_ns", "ctxsw", "vol", "invol", "rss_kb", "hwm_kb",
      "rss_anon_kb", "rss_file_kb", "threads"}.
"""

import argparse
import ipaddress
import json
import os
import struct
import sys
import time

CLK_TCK = os.sysconf("SC_CLK_TCK")


# ---------------------------------------------------------------------------------------------
# pcap

def read_pcap(path):
    with open(path, "rb") as f:
        data = f.read()
    if len(data) < 24:
        return
    magic = struct.unpack("<I", data[:4])[0]
    if magic in (0xA1B2C3D4, 0xA1B23C4D):
        endian = "<"
    else:
        endian = ">"
        magic = struct.unpack(">I", data[:4])[0]
    nano = magic == 0xA1B23C4D
    linktype = struct.unpack(endian + "I", data[20:24])[0]
    off = 24
    while off + 16 <= len(data):
        sec, frac, incl, _orig = struct.unpack(endian + "IIII", data[off:off + 16])
        off += 16
        pkt = data[off:off + incl]
        off += incl
        ts_ns = sec * 1_000_000_000 + (frac if nano else frac * 1000)
        yield ts_ns, linktype, pkt


def ndp_of(linktype, pkt):
    """(icmp type, src, target) for an NS/NA without extension headers, else None."""
    if linktype == 1:  # Ethernet
        if len(pkt) < 14:
            return None
        ethertype = struct.unpack("!H", pkt[12:14])[0]
        pkt = pkt[14:]
        if ethertype != 0x86DD:
            return None
    elif linktype == 113:  # Linux cooked
        pkt = pkt[16:]
    else:
        return None
    if len(pkt) < 40 + 24 or pkt[6] != 58:
        return None
    icmp = pkt[40:]
    if icmp[0] not in (135, 136):
        return None
    return icmp[0], ipaddress.IPv6Address(pkt[8:24]), ipaddress.IPv6Address(icmp[8:24])


def cmd_pcap(args):
    target = ipaddress.IPv6Address(args.target)
    router = ipaddress.IPv6Address(args.router) if args.router else None
    pending = None
    ns = answered = extra = 0
    lat = []
    for ts, linktype, pkt in read_pcap(args.file):
        ndp = ndp_of(linktype, pkt)
        if ndp is None or ndp[2] != target:
            continue
        kind, src, _ = ndp
        if kind == 135:
            if router is not None and src != router:
                continue
            ns += 1
            pending = ts
        elif pending is not None:
            lat.append((ts - pending) / 1000.0)
            answered += 1
            pending = None
        else:
            extra += 1
    print(json.dumps({"ns": ns, "answered": answered, "extra_na": extra,
                      "latency_us": [round(x, 2) for x in lat]}))


# ---------------------------------------------------------------------------------------------
# /proc sampling

def snapshot(pid):
    cpu_ticks = 0
    with open("/proc/%d/stat" % pid) as f:
        fields = f.read().rsplit(")", 1)[1].split()
        cpu_ticks = int(fields[11]) + int(fields[12])  # utime, stime (fields 14, 15)
    cpu_ns = vol = invol = threads = 0
    for tid in os.listdir("/proc/%d/task" % pid):
        try:
            with open("/proc/%d/task/%s/schedstat" % (pid, tid)) as f:
                cpu_ns += int(f.read().split()[0])
            with open("/proc/%d/task/%s/status" % (pid, tid)) as f:
                for line in f:
                    if line.startswith("voluntary_ctxt_switches:"):
                        vol += int(line.split()[1])
                    elif line.startswith("nonvoluntary_ctxt_switches:"):
                        invol += int(line.split()[1])
            threads += 1
        except FileNotFoundError:
            pass
    mem = {}
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            key = line.split(":")[0]
            if key in ("VmRSS", "VmHWM", "RssAnon", "RssFile", "RssShmem"):
                mem[key] = int(line.split()[1])
    rss, hwm = mem.get("VmRSS", 0), mem.get("VmHWM", 0)
    return {"cpu_ticks": cpu_ticks, "cpu_ms_ticks": cpu_ticks * 1000.0 / CLK_TCK,
            "cpu_ns": cpu_ns, "ctxsw": vol + invol, "vol": vol, "invol": invol,
            "rss_kb": rss, "hwm_kb": hwm, "rss_anon_kb": mem.get("RssAnon", 0),
            "rss_file_kb": mem.get("RssFile", 0), "threads": threads}


def mappings(pid):
    """Resident kB per mapped file ("[heap]", "[anon]", ... for the rest), largest first."""
    rss, name = {}, None
    with open("/proc/%d/smaps" % pid) as f:
        for line in f:
            head = line.split(None, 1)[0]
            if not head.endswith(":"):  # a mapping's first line: range perms offset dev inode [path]
                parts = line.split(None, 5)
                name = os.path.basename(parts[5].strip()) if len(parts) > 5 else "[anon]"
            elif head == "Rss:":
                rss[name] = rss.get(name, 0) + int(line.split()[1])
    return dict(sorted(((k, v) for k, v in rss.items() if v > 0), key=lambda kv: -kv[1]))


def cmd_proc(args):
    print(json.dumps(dict(snapshot(args.pid), maps_kb=mappings(args.pid))))


def cmd_sample(args):
    t0 = time.monotonic()
    first = snapshot(args.pid)
    prev = first
    bursts = []  # [start_s, end_s, cpu_ns, ctxsw]
    while True:
        now = time.monotonic()
        if now - t0 >= args.seconds:
            break
        time.sleep(min(args.interval, args.seconds - (now - t0)))
        cur = snapshot(args.pid)
        t = time.monotonic() - t0
        dns = cur["cpu_ns"] - prev["cpu_ns"]
        dcs = cur["ctxsw"] - prev["ctxsw"]
        if dns > 0 or dcs > 0:
            # Merge with the previous burst when it ran in the previous interval too.
            if bursts and t - bursts[-1][1] <= args.interval * 1.5:
                bursts[-1][1] = t
                bursts[-1][2] += dns
                bursts[-1][3] += dcs
            else:
                bursts.append([t, t, dns, dcs])
        prev = cur
    last = prev
    secs = time.monotonic() - t0
    print(json.dumps({
        "seconds": round(secs, 3),
        "interval_s": args.interval,
        "cpu_ns": last["cpu_ns"] - first["cpu_ns"],
        "cpu_ms_ticks": last["cpu_ms_ticks"] - first["cpu_ms_ticks"],
        "ctxsw": last["ctxsw"] - first["ctxsw"],
        "vol": last["vol"] - first["vol"],
        "invol": last["invol"] - first["invol"],
        "rss_kb": last["rss_kb"], "hwm_kb": last["hwm_kb"], "threads": last["threads"],
        "bursts": [{"at_s": round(b[0], 3), "cpu_us": round(b[2] / 1000.0, 1), "ctxsw": b[3]}
                   for b in bursts],
    }))


def main(argv):
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    sub = p.add_subparsers(dest="cmd", required=True)
    a = sub.add_parser("pcap")
    a.add_argument("file")
    a.add_argument("--target", required=True)
    a.add_argument("--router")
    a.set_defaults(func=cmd_pcap)
    a = sub.add_parser("sample")
    a.add_argument("pid", type=int)
    a.add_argument("--seconds", type=float, required=True)
    a.add_argument("--interval", type=float, default=0.05)
    a.set_defaults(func=cmd_sample)
    a = sub.add_parser("proc")
    a.add_argument("pid", type=int)
    a.set_defaults(func=cmd_proc)
    args = p.parse_args(argv)
    args.func(args)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
