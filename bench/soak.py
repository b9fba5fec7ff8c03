#!/usr/bin/python3
"""bench/soak.py — the churn soak's moving parts (Debian's python3, stdlib only); bench/soak.sh
runs them.

  soak.py churn --iface eth0 --gateway ADDR --base ADDR --rate R --lifetime S --duration S
                [--seed N] [--pool N]
      Run inside a container's namespace. Every 1/R s a new address (base + i, i cycling through
      a pool of N) is added to IFACE as a /128 (IFA_F_NODAD, over rtnetlink) and sends one ICMPv6
      echo request from it to the gateway; the echo reply proves the host resolved the address
      (its neighbour entry is REACHABLE), else the request is repeated (3 tries, 1 s apart). Each
      address leaves after a lifetime drawn uniformly from [S/2, 3S/2]: its address is deleted
      and nothing else happens, so the node simply stops answering. After DURATION s no address
      arrives or leaves any more: those still configured stay live. Prints a JSON summary.

  soak.py watch --pid PID --socket PATH --netns NS --dev BRIDGE --net CIDR --out FILE
                --stop FILE [--interval S]
      Run in the host's namespace (NS) until FILE exists. Every INTERVAL s one sample (JSON line in
      OUT): the agent's VmRSS, RssAnon, VmHWM and [heap] (/proc/PID/status, /proc/PID/smaps),
      its status document's entries, verifying and withdrawn lists and counters (read from the
      status socket), and the bridge's neighbour states. Twice a second it also plays the kernel's
      garbage collector, sped up: a FAILED neighbour on BRIDGE inside the churn range (CIDR
      NET) that has no proxy entry (the agent has withdrawn
      it, or never proxied it) is deleted. Without it FAILED entries stay until the periodic gc
      (every 15 s at the kernel's defaults, and only above gc_thresh1), and with 50 departures a
      second they would fill the neighbour table that every namespace on the machine shares.
      Entries the agent still proxies are never touched: their withdrawal is the agent's.
"""

import argparse
import heapq
import ipaddress
import json
import os
import random
import select
import shutil
import socket
import struct
import subprocess
import sys
import time

# ---------------------------------------------------------------------------------------------
# rtnetlink: add and delete one IPv6 address, delete one neighbour

RTM_NEWADDR, RTM_DELADDR, RTM_DELNEIGH = 20, 21, 29
NLM_F_REQUEST, NLM_F_ACK, NLM_F_EXCL, NLM_F_CREATE = 0x1, 0x4, 0x200, 0x400
NLMSG_ERROR = 2
IFA_ADDRESS, IFA_FLAGS = 1, 8
IFA_F_NODAD, IFA_F_NOPREFIXROUTE = 0x02, 0x200
NDA_DST = 1


class Rtnl:
    def __init__(self):
        self.sock = socket.socket(socket.AF_NETLINK, socket.SOCK_RAW, socket.NETLINK_ROUTE)
        self.sock.bind((0, 0))
        self.seq = 0

    @staticmethod
    def _attr(kind, payload):
        length = 4 + len(payload)
        return struct.pack("HH", length, kind) + payload + b"\0" * ((4 - length % 4) % 4)

    def request(self, op, nlflags, body):
        """Send one request with an ack; returns 0 or the errno."""
        self.seq += 1
        flags = NLM_F_REQUEST | NLM_F_ACK | nlflags
        self.sock.send(struct.pack("IHHII", 16 + len(body), op, flags, self.seq, 0) + body)
        while True:
            data = self.sock.recv(65536)
            off = 0
            while off + 16 <= len(data):
                length, kind, _, seq, _ = struct.unpack("IHHII", data[off:off + 16])
                if kind == NLMSG_ERROR and seq == self.seq:
                    return -struct.unpack("i", data[off + 16:off + 20])[0]
                off += (length + 3) & ~3

    def neighbour_del(self, ifindex, addr):
        """RTM_DELNEIGH for addr on ifindex; returns 0 or the errno."""
        body = struct.pack("BBHiHBB", socket.AF_INET6, 0, 0, ifindex, 0, 0, 0)
        return self.request(RTM_DELNEIGH, 0, body + self._attr(NDA_DST, addr.packed))

    def address(self, op, ifindex, addr):
        """RTM_NEWADDR/RTM_DELADDR for addr/128 on ifindex; returns 0 or the errno."""
        flags = IFA_F_NODAD | IFA_F_NOPREFIXROUTE
        body = struct.pack("BBBBI", socket.AF_INET6, 128, flags & 0xFF, 0, ifindex)
        body += self._attr(IFA_ADDRESS, addr.packed) + self._attr(IFA_FLAGS, struct.pack("I", flags))
        return self.request(op, NLM_F_CREATE | NLM_F_EXCL if op == RTM_NEWADDR else 0, body)


