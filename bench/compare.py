#!/usr/bin/env python3
"""bench/compare.py — a before/after table from two bench/run.sh results and two bench_heap runs.

    bench/compare.py BEFORE_DIR AFTER_DIR BEFORE_HEAP.json AFTER_HEAP.json [LABEL_BEFORE LABEL_AFTER]

BEFORE_DIR and AFTER_DIR hold results.json from `bench/run.sh --out DIR`; the heap files hold the
one-line JSON `build/test/bench_heap` prints. Prints a Markdown table of the figures the redesign
promised not to worsen: heap per proxied address, RSS at 10,000 entries, burst ratios, the
single-change p99, and idle wakeups.
"""
import json
import sys


def load(path):
    with open(path) as f:
        return json.load(f)


def rss_at(results, entries):
    for row in results["scale"]["rss"]:
        if row["entries"] == entries and not row.get("after_status"):
            return row["rss_kb"] / 1024
    return None


def single_p99(results, entries):
    for row in results["single"]:
        if row.get("system") == "ndpsync" and row.get("entries") == entries:
            return row["latency_us"]["p99"]
    return None


def rows(before, after, heap_before, heap_after):
    yield ("heap per proxied address (bench_heap, B)", heap_before["bytes_per_entry"],
           heap_after["bytes_per_entry"], "{:.1f}")
    yield ("RSS at 10,000 entries (MiB)", rss_at(before, 10000), rss_at(after, 10000), "{:.2f}")
    by_n = {row["n"]: row for row in after["burst"]}
    for row in before["burst"]:
        other = by_n.get(row["n"])
        if other:
            yield (f"burst ratio to the ip -batch limit, N={row['n']:,}", row["ratio_of_medians"],
                   other["ratio_of_medians"], "{:.2f}×")
    for entries in sorted({r.get("entries") for r in before["single"] if r.get("system") == "ndpsync"}):
        yield (f"single change p99 (µs), {entries:,} bulk entries", single_p99(before, entries),
               single_p99(after, entries), "{:,.0f}")
    idle_b, idle_a = before["scale"]["idle"], after["scale"]["idle"]
    yield (f"idle wakeups in {idle_b['seconds']} s at {idle_b['entries']:,} entries", idle_b["ctxsw"],
           idle_a["ctxsw"], "{}")
    yield ("idle CPU (ms)", idle_b["cpu_ns"] / 1e6, idle_a["cpu_ns"] / 1e6, "{:.2f}")


def main():
    if len(sys.argv) < 5:
        sys.exit(__doc__)
    before, after = load(sys.argv[1] + "/results.json"), load(sys.argv[2] + "/results.json")
    heap_before, heap_after = load(sys.argv[3]), load(sys.argv[4])
    label_before = sys.argv[5] if len(sys.argv) > 5 else "before"
    label_after = sys.argv[6] if len(sys.argv) > 6 else "after"
    print(f"| figure | {label_before} | {label_after} |")
    print("|---|---:|---:|")
    for name, b, a, fmt in rows(before, after, heap_before, heap_after):
        show = lambda v: "–" if v is None else fmt.format(v)  # noqa: E731
        print(f"| {name} | {show(b)} | {show(a)} |")


if __name__ == "__main__":
    main()
