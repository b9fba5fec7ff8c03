#!/usr/bin/env bash
# test/vm/kernel_facts.sh — probe the kernel behaviours ndpsync relies on, in the standard lab's
# namespaces, and print one line per fact. Run natively or in a test/vm guest:
#
#   bash test/vm/kernel_facts.sh                                  # this machine's kernel
#   test/vm/run.sh --kernel 6.1 -- bash test/vm/kernel_facts.sh   # Debian 12's 6.1
#
# Each fact whose value depends on the kernel's version is compared with what
# `ndpsync kernel-check` predicts for this kernel (the ranges in src/core/kernel_check.cpp), and
# every other fact with the value every kernel tested so far showed; a mismatch fails (exit 1).
# --report only prints the facts.
# docs/design.md ("Kernel differences") holds the table this produces.
# Needs root; exits 77 (skipped) otherwise.
set -euo pipefail

LAB=${LAB:-nkf$$}
# shellcheck source=test/lab/lab.sh
source "$(dirname "${BASH_SOURCE[0]}")/../lab/lab.sh"
NL_FACTS="$(dirname "${BASH_SOURCE[0]}")/nl_facts.py"
check=1
[[ ${1:-} == --report ]] && check=0
skip_unless_root
trap lab_down EXIT
lab_up

declare -A FACT
ORDER=()
fact() {   # fact NAME VALUE
    FACT[$1]=$2
    ORDER+=("$1")
    printf '%-28s %s\n' "$1" "$2"
}
H=$LAB_H
A=2001:db8:0:1::a:1   # permanent (ip's default state), proto 176
B=2001:db8:0:1::a:2   # not permanent (nud noarp), proto 176
present() { ip -n "$H" -6 neigh show proxy "$1" dev up0 | grep . >/dev/null; }
proto_of() { ip -n "$H" -6 neigh show proxy "$1" dev up0 | sed -n 's/.* proto \([^ ]*\).*/\1/p'; }
add_ab() {
    ip -n "$H" -6 neigh replace proxy "$A" dev up0 proto 176
    ip -n "$H" -6 neigh replace proxy "$B" dev up0 proto 176 nud noarp
}
kept_or_flushed() { present "$1" && echo kept || echo flushed; }
carrier_up() { ip -n "$H" link show up0 | grep LOWER_UP >/dev/null; }
carrier_down() { ip -n "$H" link show up0 | grep NO-CARRIER >/dev/null; }
ra_default() { ip -n "$H" -6 route show default dev eth0 | grep 'proto ra' >/dev/null; }
hsys() { ip netns exec "$H" sysctl -qw "$@"; }

echo "kernel: $(uname -r) ($(uname -v))"

# --- the proxy table across link events ------------------------------------------------------
# On a veth pair of its own inside the host namespace (up0 <-> up1): taking up1 down is a carrier
# loss on up0, and nothing the rest of the lab needs goes down.
ip -n "$H" link add up0 type veth peer name up1
ip -n "$H" link set up1 up
ip -n "$H" link set up0 up
wait_for 10 carrier_up || fail "up0 has no carrier"
add_ab
ip -n "$H" link set up0 down
fact admin_down.permanent "$(kept_or_flushed "$A")"
fact admin_down.noarp "$(kept_or_flushed "$B")"
ip -n "$H" link set up0 up
wait_for 10 carrier_up || fail "up0 has no carrier after up"

add_ab
ip -n "$H" link set up1 down
wait_for 5 carrier_down || fail "up0 kept its carrier with its peer down"
fact carrier_loss.permanent "$(kept_or_flushed "$A")"
fact carrier_loss.noarp "$(kept_or_flushed "$B")"
ip -n "$H" link set up1 up
wait_for 10 carrier_up || fail "up0 has no carrier after its peer came up"
fact carrier_back.permanent "$(kept_or_flushed "$A")"

# IPv6 disabled on a link that stays up (NetworkManager's connection down): addrconf_ifdown.
add_ab
hsys net.ipv6.conf.up0.disable_ipv6=1
fact disable_ipv6.permanent "$(kept_or_flushed "$A")"
hsys net.ipv6.conf.up0.disable_ipv6=0

# Re-adding: an exclusive add of an existing entry, and a replace, of a flushed entry.
add_ab
if ip -n "$H" -6 neigh add proxy "$A" dev up0 proto 176 2>/dev/null; then
    fact add_existing.exclusive "ok"
else
    fact add_existing.exclusive "refused"
fi
ip -n "$H" -6 neigh del proxy "$A" dev up0
ip -n "$H" -6 neigh replace proxy "$A" dev up0 proto 176
fact readd_after_delete "$(kept_or_flushed "$A" | sed 's/kept/ok/; s/flushed/missing/')"

# --- NDA_PROTOCOL across updates, and the state proxies read back with ----------------------
ip -n "$H" -6 neigh replace proxy "$A" dev up0
fact protocol.update_without "$(proto_of "$A" | sed 's/^$/wiped/; s/^176$/kept/')"
ip -n "$H" -6 neigh replace proxy "$A" dev up0 proto 177
fact protocol.update_other "$(proto_of "$A" | sed 's/^$/wiped/; s/^177$/replaced/; s/^176$/kept/')"
ip -n "$H" -6 neigh replace proxy "$A" dev up0 proto 176
fact proxy.state_read_back "$(ip -n "$H" -j -6 neigh show proxy "$A" dev up0 | jq -r '.[0].state // ["none"] | join(",")')"

