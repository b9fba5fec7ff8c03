#!/usr/bin/env bash
# Integration test of the agent's status socket and privileges:
#
#   1. something that is not a socket at the socket path (a planted symlink to a file, a dangling
#      symlink, a regular file, a directory): the agent refuses to start (exit 1, a clear message)
#      and leaves the thing and what it points at unchanged;
#   2. the socket is created 0600 (whatever the caller's umask), owned by root;
#   3. with status_socket_mode "0660" and status_socket_group it is 0660 and owned by that group;
#      an unknown group is refused;
#   4. a stale socket left by a killed agent is replaced;
#   5. clients that connect and never read (while the document is larger than a socket buffer)
#      do not delay `ndpsync status`, and are cut off after ~5 s;
#   6. once started the agent keeps only CAP_NET_ADMIN (CapEff 0000000000001000), and still works;
#   7. a client that connects, reads the document and closes, 2,000 times and more, fast,
#      costs the agent little CPU per connection (the document is kept for 200 ms, not rendered
#      per connection), and meanwhile a new container is proxied within 3 s.
#
# Needs root; exits 77 (skipped) otherwise. Runs in ~15-25 s.
#
#   NDPSYNC=/path/to/ndpsync bash test/integration/test_status_socket.sh
set -euo pipefail

LAB=${LAB:-nss$$}
# shellcheck source=test/lab/agent.sh
source "$(dirname "${BASH_SOURCE[0]}")/../lab/agent.sh"
# shellcheck source=test/lab/guards.sh
source "$(dirname "${BASH_SOURCE[0]}")/../lab/guards.sh"
skip_unless_root
trap lab_down EXIT

T_START=$(_now_us)
lab_up

BEFORE=$(host_snapshot)
ALL5=$(lab_expected_minus "")

# file_state PATH: what must not change about a file or link: type, mode, owner, size, mtime,
# link target and content hash.
file_state() {
    local p=$1
    stat -c '%F %a %U:%G %s %Y' "$p"
    if [[ -L $p ]]; then readlink "$p"; fi
    if [[ -f $p ]]; then sha256sum <"$p"; fi
}

# refused_start WHAT PATH: `ndpsync run` with its status socket at PATH must exit 1 quickly and
# say why; PATH (and what a link there points at) must be unchanged.
REFUSAL_APPLIED=0
refused_start() {
    local what=$1 path=$2 target=${3:-} before_path before_target="" rc=0 t0 err
    before_path=$(file_state "$path")
    [[ -n $target && -e $target ]] && before_target=$(file_state "$target")
    err=$LAB_DIR/refused.err
    t0=$(_now_us)
    timeout -k 2 10 ip netns exec "$LAB_H" "$NDPSYNC" run --status-socket "$path" --log-level info \
        >/dev/null 2>"$err" || rc=$?
    [[ $rc -eq 1 ]] || fail "$what: agent exited $rc (want 1); stderr:"$'\n'"$(tail -n 20 "$err")"
    ok "$what: agent exits 1 after $(elapsed_ms "$t0") ms"
    grep -F "$path" "$err" | grep -Eqi 'not a socket|refus' ||
        fail "$what: no clear message naming $path; stderr:"$'\n'"$(tail -n 20 "$err")"
    ok "$what: says: $(grep -F "$path" "$err" | tail -n1 | cut -c1-150)"
    expect_eq "$what: the path is unchanged" "$before_path" "$(file_state "$path")"
    if [[ -n $target ]]; then
        if [[ -n $before_target ]]; then
            expect_eq "$what: the link's target is unchanged" "$before_target" "$(file_state "$target")"
        else
            [[ ! -e $target ]] || fail "$what: the dangling link's target $target was created"
            ok "$what: the dangling link's target was not created"
        fi
    fi
    [[ $(host_snapshot) == "$BEFORE" ]] || REFUSAL_APPLIED=$((REFUSAL_APPLIED + 1))
}

