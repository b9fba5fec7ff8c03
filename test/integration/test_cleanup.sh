#!/usr/bin/env bash
# `ndpsync cleanup` and `cleanup --purge` against the real kernel, in the standard lab: what
# `apt remove` and `apt purge` do, and what an install without the package runs by hand.
#   * The agent records each sysctl's value in the state directory before its first write.
#   * cleanup refuses while the agent runs; after it stops, cleanup removes every entry with our
#     owner tag and nothing else, and leaves the sysctls.
#   * cleanup --purge puts back every sysctl that still holds our value, leaves (and names) one
#     that someone changed since, and removes the record; the host keeps its default route.
#   * A record of another boot restores nothing; a malformed one stops reconcile (exit 2) before
#     it writes anything; state_dir "" records nothing.
#
# Needs root; exits 77 (skipped) otherwise. About 10 s.
#
#   NDPSYNC=/path/to/ndpsync bash test/integration/test_cleanup.sh
set -euo pipefail

# shellcheck source=test/lab/agent.sh
source "$(dirname "${BASH_SOURCE[0]}")/../lab/agent.sh"
skip_unless_root
trap lab_down EXIT
lab_up

journal=$STATE_DIRECTORY/sysctls-found
has_default_route() { ip -n "$LAB_H" -6 route show default | grep -q "dev eth0"; }
expect_default_route() {
    has_default_route || fail "$1: the host lost its default route"$'\n'"$(ip -n "$LAB_H" -6 route)"
    ok "$1: the host keeps its default route"
}
# cleanup_run ARGS...: `ndpsync cleanup ARGS` with the agent's status socket in its config.
config=$LAB_DIR/cleanup.json
cleanup_run() { nds_run cleanup -c "$config" "$@"; }
expect_rc() {   # expect_rc WHAT WANT
    [[ $NDS_RC -eq $2 ]] ||
        fail "$1: exit $NDS_RC (want $2)"$'\n'"stdout: $NDS_OUT"$'\n'"stderr: $NDS_ERR"
}

before=$(sysctls_h)
admin_before=$(proxies_h | grep -v "proto $LAB_OWNER_PROTO")

section "the agent records what it found before its first write"
agent_start cleanup
printf '{"status_socket": "%s"}\n' "$AGENT_SOCK" >"$config"
wait_true 10 '[[ "$(our_proxies_h)" == "$(printf "%s\n" "${LAB_EXPECTED[@]}" | sort)" ]]' ||
    afail "the agent did not proxy the lab's addresses: $(our_proxies_h)"
[[ -f $journal ]] || afail "no record at $journal"
expect_eq "the record is of this boot" "boot $(cat /proc/sys/kernel/random/boot_id)" \
    "$(grep '^boot ' "$journal")"
grep -qx "conf/eth0/accept_ra 1 2" "$journal" || fail "accept_ra not recorded:"$'\n'"$(cat "$journal")"
grep -qx "conf/all/forwarding 0 1" "$journal" || fail "forwarding not recorded:"$'\n'"$(cat "$journal")"
(($(grep -n accept_ra "$journal" | cut -d: -f1) < $(grep -n all/forwarding "$journal" | cut -d: -f1))) ||
    fail "accept_ra=2 must come before forwarding=1"$'\n'"$(cat "$journal")"
ok "the record holds accept_ra 1 -> 2 before forwarding 0 -> 1"
after_run=$(sysctls_h)

section "cleanup refuses while the agent runs"
cleanup_run
expect_rc "cleanup with the agent running" 1
[[ $NDS_ERR == *"an agent is running (it answers on $AGENT_SOCK): stop it first"* ]] ||
    fail "cleanup did not say why: $NDS_ERR"
[[ -n $(our_proxies_h) ]] || fail "a refused cleanup removed entries"
ok "cleanup refuses while the agent runs, and says why"

