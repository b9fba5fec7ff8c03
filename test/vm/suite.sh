#!/usr/bin/env bash
# test/vm/suite.sh [SCRIPT]... — the integration suite, run inside a test/vm guest (or natively):
# every test/integration/test_*.sh and test/vm/kernel_facts.sh (or the SCRIPTs given), one
# after the other, each with its time, then a summary. Exit 0 when every script passed (77 = skipped counts as a failure in a guest,
# where every prerequisite exists), 1 otherwise.
#
#   test/vm/run.sh --kernel 6.1 -- test/vm/suite.sh
set -uo pipefail
cd "$(dirname "$0")/../.."
export NDPSYNC=${NDPSYNC:-$PWD/build/ndpsync}
export LAB_TIME_SCALE=${LAB_TIME_SCALE:-1}
# In a guest /tmp is the guest's own: keep the logs of a failed test in the shared checkout.
[[ -n ${VM_KERNEL:-} ]] && export AGENT_KEEP_DIR=${AGENT_KEEP_DIR:-$PWD/build/vm/keep}
scripts=("$@")
# test_deb builds and inspects the package: nothing in it depends on the kernel, and a C++ build
# under emulation would take an hour. The recipe tests (test_recipe_*) run a container engine
# against the agent; the kernel behaviour they meet (forwarding purging RA routes, proxy answers,
# neighbours on a bridge) is what the other scripts prove in the guests. They run natively.
# test_migration is about the router's neighbour cache (its timers dominate: 15 s and more); the
# agent's side of it, an advert from the packet socket, is what test_on_demand proves there.
# test_install_deps, test_cli_config and test_unit_file build no namespace and ask nothing of the
# kernel (apt stubs, the command line, systemd-analyze on the unit); test_bad_input,
# test_status_socket, test_agent_systemd and test_uplink_typo test the agent's own input (config,
# command line, SIGHUP, the status socket's protocol and permissions, sd_notify, a config naming
# no such uplink), and test_doctor what doctor makes of the host's text (the kernel defects it
# names are kernel_facts' to prove here); for all of these the kernel only supplies a namespace.
# The native run (under the sanitizers) proves them; in a guest they would cost 6-7 minutes.
# test_fresh_bridge races the bridge's DAD timers, which run at full speed in a guest while the
# emulated agent runs 10-25x slower; what it proves is the agent's logic (Discovery::link_changed),
# not the kernel's, and the ndisc fact it meets (no solicitation from a tentative link-local
# address) is older than both guest kernels.
# test_manager_* (networkd, NetworkManager, ifupdown, ifupdown2) build a Debian root from Debian's
# registry, which a guest does not reach, and run the manager from it; the kernel behaviour they
# meet (netconf events, RA routes, admin down) is what test_agent_basics and test_uplink_slaac
# prove in the guests.
if [[ ${#scripts[@]} -eq 0 ]]; then
    for s in test/integration/test_*.sh test/vm/kernel_facts.sh; do
        case $s in
            */test_deb.sh | */test_recipe_*.sh | */test_migration.sh) ;;
            */test_install_deps.sh | */test_cli_config.sh | */test_unit_file.sh) ;;
            */test_bad_input.sh | */test_status_socket.sh | */test_agent_systemd.sh) ;;
            */test_uplink_typo.sh | */test_doctor.sh | */test_fresh_bridge.sh) ;;
            */test_manager_*.sh) ;;
            *) scripts+=("$s") ;;
        esac
    done
fi

failed=()
summary=()
t_all=$(date +%s)
echo "== integration suite on $(uname -r): ${#scripts[@]} scripts, LAB_TIME_SCALE=$LAB_TIME_SCALE${LAB_REDUCED:+, LAB_REDUCED=$LAB_REDUCED}"
for s in "${scripts[@]}"; do
    name=$(basename "$s" .sh)
    echo "== $name"
    t0=$(date +%s)
    bash "$s"
    rc=$?
    secs=$(($(date +%s) - t0))
    if [[ $rc -eq 0 ]]; then
        summary+=("PASS $name ${secs}s")
    elif [[ $rc -eq 77 && -z ${VM_KERNEL:-} ]]; then
        summary+=("SKIP $name ${secs}s")
    else
        summary+=("FAIL $name ${secs}s (exit $rc)")
        failed+=("$name")
    fi
done
echo "== summary on $(uname -r) ($(($(date +%s) - t_all)) s):"
printf '   %s\n' "${summary[@]}"
[[ ${#failed[@]} -eq 0 ]]
