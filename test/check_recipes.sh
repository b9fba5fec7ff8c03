#!/usr/bin/env bash
# test/check_recipes.sh NDPSYNC — what can be checked of docs/recipes/ without running an engine
# (the engines run in test/integration/test_recipe_*.sh):
#   * every ```json block on a recipe page is an ndpsync config that `ndpsync check-config`
#     accepts (other config formats on the pages are fenced without "json");
#   * the index links every recipe page, and README.md links the index;
#   * packaging/kubernetes/ndpsync.yaml parses (Debian's python3-yaml), has a ConfigMap and a
#     DaemonSet with hostNetwork, an agent with CAP_NET_ADMIN and /etc/ndpsync mounted from the
#     ConfigMap, and every *.json in the ConfigMap passes check-config;
#   * packaging/container/Dockerfile's runtime stage installs the package of every shared
#     library the binary needs (NEEDED), besides libc6, libstdc++6 and libgcc-s1 of the base.
# Needs no root. Exit 0, or 1 naming each problem.
set -euo pipefail

ndpsync=${1:?usage: check_recipes.sh NDPSYNC}
repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
python=${LAB_PYTHON:-/usr/bin/python3}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
# shellcheck source=test/lab/checks.sh
source "$(dirname "${BASH_SOURCE[0]}")/lab/checks.sh"

# --- 1. the JSON configs on the pages -------------------------------------------------------
n=0
for page in "$repo"/docs/recipes/*.md; do
    name=$(basename "$page")
    # Each ```json ... ``` block into its own file.
    awk -v dir="$tmp" -v base="${name%.md}" '
        /^```json[[:space:]]*$/ { inblock = 1; k++; file = sprintf("%s/%s.%d.json", dir, base, k); next }
        /^```/ && inblock { inblock = 0; close(file); next }
        inblock { print > file }
    ' "$page"
    for f in "$tmp/${name%.md}".*.json; do
        [[ -e $f ]] || continue
        n=$((n + 1))
        if ! out=$("$ndpsync" check-config --config "$f" 2>&1); then
            fail "docs/recipes/$name: config block $(basename "$f" .json | sed 's/.*\.//') is refused: $out"
        fi
    done
done
[[ $n -ge 5 ]] || fail "only $n JSON config blocks found in docs/recipes/ (expected one per recipe at least)"
ok "all $n JSON configs in docs/recipes/*.md pass ndpsync check-config"

# --- 2. links -----------------------------------------------------------------------------
for page in "$repo"/docs/recipes/*.md; do
    name=$(basename "$page")
    [[ $name == README.md ]] && continue
    grep -F "]($name)" "$repo/docs/recipes/README.md" >/dev/null ||
        fail "docs/recipes/README.md does not link $name"
done
grep -F "](docs/recipes/README.md)" "$repo/README.md" >/dev/null || fail "README.md does not link docs/recipes/README.md"
while read -r link; do
    [[ -f $repo/docs/recipes/$link ]] || fail "docs/recipes/README.md links $link, which does not exist"
done < <(grep -o '](\([a-z-]*\.md\))' "$repo/docs/recipes/README.md" | sed 's/^](//; s/)$//' | sort -u)
ok "the index links every recipe, every link resolves, and README.md links the index"

# --- 3. the Kubernetes manifest -------------------------------------------------------------
manifest=$repo/packaging/kubernetes/ndpsync.yaml
"$python" - "$manifest" "$tmp" <<'EOF' || fail "packaging/kubernetes/ndpsync.yaml: see above"
import sys, yaml

path, tmp = sys.argv[1], sys.argv[2]
docs = [d for d in yaml.safe_load_all(open(path)) if d]
kinds = {d["kind"]: d for d in docs}
problems = []
if set(kinds) != {"ConfigMap", "DaemonSet"}:
    problems.append(f"kinds {sorted(kinds)}, want ConfigMap and DaemonSet")
cm, ds = kinds.get("ConfigMap", {}), kinds.get("DaemonSet", {})
spec = ds.get("spec", {}).get("template", {}).get("spec", {})
if spec.get("hostNetwork") is not True:
    problems.append("the DaemonSet's pods do not have hostNetwork: true")
agents = [c for c in spec.get("containers", []) if "run" in c.get("command", [])]
if len(agents) != 1:
    problems.append("no single container runs `ndpsync run`")
else:
    agent = agents[0]
    caps = agent.get("securityContext", {}).get("capabilities", {})
    if "NET_ADMIN" not in caps.get("add", []):
        problems.append("the agent does not add NET_ADMIN")
    if agent.get("securityContext", {}).get("privileged"):
        problems.append("the agent is privileged (only the init container should be)")
    config_vols = {v["name"] for v in spec.get("volumes", [])
                   if v.get("configMap", {}).get("name") == cm.get("metadata", {}).get("name")}
    if not any(m["mountPath"] == "/etc/ndpsync" and m["name"] in config_vols
               for m in agent.get("volumeMounts", [])):
        problems.append("the agent has no /etc/ndpsync mount from the ConfigMap")
if not ds.get("spec", {}).get("selector", {}).get("matchLabels", {}).items() <= \
        ds.get("spec", {}).get("template", {}).get("metadata", {}).get("labels", {}).items():
    problems.append("the selector does not match the pod labels")
for key, text in cm.get("data", {}).items():
    if key.endswith(".json"):
        open(f"{tmp}/cm-{key}", "w").write(text)
for p in problems:
    print("packaging/kubernetes/ndpsync.yaml:", p, file=sys.stderr)
sys.exit(1 if problems else 0)
EOF
ok "the manifest parses; ConfigMap + DaemonSet, hostNetwork, NET_ADMIN, /etc/ndpsync from the ConfigMap"
k=0
for f in "$tmp"/cm-*.json; do
    [[ -e $f ]] || continue
    k=$((k + 1))
    out=$("$ndpsync" check-config --config "$f" 2>&1) ||
        fail "packaging/kubernetes/ndpsync.yaml: ConfigMap key ${f##*/cm-} is refused: $out"
