#!/usr/bin/env bash
# Regenerates the expected outputs of the inventory corpus with the REAL ansible-inventory.
# CI never runs this: the outputs are committed. Run it from the repository root after
# adding or changing a case, then review the diff:
#
#   bash tests/corpus/inventory/regen.sh            # every case
#   bash tests/corpus/inventory/regen.sh 07-quoting # some cases
#
# Each case directory holds `args` (what follows `regauth inventory`). ansible-inventory
# gets the same arguments, minus `--show-secrets` (regauth masks secrets by default;
# ansible-inventory never does), run with cwd = the case directory so every path is
# relative. It writes:
#   expected.json   stdout of --list / --host
#   expected.txt    stdout of --graph (text, not JSON)
#   expected-error  for cases that must fail: line 1 (the `file:line` regauth must
#                   print, chosen by hand) is kept; the rest is Ansible's own message
#                   and exit status, for reference, with the case path removed.
# A config file or ANSIBLE_* variable of yours must not leak in, so the tool runs with
# a scratch HOME and a clean environment.
set -euo pipefail

root=tests/corpus/inventory
[[ -d $root ]] || { echo "run from the repository root" >&2; exit 2; }
ai=${ANSIBLE_INVENTORY_BIN:-$( (pyenv which ansible-inventory 2>/dev/null) || command -v ansible-inventory)}
scratch=$(mktemp -d)
trap 'rm -rf "$scratch"' EXIT

run_ai() {
    env -i PATH="$PATH" HOME="$scratch" LANG=C.UTF-8 LC_ALL=C.UTF-8 \
        ANSIBLE_NOCOLOR=1 ANSIBLE_CONFIG="$scratch/none.cfg" \
        ANSIBLE_LOCAL_TEMP="$scratch/tmp" \
        ANSIBLE_INVENTORY_UNPARSED_FAILED=True \
        ANSIBLE_INVENTORY_ANY_UNPARSED_IS_FAILED=True \
        "$ai" "$@"
}

# The version, without the machine-specific paths it also prints.
"$ai" --version > "$scratch/version"
grep -E '^ansible-inventory|jinja version|pyyaml version|python version' "$scratch/version" \
    | sed -e 's/ *(.*)$//' -e 's/^ *//' > "$root/ANSIBLE_VERSION"

if [[ $# -gt 0 ]]; then cases=("$@"); else cases=(); for d in "$root"/*/; do cases+=("$(basename "$d")"); done; fi

for name in "${cases[@]}"; do
    dir=$root/$name
    read -ra words < "$dir/args"
    args=()
    graph=0
    for w in "${words[@]}"; do
        [[ $w == --show-secrets ]] && continue
        [[ $w == --graph ]] && graph=1
        args+=("$w")
    done
    set +e
    (cd "$dir" && run_ai "${args[@]}" > "$scratch/out" 2> "$scratch/err")
    rc=$?
    set -e
    abs=$(cd "$dir" && pwd -P)
    if [[ -f $dir/expected-error ]]; then
        if [[ $rc -eq 0 ]]; then echo "$name: ansible-inventory succeeded, expected an error" >&2; exit 1; fi
        loc=$(head -1 "$dir/expected-error")
        {
            echo "$loc"
            echo "# ansible-inventory ${args[*]}: exit $rc; its stderr, for reference:"
            sed -e "s#$abs/##g" -e "s#$abs##g" "$scratch/err"
        } > "$dir/expected-error"
    else
        if [[ $rc -ne 0 ]]; then echo "$name: ansible-inventory failed ($rc):" >&2; cat "$scratch/err" >&2; exit 1; fi
        if grep -q "$abs" "$scratch/out"; then echo "$name: output holds a machine path" >&2; exit 1; fi
        if [[ $graph -eq 1 ]]; then cp "$scratch/out" "$dir/expected.txt"; else cp "$scratch/out" "$dir/expected.json"; fi
    fi
    echo "$name: ok (exit $rc)"
done