# ---------------------------------------------------------------------------------------------
section "1. not a socket at the socket path: the agent refuses to start and touches nothing"
TARGET=$LAB_DIR/precious.txt
printf 'precious data\n' >"$TARGET"
chmod 0640 "$TARGET"
ln -s "$TARGET" "$LAB_DIR/link.sock"
refused_start "symlink to a file" "$LAB_DIR/link.sock" "$TARGET"
ln -s "$LAB_DIR/nothing-here" "$LAB_DIR/dangling.sock"
refused_start "dangling symlink" "$LAB_DIR/dangling.sock" "$LAB_DIR/nothing-here"
printf 'a regular file\n' >"$LAB_DIR/file.sock"
refused_start "regular file" "$LAB_DIR/file.sock"
mkdir "$LAB_DIR/dir.sock"
refused_start "directory" "$LAB_DIR/dir.sock"
# The agent opens its status socket before it applies anything, so a refused start leaves the
# kernel as it was.
[[ $REFUSAL_APPLIED -eq 0 ]] ||
    fail "$REFUSAL_APPLIED of 4 refused starts changed the proxy table or sysctls first"
ok "the refused starts applied nothing (proxy table and sysctls unchanged)"

# ---------------------------------------------------------------------------------------------
section "2. the socket is created 0600, owned by root, whatever the umask"
masks=(000 077 022)
lab_reduced && masks=(077)
for mask in "${masks[@]}"; do
    umask "$mask"
    agent_start "m$mask"
    umask 022
    expect_eq "umask $mask: socket type, mode and owner" "socket 600 root:root" \
        "$(stat -c '%F %a %U:%G' "$AGENT_SOCK")"
    agent_stop_term 2
    [[ $AGENT_RC == 0 ]] || afail "agent m$mask: exit '$AGENT_RC' after SIGTERM"
    [[ ! -e $AGENT_SOCK ]] || afail "agent m$mask left its socket behind after a clean exit"
done
ok "each clean exit removed its socket"

# ---------------------------------------------------------------------------------------------
section "3. status_socket_mode 0660 + status_socket_group"
GROUP=adm
getent group "$GROUP" >/dev/null || GROUP=$(getent group | awk -F: '$3 != 0 { print $1; exit }')
[[ -n $GROUP ]] || fail "no non-root group on this machine"
printf '{"status_socket_mode": "0660", "status_socket_group": "%s"}\n' "$GROUP" >"$LAB_DIR/g.json"
umask 000
agent_start grp --config "$LAB_DIR/g.json"
umask 022
expect_eq "group socket: type, mode and owner" "socket 660 root:$GROUP" \
    "$(stat -c '%F %a %U:%G' "$AGENT_SOCK")"
agent_stop_term 2
[[ $AGENT_RC == 0 ]] || afail "agent grp: exit '$AGENT_RC' after SIGTERM"

printf '{"status_socket_mode": "0660", "status_socket_group": "ndpsync-no-such-group"}\n' >"$LAB_DIR/nogroup.json"
rc=0
timeout -k 2 10 ip netns exec "$LAB_H" "$NDPSYNC" run --config "$LAB_DIR/nogroup.json" \
    --status-socket "$LAB_DIR/nogroup.sock" >/dev/null 2>"$LAB_DIR/nogroup.err" || rc=$?
[[ $rc -eq 1 || $rc -eq 2 ]] || fail "unknown group: agent exited $rc (want 1 or 2): $(tail -n5 "$LAB_DIR/nogroup.err")"
grep -q 'ndpsync-no-such-group' "$LAB_DIR/nogroup.err" ||
    fail "unknown group: the message does not name the group: $(tail -n5 "$LAB_DIR/nogroup.err")"
ok "unknown group: exit $rc: $(grep 'ndpsync-no-such-group' "$LAB_DIR/nogroup.err" | tail -n1 | cut -c1-150)"
[[ ! -e $LAB_DIR/nogroup.sock ]] || fail "unknown group: a socket was left at $LAB_DIR/nogroup.sock"
ok "unknown group: no socket left behind"

# ---------------------------------------------------------------------------------------------
section "4. a stale socket from a killed agent is replaced"
# A big status document for section 5: 4000 neighbours outside the /64 on br0 (each one a
# 'skipped' item), so the document is several times larger than a socket buffer.
N_BIG=4000
plant=$LAB_DIR/plant.batch
for ((i = 0; i < N_BIG; i++)); do
    printf 'neigh add 2001:db8:9:ffff:ffff:ffff:ffff:%x lladdr 02:00:5e:10:%02x:%02x dev br0 nud permanent\n' \
        $((0x1000 + i)) $((i / 256)) $((i % 256))