# ---------------------------------------------------------------------------------------------
# churn

ICMP6_FILTER = 1


def echo_socket():
    s = socket.socket(socket.AF_INET6, socket.SOCK_RAW, socket.IPPROTO_ICMPV6)
    # Pass echo replies (type 129) only: bit set = blocked.
    words = [0xFFFFFFFF] * 8
    words[129 >> 5] &= ~(1 << (129 & 31))
    s.setsockopt(socket.IPPROTO_ICMPV6, ICMP6_FILTER, struct.pack("8I", *words))
    s.setblocking(False)
    return s


class Churn:
    def __init__(self, args):
        self.args = args
        self.rtnl = Rtnl()
        self.ifindex = socket.if_nametoindex(args.iface)
        self.gateway = args.gateway
        self.echo = echo_socket()
        self.ident = os.getpid() & 0xFFFF
        self.rng = random.Random(args.seed)
        self.base = int(ipaddress.IPv6Address(args.base))
        self.live = {}        # address -> index in the pool
        self.pending = {}     # echo seq -> [address, tries, next retry time]
        self.events = []      # heap of (time, order, kind, address)
        self.order = 0
        self.stats = {"arrivals": 0, "departures": 0, "confirmed": 0, "retries": 0,
                      "unconfirmed": 0, "errors": 0, "max_lag_ms": 0.0, "lag_over_100ms": 0}
        self.seq = 0

    def push(self, when, kind, addr=None):
        self.order += 1
        heapq.heappush(self.events, (when, self.order, kind, addr))

    def send_echo(self, addr, tries, now):
        self.seq = (self.seq + 1) & 0xFFFF
        pkt = struct.pack("!BBHHH", 128, 0, 0, self.ident, self.seq) + b"ndpsync-soak"
        info = struct.pack("16sI", addr.packed, self.ifindex)
        try:
            self.echo.sendmsg([pkt], [(socket.IPPROTO_IPV6, socket.IPV6_PKTINFO, info)],
                              0, (self.gateway, 0))
        except OSError:
            self.stats["errors"] += 1
        self.pending[self.seq] = [addr, tries, now + 1.0]

    def arrive(self, i, now):
        addr = ipaddress.IPv6Address(self.base + i % self.args.pool)
        if addr in self.live:
            return  # the pool came round while it is still live: skip this slot
        err = self.rtnl.address(RTM_NEWADDR, self.ifindex, addr)
        if err:
            self.stats["errors"] += 1
            return
        self.live[addr] = i
        self.stats["arrivals"] += 1
        self.send_echo(addr, 1, now)
        life = self.args.lifetime * self.rng.uniform(0.5, 1.5)
        if now + life < self.end:
            self.push(now + life, "leave", addr)

    def leave(self, addr):
        if self.live.pop(addr, None) is None:
            return
        err = self.rtnl.address(RTM_DELADDR, self.ifindex, addr)
        if err:
            self.stats["errors"] += 1
        self.stats["departures"] += 1

    def read_replies(self):
        while True:
            try:
                data = self.echo.recv(2048)
            except BlockingIOError:
                return
            if len(data) < 8:
                continue
            kind, _, _, ident, seq = struct.unpack("!BBHHH", data[:8])
            if kind == 129 and ident == self.ident and seq in self.pending:
                del self.pending[seq]
                self.stats["confirmed"] += 1

    def retry_due(self, now):
        for seq, (addr, tries, due) in list(self.pending.items()):
            if due > now:
                continue
            del self.pending[seq]
            if addr not in self.live:
                continue  # left before its answer came: nothing to prove any more
            if tries >= 3:
                self.stats["unconfirmed"] += 1
                continue
            self.stats["retries"] += 1
            self.send_echo(addr, tries + 1, now)

    def run(self):
        start = time.monotonic()
        self.end = start + self.args.duration
        period = 1.0 / self.args.rate
        # A random phase per container, so the containers' arrivals interleave.
        self.push(start + self.rng.uniform(0, period), "arrive", 0)
        while self.events or self.pending:
            now = time.monotonic()
            while self.events and self.events[0][0] <= now:
                when, _, kind, what = heapq.heappop(self.events)
                lag = (now - when) * 1000
                self.stats["max_lag_ms"] = max(self.stats["max_lag_ms"], round(lag, 1))
                self.stats["lag_over_100ms"] += lag > 100
                if kind == "arrive":
                    self.arrive(what, now)
                    if when + period < self.end:
                        self.push(when + period, "arrive", what + 1)
                else:
                    self.leave(what)
            self.read_replies()
            self.retry_due(now)
            due = [p[2] for p in self.pending.values()]
            if self.events:
                due.append(self.events[0][0])
            wake = min(due) if due else now + 0.05
            timeout = max(0.0, min(wake - time.monotonic(), 0.05))
            select.select([self.echo], [], [], timeout)
        self.stats["seconds"] = round(time.monotonic() - start, 2)
        self.stats["live"] = sorted(str(a) for a in self.live)
        return self.stats