done
[[ $k -ge 1 ]] || fail "the ConfigMap holds no *.json config"
ok "the ConfigMap's $k configs pass ndpsync check-config"

# --- 4. the image's runtime libraries ---------------------------------------------------------
dockerfile=$repo/packaging/container/Dockerfile
runtime_pkgs=$(awk '/^FROM debian:12-slim/ { rt = 1 } rt && /apt-get install/ { print }' "$dockerfile" |
    tr ' ' '\n' | grep -E '^lib' || true)
[[ -n $runtime_pkgs ]] || fail "no runtime apt-get install line found in packaging/container/Dockerfile"
if command -v objdump >/dev/null 2>&1 && command -v dpkg >/dev/null 2>&1; then
    for lib in $(objdump -p "$ndpsync" | awk '$1 == "NEEDED" { print $2 }'); do
        # A sanitizer build (scripts/test.sh runs the suite on one) links its runtime; the
        # image's release build does not.
        case $lib in libasan.so* | libubsan.so* | liblsan.so* | libtsan.so*) continue ;; esac
        path=$(ldd "$ndpsync" | awk -v l="$lib" '$1 == l { print $3 }')
        [[ -n $path ]] || fail "ldd does not resolve $lib"
        # By path: a basename matches other architectures' copies too (libc6-i386's libm).
        pkg=$( (dpkg -S "$path" || dpkg -S "$(realpath "$path")") 2>/dev/null | head -n1 | cut -d: -f1)
        [[ -n $pkg ]] || fail "no Debian package ships $lib"
        case $pkg in libc6 | libstdc++6 | libgcc-s1) continue ;; esac
        grep -x "$pkg" <<<"$runtime_pkgs" >/dev/null ||
            fail "packaging/container/Dockerfile: the binary needs $lib ($pkg), which the runtime stage does not install"
    done
    ok "the image's runtime stage installs every library the binary needs: $(tr '\n' ' ' <<<"$runtime_pkgs")"
else
    echo "# objdump or dpkg missing: the Dockerfile's libraries are not checked"
fi

echo "$checks passed, 0 failed"