done >"$plant"
ip -n "$LAB_H" -batch "$plant"
agent_start stale --resync-interval 60
OLD_PID=$AGENT_PID
# A second agent pointed at the socket of a live one must not take it over: it exits 1 and the
# first one still answers.
ip netns exec "$LAB_H" "$NDPSYNC" run --status-socket "$AGENT_SOCK" --log-level info \
    >"$LAB_DIR/second.log" 2>&1 &
SECOND_PID=$!
lab_bg "$SECOND_PID"
second_gone() { ! kill -0 "$SECOND_PID" 2>/dev/null; }
if ! wait_for 3 second_gone; then
    kill -KILL "$SECOND_PID"
    wait "$SECOND_PID" 2>/dev/null || true
    fail "a second agent on the socket of a live one started (status answers pid $(status_q .pid); first $OLD_PID)"
fi
rc=0
wait "$SECOND_PID" 2>/dev/null || rc=$?
[[ $rc -eq 1 ]] || fail "second agent on a live socket: exit $rc (want 1): $(tail -n3 "$LAB_DIR/second.log")"
expect_eq "second agent on a live socket refused (exit 1); the first still answers" "$OLD_PID" \
    "$(status_q .pid)"
agent_kill9
[[ -S $AGENT_SOCK ]] || fail "the killed agent left no socket (cannot test the stale case)"
ok "agent $OLD_PID killed with SIGKILL; its socket is still there (stale)"
nds_run status --socket "$AGENT_SOCK" --json
[[ $NDS_RC -ne 0 ]] || fail "status answered on a stale socket"
ok "status on the stale socket fails (exit $NDS_RC)"
echo '{}' >"$LAB_DIR/s.json"
agent_start stale --config "$LAB_DIR/s.json" --resync-interval 60 --remove-on-exit
expect_eq "the new agent answers on the replaced socket" "$AGENT_PID" "$(status_q .pid)"
expect_eq "replaced socket: type, mode and owner" "socket 600 root:root" \
    "$(stat -c '%F %a %U:%G' "$AGENT_SOCK")"
wait_for 3 owned_is "$ALL5" || afail "new agent: owned set is $(owned_set)"
ok "the new agent holds the five lab entries"

# ---------------------------------------------------------------------------------------------
section "5. clients that never read: status still answers promptly; they are cut off in ~5 s"
t0=$(_now_us)
FULL=$(status_json) || afail "status --json failed"
full_ms=$(elapsed_ms "$t0")
FULL_BYTES=$(printf '%s\n' "$FULL" | wc -c)
expect_eq "the document lists the $N_BIG planted addresses as outside-prefix" "$N_BIG" \
    "$(jq '[.skipped[] | select(.reason == "outside-prefix" and .interface == "br0")] | length' <<<"$FULL")"
((FULL_BYTES > 400000)) || fail "status document is only $FULL_BYTES bytes: not larger than a socket buffer"
ok "the status document is $FULL_BYTES bytes (read in $full_ms ms)"