def cmd_churn(args):
    print(json.dumps(Churn(args).run()))
    return 0


# ---------------------------------------------------------------------------------------------
# watch: samples and the garbage collector

def proc_memory(pid):
    mem = {}
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            key = line.split(":")[0]
            if key in ("VmRSS", "VmHWM", "RssAnon", "RssFile"):
                mem[key] = int(line.split()[1])
    heap = 0
    with open("/proc/%d/smaps" % pid) as f:
        in_heap = False
        for line in f:
            head = line.split(None, 1)[0]
            if not head.endswith(":"):
                in_heap = line.rstrip().endswith("[heap]")
            elif in_heap and head == "Rss:":
                heap += int(line.split()[1])
    return {"rss_kb": mem.get("VmRSS", 0), "hwm_kb": mem.get("VmHWM", 0),
            "anon_kb": mem.get("RssAnon", 0), "file_kb": mem.get("RssFile", 0), "heap_kb": heap}


def status(path):
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.settimeout(5)
    s.connect(path)
    chunks = []
    while True:
        data = s.recv(65536)
        if not data:
            break
        chunks.append(data)
    s.close()
    return json.loads(b"".join(chunks))


def in_net(text, net):
    try:
        return ipaddress.IPv6Address(text) in net
    except ValueError:
        return False


def ip_lines(netns, *args):
    out = subprocess.run(["ip", "-n", netns, "-6"] + list(args), check=True,
                         capture_output=True, text=True).stdout
    return [line.split() for line in out.splitlines() if line.strip()]


def collect(args, rtnl, ifindex, deleted):
    """One pass of the gc; returns the bridge's neighbour states and the proxy addresses."""
    proxies = {f[0] for f in ip_lines(args.netns, "neigh", "show", "proxy")}
    states = {}
    doomed = []
    for f in ip_lines(args.netns, "neigh", "show", "dev", args.dev):
        state = f[-1]
        if in_net(f[0], args.net):
            states[state] = states.get(state, 0) + 1
            if state == "FAILED" and f[0] not in proxies:
                doomed.append(f[0])
    for addr in doomed:
        # One by one over rtnetlink (an `ip -batch` stops at its first failure): one the kernel
        # removed meanwhile is simply gone already.
        err = rtnl.neighbour_del(ifindex, ipaddress.IPv6Address(addr))
        deleted[0] += err == 0
    return states, proxies


def sample(args, t0, states, deleted):
    doc = status(args.socket)
    churn = [e for e in doc.get("entries", []) if in_net(e.get("address", ""), args.net)]
    row = {"t_s": round(time.monotonic() - t0, 2), "entries": len(doc.get("entries", [])),
           "churn_entries": len(churn), "verifying": len(doc.get("verifying", [])),
           "withdrawn": len(doc.get("withdrawn", [])), "pending": len(doc.get("pending", [])),
           "neighbours": states, "gc_deleted": deleted[0], "counters": doc.get("counters", {})}
    row.update(proc_memory(args.pid))
    return row


