#!/usr/bin/env bash
# bench/doctor.sh — how long `ndpsync doctor` takes on a host with N proxied containers (default
# 1,000), in the namespace lab: N permanent neighbours on the bridge, the agent running and
# holding N entries, then doctor run R times (default 5); prints min, median and max in ms.
#
#   sudo bench/doctor.sh [N] [R]
#
# Needs root; builds and removes its own lab (test/lab/lab.sh), nothing outside it.
set -euo pipefail
N=${1:-1000}
RUNS=${2:-5}
LAB=${LAB:-nbd$$}
# shellcheck source=test/lab/agent.sh
source "$(dirname "${BASH_SOURCE[0]}")/../test/lab/agent.sh"
skip_unless_root
trap lab_down EXIT
lab_up
for ((i = 1; i <= N; i++)); do
    printf 'neigh add %s::2:%x lladdr 02:00:00:%02x:%02x:01 dev br0 nud permanent\n' \
        "$LAB_P" $((0x1000 + i)) $((i / 256)) $((i % 256))
done >"$LAB_DIR/neigh.batch"
ip -n "$LAB_H" -6 -batch "$LAB_DIR/neigh.batch"
printf '{ "status_socket": "%s/bench.sock", "max_entries": %d }\n' "$LAB_DIR" $((N + 100)) >"$LAB_DIR/ndpsync.json"
export NDPSYNC_CONFIG=$LAB_DIR/ndpsync.json
agent_start bench
all_in() { [[ $(our_proxies_h | wc -l) -ge $N ]]; }
wait_for 60 all_in || afail "the agent did not install $N entries"
times=()
for ((r = 1; r <= RUNS; r++)); do
    t0=$(_now_us)
    ndpsync_h doctor --json >"$LAB_DIR/doctor.json" || true
    times+=($((($(_now_us) - t0) / 1000)))
done
entries=$(our_proxies_h | wc -l)
to_proxy=$(jq .to_proxy "$LAB_DIR/doctor.json")
printf '%s\n' "${times[@]}" | sort -n | awk -v n="$entries" -v p="$to_proxy" '
    { t[NR] = $1 } END { printf "doctor on %d entries (%d to proxy): min %d ms, median %d ms, max %d ms (%d runs)\n", n, p, t[1], t[int((NR + 1) / 2)], t[NR], NR }'