# start_slow_clients N TAG: N clients connect and never read: one process holds all N connections
# (opened within milliseconds, also in a slow qemu guest, where a process each would take seconds
# to start). $LAB_DIR/TAGk.out gets "connected", then, once the agent hangs up on client k, one
# JSON line {hup_after_s, hup_at, hung_up, bytes}.
start_slow_clients() {
    local n=$1 tag=$2
    ip netns exec "$LAB_H" "$LAB_PYTHON" - "$AGENT_SOCK" "$LAB_DIR/$tag" "$n" >"$LAB_DIR/$tag.err" 2>&1 <<'PY' &
import json, select, socket, sys, time
path, prefix, n = sys.argv[1], sys.argv[2], int(sys.argv[3])
clients = {}
for k in range(1, n + 1):
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    s.connect(path)
    clients[s.fileno()] = {"k": k, "sock": s, "t0": time.monotonic(), "hup": None}
    with open("%s%d.out" % (prefix, k), "w") as out:
        print("connected", file=out, flush=True)
p = select.poll()
for fd in clients:
    p.register(fd, select.POLLRDHUP)      # wait for the agent to hang up, reading nothing
deadline = time.monotonic() + 60
pending = len(clients)
while pending and time.monotonic() < deadline:
    for fd, _ in p.poll(1000):
        c = clients[fd]
        c["hup"], c["hup_at"] = time.monotonic() - c["t0"], time.time()
        p.unregister(fd)
        pending -= 1
for c in clients.values():
    nbytes = 0
    if c["hup"] is not None:
        while True:                       # then count what it had sent
            chunk = c["sock"].recv(65536)
            if not chunk:
                break
            nbytes += len(chunk)
    line = {"hup_after_s": round(c["hup"] if c["hup"] is not None else 60, 3),
            "hup_at": c.get("hup_at", time.time()), "hung_up": c["hup"] is not None, "bytes": nbytes}
    with open("%s%d.out" % (prefix, c["k"]), "a") as out:
        print(json.dumps(line), file=out, flush=True)
PY
    lab_bg $!
    _slow_connected() {
        [[ $(cat "$LAB_DIR/$tag"[0-9]*.out 2>/dev/null | grep -c connected) -ge $n ]]
    }
    wait_for 5 _slow_connected ||
        fail "the slow clients did not connect: $(cat "$LAB_DIR/$tag"[0-9]*.out "$LAB_DIR/$tag.err")"
}
# The agent cuts a client off 5 s after it connected; HUP_MAX_S is the latest a hang-up may be
# seen (6.5 s; in a qemu guest the slack stretches with LAB_TIME_SCALE).
HUP_MAX_S=$(awk -v f="$LAB_TIME_SCALE" 'BEGIN { print 5 + 1.5 * f }')
# check_slow_clients N TAG: each was cut off 4.0-HUP_MAX_S s after connecting, mid-document.
check_slow_clients() {
    local n=$1 tag=$2 k res
    _slow_done() {
        [[ $(cat "$LAB_DIR/$tag"[0-9]*.out 2>/dev/null | grep -c hup_after_s) -ge $n ]]
    }
    wait_for 10 _slow_done || fail "slow clients not cut off within 10 s: $(cat "$LAB_DIR/$tag"[0-9]*.out)"
    for ((k = 1; k <= n; k++)); do
        res=$(grep hup_after_s "$LAB_DIR/$tag$k.out")
        jq -e --argjson full "$FULL_BYTES" --argjson max "$HUP_MAX_S" \
            '.hung_up and .hup_after_s >= 4.0 and .hup_after_s <= $max and .bytes < $full' \
            >/dev/null <<<"$res" ||
            afail "slow client $tag$k: want a hang-up after 4.0-$HUP_MAX_S s with a truncated document ($FULL_BYTES bytes); got $res"
    done
    ok "$n slow clients cut off mid-document ($(grep -h hup_after_s "$LAB_DIR/$tag"[0-9]*.out | jq -s -c '{min_s: (map(.hup_after_s) | min), max_s: (map(.hup_after_s) | max), bytes: (map(.bytes) | max)}'))"
}

N_SLOW=3
start_slow_clients "$N_SLOW" slow
T_SLOW=$(_now_us)
ok "$N_SLOW clients connected and are not reading"
# Three answers in 1.5 s each, all before the first possible hang-up (4 s). A qemu guest is too
# slow for those bounds: there one answer must simply come before the slow clients were cut off.
n_prompt=3
((LAB_TIME_SCALE > 1)) && n_prompt=1
for ((i = 1; i <= n_prompt; i++)); do
    t0=$(_now_us)
    doc=$(status_json) || afail "status failed while slow clients are connected"
    ms=$(elapsed_ms "$t0")
    last_answer_us=$(_now_us)
    ((LAB_TIME_SCALE > 1 || ms < 1500)) || afail "status took $ms ms while slow clients are connected"
    expect_eq "status #$i answers in $ms ms, the whole document" "$N_BIG" \
        "$(jq '[.skipped[] | select(.reason == "outside-prefix")] | length' <<<"$doc")"
done
since_slow=$(elapsed_ms "$T_SLOW")
((LAB_TIME_SCALE > 1 || since_slow < 4500)) ||
    fail "the prompt-status checks took $since_slow ms: too slow to prove anything"
check_slow_clients "$N_SLOW" slow
first_hup_us=$(grep -h hup_after_s "$LAB_DIR/slow"[0-9]*.out | jq -s 'map(.hup_at) | min * 1000000 | floor')
((last_answer_us < first_hup_us)) ||
    afail "the last status answer came $(((last_answer_us - first_hup_us) / 1000)) ms after the first slow client was cut off: not proof that slow clients do not block it"