def cmd_watch(args):
    t0 = time.monotonic()
    next_sample = t0
    deleted = [0]
    rtnl = Rtnl()
    ifindex = socket.if_nametoindex(args.dev)
    peak = 0
    with open(args.out, "a") as out:
        while not os.path.exists(args.stop):
            now = time.monotonic()
            # A failed pass (the agent busy past the socket timeout, an ip command failing on a
            # loaded machine) is logged and retried: the samples note the gap in time.
            try:
                states, _ = collect(args, rtnl, ifindex, deleted)
                peak = max(peak, sum(states.values()))
                if now >= next_sample:
                    row = sample(args, t0, states, deleted)
                    row["neighbours_peak"] = peak
                    out.write(json.dumps(row) + "\n")
                    out.flush()
                    peak = 0
                    next_sample += args.interval
            except (OSError, ValueError, subprocess.CalledProcessError) as e:
                sys.stderr.write("watch: %.1f s: %s\n" % (now - t0, e))
            time.sleep(max(0.05, min(0.5, next_sample - time.monotonic())))
    return 0


# ---------------------------------------------------------------------------------------------
# report: verdicts, the docs section and the plot

def load(path):
    with open(path) as f:
        return json.load(f)


def churn_totals(paths):
    runs = [load(p) for p in paths]
    tot = {k: sum(r[k] for r in runs) for k in
           ("arrivals", "departures", "confirmed", "retries", "unconfirmed", "errors", "lag_over_100ms")}
    tot["max_lag_ms"] = max(r["max_lag_ms"] for r in runs)
    tot["live"] = sum(len(r["live"]) for r in runs)
    tot["seconds"] = max(r["seconds"] for r in runs)
    return tot


def verdicts(res, samples, churn):
    """(failures, summary): the checks bench/soak.sh leaves to the report."""
    fails = []
    want = res["rate"] * res["churn_s"]
    if churn["arrivals"] < 0.95 * want:
        fails.append("the churn fell behind: %d arrivals in %d s (wanted %d)" % (
            churn["arrivals"], res["churn_s"], want))
    if churn["errors"]:
        fails.append("the churn drivers saw %d rtnetlink or send errors" % churn["errors"])
    window = [s for s in samples
              if res["warmup_fraction"] * res["churn_s"] <= s["t_s"] <= res["churn_s"]]
    summary = {"rss_samples": len(window)}
    if len(window) < 3:
        fails.append("only %d samples after warm-up (the watcher stalled?)" % len(window))
    else:
        lo, hi = min(s["rss_kb"] for s in window), max(s["rss_kb"] for s in window)
        summary.update(rss_min_kb=lo, rss_max_kb=hi, rss_spread=hi / lo - 1)
        if hi / lo - 1 > res["rss_bound"]:
            fails.append("RSS after warm-up grew beyond the bound: %d..%d KiB (+%.1f%%, bound %.0f%%)"
                         % (lo, hi, (hi / lo - 1) * 100, res["rss_bound"] * 100))
        summary.update(heap_min_kb=min(s["heap_kb"] for s in window),
                       heap_max_kb=max(s["heap_kb"] for s in window))
    first, last = samples[0]["counters"] if samples else {}, res.get("counters_end") or {}
    withdrawals = last.get("withdrawals", 0) - first.get("withdrawals", 0)
    summary.update(withdrawals=withdrawals, adds=last.get("adds", 0) - first.get("adds", 0),
                   removes=last.get("removes", 0) - first.get("removes", 0),
                   probes=last.get("probes", 0) - first.get("probes", 0),
                   errors=last.get("errors", 0), resyncs=last.get("resyncs", 0),
                   overruns=last.get("overruns", 0))
    if withdrawals < 0.95 * churn["departures"]:
        fails.append("%d withdrawals for %d departures: the departures were not all withdrawn "
                     "by the liveness checks" % (withdrawals, churn["departures"]))
    summary["neighbours_peak"] = max((s.get("neighbours_peak", 0) for s in samples), default=0)
    summary["samples"] = len(samples)
    return fails, summary


