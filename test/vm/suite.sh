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
if [[ ${#scripts[@]} -eq 0 ]]; then
    for s in test/integration/test_*.sh test/vm/kernel_facts.sh; do
        [[ $s == */test_deb.sh || $s == */test_recipe_*.sh || $s == */test_migration.sh ]] ||
            scripts+=("$s")
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