# --- dumps -----------------------------------------------------------------------------------
dump=$(ip netns exec "$H" "$LAB_PYTHON" "$NL_FACTS" dump-filter eth0)
for k in flags_0 flags_proxy flags_proxy_protocol_176 strict_flags_proxy strict_flags_proxy_protocol_176; do
    fact "dump.$k" "$(jq -r ".$k" <<<"$dump" | sed 's/,/;/g')"
done
ip -n "$H" -6 neigh del proxy "$B" dev up0

# --- sysctls: the RA default route when forwarding goes on -----------------------------------
# The kernel purges only tables it flagged when it added an RA default route, and clears the flag
# on every purge: so accept_ra=1 first, then a fresh RA route, then accept_ra=2.
wait_for 30 ra_default || fail "host has no RA default route"
hsys net.ipv6.conf.all.forwarding=1
fact ra_route.forwarding_on.accept_ra_1 "$(ra_default && echo kept || echo purged)"
hsys net.ipv6.conf.all.forwarding=0
wait_for 30 ra_default || fail "host got no RA default route back (radvd sends one every 3-10 s)"
hsys net.ipv6.conf.eth0.accept_ra=2
hsys net.ipv6.conf.all.forwarding=1
fact ra_route.forwarding_on.accept_ra_2 "$(ra_default && echo kept || echo purged)"

# --- answers: unicast NS and proxy_delay -----------------------------------------------------
hsys net.ipv6.conf.eth0.accept_ra=2 net.ipv6.conf.eth0.forwarding=1 net.ipv6.conf.eth0.proxy_ndp=1
ip -n "$H" -6 neigh replace proxy "$LAB_CT1" dev eth0 proto 176
mac=$(mac_of "$H" eth0)
answered() { probe_r --timeout 1 "$@" >/dev/null && echo answered || echo silent; }
fact proxy_delay.default "$(ip netns exec "$H" sysctl -n net.ipv6.neigh.eth0.proxy_delay)"
fact ns.unicast.eth0_proxy_ndp_only "$(answered --target "$LAB_CT1" --unicast --dst-mac "$mac")"
fact ns.multicast.eth0_proxy_ndp_only "$(answered --target "$LAB_CT1")"
hsys net.ipv6.conf.all.proxy_ndp=1
fact ns.unicast.all_proxy_ndp "$(answered --target "$LAB_CT1" --unicast --dst-mac "$mac")"
hsys net.ipv6.neigh.eth0.proxy_delay=0
out=$(probe_r --target "$LAB_CT1" --count 5 --timeout 2) || fail "multicast NS with proxy_delay 0 not answered: $out"
if (($(jq -r .max_us <<<"$out") < 200000)); then
    fact proxy_delay.zero "immediate"
else
    fact proxy_delay.zero "delayed (max $(jq -r .max_us <<<"$out") us)"
fi

# --- netlink overrun -------------------------------------------------------------------------
enobufs=$(LAB_TIME_SCALE=$LAB_TIME_SCALE ip netns exec "$H" "$LAB_PYTHON" "$NL_FACTS" enobufs eth0)
fact enobufs.error "$(jq -r .error <<<"$enobufs")"
fact enobufs.event_after_drain "$(jq -r .event_after_drain <<<"$enobufs")"

# ---------------------------------------------------------------------------------------------
if [[ $check -eq 1 ]]; then
    # What every kernel tested (6.1, 6.12, 6.18) showed, unless kernel-check says otherwise.
    declare -A WANT=(
        [admin_down.permanent]=flushed [admin_down.noarp]=flushed
        [carrier_loss.permanent]=kept [carrier_loss.noarp]=flushed [carrier_back.permanent]=kept
        [disable_ipv6.permanent]=flushed
        [readd_after_delete]=ok [protocol.update_without]=kept [protocol.update_other]=replaced
        [ra_route.forwarding_on.accept_ra_2]=kept [ra_route.forwarding_on.accept_ra_1]=purged
        [ns.unicast.eth0_proxy_ndp_only]=silent [ns.multicast.eth0_proxy_ndp_only]=answered
        [ns.unicast.all_proxy_ndp]=answered [proxy_delay.default]=80 [proxy_delay.zero]=immediate
        [enobufs.error]=ENOBUFS [enobufs.event_after_drain]=true
    )
    defects=$("$NDPSYNC" kernel-check --json 2>/dev/null | jq -r '.defects[].id' || true)
    if grep -qx proxy-flush-on-carrier-loss <<<"$defects"; then
        WANT[carrier_loss.permanent]=flushed
        WANT[carrier_back.permanent]=flushed
    fi
    if grep -qx proxy-protocol-wiped-on-update <<<"$defects"; then
        WANT[protocol.update_without]=wiped
    fi
    bad=0
    for k in "${!WANT[@]}"; do
        if [[ ${FACT[$k]:-} != "${WANT[$k]}" ]]; then
            echo "MISMATCH $k: got '${FACT[$k]:-}', expected '${WANT[$k]}'" >&2
            bad=1
        fi
    done
    [[ $bad -eq 0 ]] || fail "kernel $(uname -r) differs from what ndpsync expects (see MISMATCH lines)"
    echo "PASS: kernel facts on $(uname -r) match ndpsync's expectations"
fi