ok "every status answer came before the slow clients were cut off ($(((first_hup_us - last_answer_us) / 1000)) ms before)"
kill -0 "$AGENT_PID" 2>/dev/null || afail "agent died"
expect_eq "status answers after the slow clients are gone" "$AGENT_PID" "$(status_q .pid)"

# As many idle clients as the agent's connection limit (16): the oldest gives way to a new
# client, so status still answers at once; the others are cut off at their timeout.
N_MANY=16
start_slow_clients "$N_MANY" many
t0=$(_now_us)
if doc=$(status_json 2>"$LAB_DIR/many.err") && [[ $(jq -r .pid <<<"$doc") == "$AGENT_PID" ]]; then
    ok "with $N_MANY idle clients connected, status still answers ($(elapsed_ms "$t0") ms)"
else
    afail "with $N_MANY idle clients connected, status failed after $(elapsed_ms "$t0") ms: $(head -n1 "$LAB_DIR/many.err" | cut -c1-100)"
fi
_many_done() {
    [[ $(cat "$LAB_DIR/many"[0-9]*.out 2>/dev/null | grep -c hup_after_s) -ge $N_MANY ]]
}
wait_for 10 _many_done || fail "idle clients not cut off within 10 s: $(cat "$LAB_DIR/many"[0-9]*.out)"
results=$(grep -h hup_after_s "$LAB_DIR/many"[0-9]*.out | jq -s -c .)
expect_eq "every idle client was cut off within $HUP_MAX_S s, mid-document" "true" \
    "$(jq --argjson full "$FULL_BYTES" --argjson max "$HUP_MAX_S" 'all(.hung_up and .hup_after_s <= $max and .bytes < $full)' <<<"$results")"
expect_eq "exactly one gave way early to the new client; the rest timed out after 4 s" "1" \
    "$(jq '[.[] | select(.hup_after_s < 4.0)] | length' <<<"$results")"
expect_eq "status answers once the idle clients are cut off" "$AGENT_PID" "$(status_q .pid)"

# ---------------------------------------------------------------------------------------------
section "6. privileges: only CAP_NET_ADMIN once started, and the agent still does its job"
capeff=$(awk '/^CapEff:/ { print $2 }' "/proc/$AGENT_PID/status")
capbnd=$(awk '/^CapBnd:/ { print $2 }' "/proc/$AGENT_PID/status")
expect_eq "agent CapEff (CAP_NET_ADMIN only; CapBnd $capbnd)" "0000000000001000" "$capeff"
# With NET_ADMIN only: it still adds an entry for a new container and repairs a sysctl.
LAB_C4=${LAB}c4
LAB_CT4=$LAB_P::2:4
add_container "$LAB_C4" vb4 "$LAB_CT4" "$LAB_BR0" br0
_container_ping "$LAB_C4" "$LAB_BR0"
wait_for 3 owned_has "$LAB_CT4" || afail "no entry for the new container $LAB_CT4 after the capability drop"
ok "after the drop: new container $LAB_CT4 proxied"
# A reload reads the (root-owned) config file again and deletes an entry.
printf '{"deny": ["%s/128"]}\n' "$LAB_CT4" >"$LAB_DIR/s.json"
kill -HUP "$AGENT_PID"
wait_for 3 owned_lacks "$LAB_CT4" || afail "after the drop: SIGHUP with a deny of $LAB_CT4 not applied in 3 s"
ok "after the drop: SIGHUP re-read the config and withdrew $LAB_CT4"
agent_stop_term 2
[[ $AGENT_RC == 0 ]] || afail "agent: exit '$AGENT_RC' after SIGTERM"
expect_eq "after the drop: --remove-on-exit removed every owned entry" "" "$(owned_set)"
[[ ! -e $AGENT_SOCK ]] || afail "the agent left its socket behind after a clean exit"
ok "after the drop: the socket was removed on exit"