section "the agent stops; cleanup removes our entries and only ours"
agent_stop_term 5
[[ $AGENT_RC == 0 ]] || afail "the agent exited $AGENT_RC on SIGTERM"
[[ -n $(our_proxies_h) ]] || fail "the agent removed its entries on a plain stop"
cleanup_run --purge --dry-run
expect_rc "cleanup --purge --dry-run" 0
[[ $NDS_OUT == *"would remove proxy $LAB_CT1 dev eth0"* &&
    $NDS_OUT == *"would sysctl net.ipv6.conf.all.forwarding: 1 -> 0 (as found)"* ]] ||
    fail "the dry run did not say what it would do: $NDS_OUT"
[[ -n $(our_proxies_h) && $(sysctls_h) == "$after_run" && -f $journal ]] ||
    fail "the dry run changed something"
ok "cleanup --purge --dry-run says what it would do and changes nothing"
cleanup_run
expect_rc "cleanup" 0
expect_eq "no entry with our owner tag is left" "" \
    "$(ip -n "$LAB_H" -6 neigh show proxy | grep "proto $LAB_OWNER_PROTO" || true)"
expect_eq "the admin's own entries are left alone" "$admin_before" \
    "$(proxies_h | grep -v "proto $LAB_OWNER_PROTO")"
[[ $NDS_OUT == *"${#LAB_EXPECTED[@]} of ours removed, 1 of other owners left alone"* ]] ||
    fail "cleanup did not count what it did: $NDS_OUT"
expect_eq "cleanup leaves the sysctls (that is purge's job)" "$after_run" "$(sysctls_h)"
expect_default_route "after cleanup"

section "purge puts back what still holds our value, and names what someone changed since"
ip netns exec "$LAB_H" sysctl -qw net.ipv6.conf.eth0.accept_ra=0   # an admin, since
cleanup_run --purge
expect_rc "cleanup --purge" 0
[[ $NDS_OUT == *"net.ipv6.conf.eth0.accept_ra: left at 0: changed since ndpsync set 2 (it found 1)"* ]] ||
    fail "purge did not name the value changed since: $NDS_OUT"
expect_eq "every other sysctl is as found before the agent ran" \
    "${before/net.ipv6.conf.eth0.accept_ra = 1/net.ipv6.conf.eth0.accept_ra = 0}" "$(sysctls_h)"
[[ ! -e $journal ]] || fail "purge left the record behind"
ok "purge removed the record"
expect_default_route "after purge"
ip netns exec "$LAB_H" sysctl -qw net.ipv6.conf.eth0.accept_ra=1

section "a record of another boot restores nothing"
nds_run reconcile
expect_rc "reconcile" 0
sed -i 's/^boot .*/boot 00000000-0000-0000-0000-000000000000/' "$journal"
changed=$(sysctls_h)
cleanup_run --purge
expect_rc "cleanup --purge, another boot's record" 0
[[ $NDS_OUT == *"is of an earlier boot: the kernel has reset every sysctl since"* ]] ||
    fail "purge did not say why it restored nothing: $NDS_OUT"
expect_eq "nothing was put back" "$changed" "$(sysctls_h)"
expect_default_route "after a purge of another boot's record"

section "a malformed record stops reconcile before it writes anything"
ip netns exec "$LAB_H" sysctl -qw net.ipv6.conf.all.forwarding=0 net.ipv6.conf.eth0.accept_ra=1
printf 'boot %s\nconf/eth0/accept_ra 1\n' "$(cat /proc/sys/kernel/random/boot_id)" >"$journal"
snapshot=$(host_snapshot)
nds_run reconcile
expect_rc "reconcile with a malformed record" 2
[[ $NDS_ERR == *"state file $journal: line 2: not 'PATH FOUND SET'"* ]] ||
    fail "the error does not name the file and line: $NDS_ERR"
expect_eq "nothing was written" "$snapshot" "$(host_snapshot)"
ok "a malformed record: exit 2, file and line named, nothing written"
rm -f "$journal"

section "state_dir \"\" records nothing"
printf '{"state_dir": ""}\n' >"$LAB_DIR/none.json"
nds_run reconcile -c "$LAB_DIR/none.json"
expect_rc "reconcile with state_dir \"\"" 0
[[ ! -e $journal ]] || fail "state_dir \"\" still wrote $journal"
ok "state_dir \"\": no record"
expect_default_route "after reconcile"

echo "# $LAB_CHECKS checks passed"