def plot(samples, res, out):
    data = os.path.join(out, "soak.dat")
    with open(data, "w") as f:
        for s in samples:
            f.write("%.4f %.3f %.3f %d\n" % (s["t_s"] / 60.0, s["rss_kb"] / 1024.0,
                                             s["heap_kb"] / 1024.0, s["entries"]))
    script = """set terminal pngcairo noenhanced size 900,520 font 'DejaVu Sans,10'
set output 'soak.png'
set title 'Churn soak: %d containers a second appear and leave (liveness timeout %d s)'
set xlabel 'minutes since the churn started'
set ylabel 'MiB'
set y2label 'proxy entries'
set ytics nomirror
set y2tics
set yrange [0:*]
set y2range [0:*]
set grid
set key bottom right
set arrow from %.2f, graph 0 to %.2f, graph 1 nohead dt 2 lc rgb '#888888'
plot 'soak.dat' u 1:2 w lines lw 2 t 'VmRSS', '' u 1:3 w lines lw 2 t '[heap] resident', '' u 1:4 axes x1y2 w lines lc rgb '#aaaaaa' t 'proxy entries (right)'
""" % (res["rate"], res["liveness_timeout_s"], res["churn_s"] / 60.0, res["churn_s"] / 60.0)
    try:
        subprocess.run(["gnuplot"], input=script, text=True, cwd=out, check=True,
                       capture_output=True)
        return True
    except (OSError, subprocess.CalledProcessError) as e:
        sys.stderr.write("soak: gnuplot failed: %s\n" % getattr(e, "stderr", e))
        return False


def rows_over_time(samples, res):
    """About ten samples spread over the churn, and the last one (after it)."""
    step = res["churn_s"] / 10.0
    picked = []
    for i in range(11):
        near = min(samples, key=lambda s: abs(s["t_s"] - i * step))
        if near not in picked:
            picked.append(near)
    if samples and samples[-1] not in picked:
        picked.append(samples[-1])
    return picked