# ---------------------------------------------------------------------------------------------
section "7. a tight connect loop does not starve the agent: rendering is bounded by time"
# The document is still big (the $N_BIG planted neighbours). One client connects, reads the whole
# document and closes, as `ndpsync status` does, as fast as it can, at least N_LOOP times and
# until told to stop. The old agent rendered the document again for each connection (it lived
# only while a connection was sending it); now it keeps it for 200 ms and, after a change,
# renders at most once per ten renderings' time (status_cache.hpp), so a connection costs little
# more than copying the document out.
N_LOOP=2000
agent_start loop --resync-interval 60
_has_lab5() { local a; for a in $(lab_expected_minus); do owned_has "$a" || return 1; done; }
wait_for 5 _has_lab5 || afail "agent loop: owned set is $(owned_set)"
CLK_TCK=$(getconf CLK_TCK)
cpu_ticks() { awk '{ print $14 + $15 }' "/proc/$AGENT_PID/stat"; }
ticks0=$(cpu_ticks)
STOP=$LAB_DIR/loop.stop
ip netns exec "$LAB_H" "$LAB_PYTHON" - "$AGENT_SOCK" "$N_LOOP" "$STOP" $((60 * LAB_TIME_SCALE)) \
    >"$LAB_DIR/loop.out" 2>&1 <<'PY' &
import os, socket, sys, time
path, n, stop, limit = sys.argv[1], int(sys.argv[2]), sys.argv[3], int(sys.argv[4])
t0 = time.monotonic()
done = answered = 0
while (done < n or not os.path.exists(stop)) and time.monotonic() - t0 < limit:
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.connect(path)
    got = 0
    while True:
        chunk = s.recv(1 << 20)
        if not chunk:
            break
        got += len(chunk)
    if got:
        answered += 1
    s.close()
    done += 1
print("%d %d %.3f" % (done, answered, time.monotonic() - t0), flush=True)
PY
LOOP_PID=$!
lab_bg "$LOOP_PID"
LAB_C5=${LAB}c5
LAB_CT5=$LAB_P::2:5
t0=$(_now_us)
add_container "$LAB_C5" vb5 "$LAB_CT5" "$LAB_BR0" br0
_container_ping "$LAB_C5" "$LAB_BR0"
wait_for $((3 * LAB_TIME_SCALE)) owned_has "$LAB_CT5" ||
    afail "during the connect loop, the new container $LAB_CT5 got no entry within $((3 * LAB_TIME_SCALE)) s"
react_ms=$(elapsed_ms "$t0")
kill -0 "$LOOP_PID" 2>/dev/null || afail "the connect loop ended before the new container was proxied: no proof"
ok "during the connect loop, the new container $LAB_CT5 was proxied ($react_ms ms after it was created)"
touch "$STOP"
_loop_done() { [[ -s $LAB_DIR/loop.out ]]; }
wait_for 70 _loop_done || afail "the connect loop did not finish in 70 s"
ticks1=$(cpu_ticks)
read -r made answered secs <"$LAB_DIR/loop.out"
expect_eq "every connection of the loop got an answer" "$made" "$answered"
((made >= N_LOOP)) ||
    afail "the loop made only $made connections in $secs s: the agent renders for each one"
# (the agent before the bound managed 1,239 in 120 s on a loaded two-core machine: ~100 ms each)
cpu_ms=$(((ticks1 - ticks0) * 1000 / CLK_TCK))
us_per=$((cpu_ms * 1000 / made))
# A render of this document costs the agent milliseconds; sending a rendered one, a copy (in a
# qemu guest every CPU cost stretches with the emulation; under ASan and UBSan, about 20 times).
cpu_scale=$LAB_TIME_SCALE
[[ ${NDPSYNC_SANITIZED:-0} == 1 ]] && cpu_scale=$((cpu_scale * 20))
((us_per < 1000 * cpu_scale)) ||
    afail "the agent spent $cpu_ms ms of CPU on $made connections ($us_per us each): it renders per connection"
ok "$made connections in $secs s cost the agent $cpu_ms ms of CPU ($us_per us each)"
expect_eq "status still answers" "$AGENT_PID" "$(status_q .pid)"
agent_stop_term 2
[[ $AGENT_RC == 0 ]] || afail "agent loop: exit '$AGENT_RC' after SIGTERM"

# ---------------------------------------------------------------------------------------------
lab_down
echo "PASS: test_status_socket ($LAB_CHECKS checks, $((($(_now_us) - T_START) / 1000)) ms)"