def md_section(res, samples, churn, summary, fails, made, imgdir):
    L = []
    w = L.append
    c0 = samples[0]["counters"] if samples else {}
    w("## Churn soak")
    w("")
    w("Measured by `bench/soak.sh` on %s; %s (commit %s%s), kernel %s, %d vCPU. The machine was "
      "shared with other builds and tests (load average %s at the start, %s at the end). "
      "Regenerate with `sudo bench/soak.sh` (%d min of churn, writes this section and "
      "`docs/bench/soak.png`); CI runs `sudo bench/soak.sh --quick` (1 min)." % (
          res["date"], res["ndpsync"], res["commit"],
          ", with uncommitted changes under src/" if res["src_dirty_files"] else "",
          res["kernel"], res["nproc"], res["loadavg_start"], res["loadavg_end"],
          res["churn_s"] // 60))
    w("")
    w("Containers appear and leave at %d a second for %d minute(s) while the agent runs with "
      "`--liveness-timeout %d`. Four container namespaces on the lab's bridge `br0` each run "
      "`bench/soak.py churn`: every 80 ms a new address (a /128 out of "
      "`2001:db8:0:1::2:8000/114`, added with `nodad`) sends one echo request to the bridge, and "
      "the echo reply proves the host resolved it (its neighbour entry is REACHABLE, so the agent "
      "proxies it). After %.1f–%.1f s the address is deleted and nothing else happens: no event "
      "tells the agent. The host's entry goes STALE when its reachable time runs out, the agent "
      "probes, nobody answers, the kernel marks it FAILED and the agent withdraws the address "
      "when its liveness deadline passes. The host's `br0` uses a 1 s base reachable time, a 1 s "
      "delay before the first probe and a 0.5 s retransmit time, so a departed address is "
      "withdrawn within about 5 s. The kernel's "
      "neighbour table limits are shared by every namespace on the machine, so a watcher "
      "deletes each FAILED neighbour that the agent has already withdrawn. This is the kernel's "
      "garbage collector, sped up; it never touches an entry the agent still proxies. Every %d s "
      "the watcher samples the agent's VmRSS and resident `[heap]` (`/proc/PID/status`, "
      "`/proc/PID/smaps`) and its status document. Heap per entry is the resident heap divided "
      "by the proxy entries at that moment (the lab's %d addresses plus the live churn "
      "addresses), so it includes the agent's fixed heap." % (
          res["rate"], res["churn_s"] // 60, res["liveness_timeout_s"],
          res["lifetime_s"] * 0.5, res["lifetime_s"] * 1.5, res["interval_s"], res["lab_addresses"]))
    w("")
    rate = churn["arrivals"] / float(res["churn_s"])
    conv = ("%s s after the churn's last possible departure, then unchanged for %d s" % (
        fmt_num(res["converged_ms"] / 1000.0, 1), res["held_s"])) if res["converged_ms"] is not None \
        else "**no** (not within %d s)" % res["converge_timeout_s"]
    spread = summary.get("rss_spread")
    w("| check | result |")
    w("|---|---|")
    w("| churn | %s arrivals (%.1f/s), %s departures, %d echo retries, %d unanswered; "
      "the drivers' schedule lagged at most %s ms |" % (
          fmt_int(churn["arrivals"]), rate, fmt_int(churn["departures"]), churn["retries"],
          churn["unconfirmed"], fmt_num(churn["max_lag_ms"], 0)))
    w("| withdrawals through liveness | %s withdrawals for %s departures; the agent added %s "
      "and removed %s entries and sent %s probes; %d write errors, %d resyncs, %d overruns |" % (
          fmt_int(summary["withdrawals"]), fmt_int(churn["departures"]), fmt_int(summary["adds"]),
          fmt_int(summary["removes"]), fmt_int(summary["probes"]), summary["errors"],
          summary["resyncs"], summary["overruns"]))
    if spread is not None:
        w("| RSS after warm-up (t ≥ %s s) | %s–%s MiB: %+.1f%% between the smallest and "
          "the largest of %d samples (bound 5%%): **%s** |" % (
              fmt_num(res["warmup_fraction"] * res["churn_s"], 0),
              fmt_num(summary["rss_min_kb"] / 1024.0, 2), fmt_num(summary["rss_max_kb"] / 1024.0, 2),
              spread * 100, summary["rss_samples"], "yes" if spread <= res["rss_bound"] else "NO"))
        w("| heap after warm-up | %s–%s KiB resident |" % (
            fmt_int(summary["heap_min_kb"]), fmt_int(summary["heap_max_kb"])))
    w("| proxy table = live containers at the end | %s: %d addresses |" % (conv, res["live_at_end"]))
    w("| withdrawn list at the end | %s |" % (
        "only addresses whose neighbour entry the kernel still holds" if not res["withdrawn_orphans"]
        else "**%d addresses whose neighbour entry is gone**, kept for nothing (a leak: see below)"
        % res["withdrawn_orphans"]))
    w("| host neighbours in the churn range | at most %d at once |" % summary["neighbours_peak"])
    if res["withdrawn_orphans"]:
        w("")
        w("The leak: the kernel's periodic garbage collector (every 15 s at the kernel's defaults, "
          "whenever the machine holds more than gc_thresh1 neighbours) deletes FAILED entries, "
          "also those the agent is still verifying. The agent still withdraws such an address at "
          "its deadline, and keeps it in its withdrawn list. Only a later event for that "
          "neighbour clears the list entry, and none comes, since the neighbour is gone. Every "
          "departure that meets the garbage collector in that window costs one list entry for "
          "the agent's lifetime. The entries are small, so RSS shows little; the withdrawn "
          "column below shows them.")
    everything = res.get("failures", []) + fails
    w("")
    w("**Result: %s**" % ("every check passed." if not everything else
                          "%d check(s) failed:" % len(everything)))
    w("")
    for line in everything:
        w("- " + line.replace("\n", "; "))
    if everything:
        w("")
    w("Over time (t = seconds since the churn started; the last row is after it ended):")
    w("")
    w("| t s | proxy entries | of them churn | verifying | withdrawn | churn neighbours (peak) "
      "| VmRSS MiB | [heap] KiB | heap B per entry | heap above start, B per churn entry "
      "| adds | withdrawals | probes |")
    w("|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    heap0 = samples[0]["heap_kb"] if samples else 0
    for s in rows_over_time(samples, res):
        c = s["counters"]
        w("| %s | %d | %d | %d | %d | %d | %s | %s | %s | %s | %s | %s | %s |" % (
            fmt_num(s["t_s"], 0), s["entries"], s["churn_entries"], s["verifying"], s["withdrawn"],
            s.get("neighbours_peak", 0), fmt_num(s["rss_kb"] / 1024.0, 2), fmt_int(s["heap_kb"]),
            fmt_int(s["heap_kb"] * 1024 / s["entries"]) if s["entries"] else "–",
            fmt_int((s["heap_kb"] - heap0) * 1024 / s["churn_entries"]) if s["churn_entries"] else "–",
            fmt_int(c.get("adds", 0) - c0.get("adds", 0)),
            fmt_int(c.get("withdrawals", 0) - c0.get("withdrawals", 0)),
            fmt_int(c.get("probes", 0) - c0.get("probes", 0))))
    w("")
    if made:
        w("![churn soak](%ssoak.png)" % imgdir)
        w("")
    return "\n".join(L) + "\n"


def fmt_num(x, digits):
    return ("{:,.%df}" % digits).format(x)


def fmt_int(x):
    return "{:,}".format(int(round(x)))


def splice(doc_path, section):
    """Put the section into docs/benchmarks.md: in place of an older one, else before the analysis."""
    with open(doc_path) as f:
        text = f.read()
    start = text.find("\n## Churn soak\n")
    if start >= 0:
        end = text.find("\n## ", start + 1)
        text = text[:start + 1] + section + (text[end + 1:] if end >= 0 else "")
    else:
        at = text.find("\n## Analysis")
        at = at + 1 if at >= 0 else len(text)
        text = text[:at] + section + "\n" + text[at:]
    with open(doc_path, "w") as f:
        f.write(text)


def cmd_report(args):
    res = load(os.path.join(args.dir, "result.json"))
    samples = []
    with open(os.path.join(args.dir, "samples.jsonl")) as f:
        samples = [json.loads(line) for line in f if line.strip()]
    churn_files = sorted(os.path.join(args.dir, n) for n in os.listdir(args.dir)
                         if n.startswith("churn") and n.endswith(".json"))
    churn = churn_totals(churn_files)
    fails, summary = verdicts(res, samples, churn)
    made = plot(samples, res, args.dir) if samples else False
    section = md_section(res, samples, churn, summary, fails, made, "bench/")
    with open(os.path.join(args.dir, "soak.md"), "w") as f:
        f.write(section)
    with open(os.path.join(args.dir, "soak.json"), "w") as f:
        json.dump({"result": res, "churn": churn, "summary": summary, "failures": fails}, f, indent=1)
    print(section)
    if args.docs:  # failed or not: the section says what failed
        os.makedirs(os.path.join(args.docs, "bench"), exist_ok=True)
        if made:
            shutil.copy(os.path.join(args.dir, "soak.png"), os.path.join(args.docs, "bench", "soak.png"))
        splice(os.path.join(args.docs, "benchmarks.md"), section)
    for line in fails:
        sys.stderr.write(line + "\n")
    return 1 if fails else 0


def main(argv):
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    sub = p.add_subparsers(dest="cmd", required=True)
    a = sub.add_parser("churn")
    a.add_argument("--iface", required=True)
    a.add_argument("--gateway", required=True)
    a.add_argument("--base", required=True)
    a.add_argument("--rate", type=float, required=True)
    a.add_argument("--lifetime", type=float, required=True)
    a.add_argument("--duration", type=float, required=True)
    a.add_argument("--seed", type=int, default=1)
    a.add_argument("--pool", type=int, default=4096)
    a.set_defaults(func=cmd_churn)
    a = sub.add_parser("watch")
    a.add_argument("--pid", type=int, required=True)
    a.add_argument("--socket", required=True)
    a.add_argument("--netns", required=True)
    a.add_argument("--dev", required=True)
    a.add_argument("--net", required=True, type=ipaddress.IPv6Network)
    a.add_argument("--out", required=True)
    a.add_argument("--stop", required=True)
    a.add_argument("--interval", type=float, default=5.0)
    a.set_defaults(func=cmd_watch)
    a = sub.add_parser("report")
    a.add_argument("--dir", required=True)
    a.add_argument("--docs")
    a.set_defaults(func=cmd_report)
    args = p.parse_args(argv)
    return args.func(args)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
