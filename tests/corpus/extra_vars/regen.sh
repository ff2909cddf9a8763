#!/usr/bin/env bash
# Regenerates the expected outputs of the extra-vars corpus with the REAL ansible-playbook.
# CI never runs this: the outputs are committed. Run it from the repository root after
# adding or changing a case, then review the diff:
#
#   bash tests/corpus/extra_vars/regen.sh              # every case
#   bash tests/corpus/extra_vars/regen.sh 03-json      # some cases
#
# Each case directory holds:
#   hosts        the inventory (with group_vars/, host_vars/ beside it if the case needs)
#   extra        one `-e` argument per line, exactly as it is passed (spaces and quotes
#                kept; a line is one argv word)
#   vars         the variable names to report, one per line
#   vault-pass   optional: given as --vault-password-file
# ansible-playbook runs a playbook of one `debug: var=NAME` task per name (oneline
# callback), with cwd = the case directory so every path is relative, and writes:
#   expected.json   {host: {name: value}} for every defined name, as Ansible resolves it
#   expected-error  for cases that must fail: line 1 (the exit code regauth must give and
#                   the text its message must hold, chosen by hand) is kept; the rest is
#                   Ansible's own exit status and message, for reference.
# A config file or ANSIBLE_* variable of yours must not leak in: scratch HOME, clean env.
set -euo pipefail

root=tests/corpus/extra_vars
[[ -d $root ]] || { echo "run from the repository root" >&2; exit 2; }
ap=${ANSIBLE_PLAYBOOK_BIN:-$( (pyenv which ansible-playbook 2>/dev/null) || command -v ansible-playbook)}
scratch=$(mktemp -d)
trap 'rm -rf "$scratch"' EXIT

"$ap" --version | grep -E '^ansible-playbook' | sed -e 's/ *(.*)$//' > "$root/ANSIBLE_VERSION"

if [[ $# -gt 0 ]]; then cases=("$@"); else cases=(); for d in "$root"/*/; do cases+=("$(basename "$d")"); done; fi

for name in "${cases[@]}"; do
    dir=$root/$name
    {
        echo "- hosts: all"
        echo "  gather_facts: false"
        echo "  tasks:"
        while IFS= read -r v; do echo "    - debug: var=$v"; done < "$dir/vars"
    } > "$scratch/pb.yml"
    args=()
    while IFS= read -r e; do args+=(-e "$e"); done < "$dir/extra"
    [[ -f $dir/vault-pass ]] && args+=(--vault-password-file vault-pass)
    set +e
    (cd "$dir" && env -i PATH="$PATH" HOME="$scratch" LANG=C.UTF-8 LC_ALL=C.UTF-8 \
        ANSIBLE_NOCOLOR=1 ANSIBLE_CONFIG="$scratch/none.cfg" ANSIBLE_LOCAL_TEMP="$scratch/tmp" \
        ANSIBLE_STDOUT_CALLBACK=oneline ANSIBLE_DEPRECATION_WARNINGS=False \
        "$ap" -i hosts "$scratch/pb.yml" "${args[@]}" > "$scratch/out" 2> "$scratch/err")
    rc=$?
    set -e
    abs=$(cd "$dir" && pwd -P)
    if [[ -f $dir/expected-error ]]; then
        if [[ $rc -eq 0 ]]; then echo "$name: ansible-playbook succeeded, expected an error" >&2; exit 1; fi
        first=$(head -1 "$dir/expected-error")
        {
            echo "$first"
            echo "# ansible-playbook: exit $rc; its [ERROR] lines, for reference:"
            grep -A3 '^\[ERROR\]' "$scratch/err" | sed -e "s#$abs/##g" -e "s#$scratch/##g"
        } > "$dir/expected-error"
    else
        if [[ $rc -ne 0 ]]; then echo "$name: ansible-playbook failed ($rc):" >&2; cat "$scratch/err" >&2; exit 1; fi
        python3 - "$scratch/out" > "$dir/expected.json" <<'PY'
import json, sys
out = {}
for line in open(sys.argv[1]):
    if " | SUCCESS => " not in line:
        continue
    host, res = line.split(" | SUCCESS => ", 1)
    res = json.loads(res)
    res.pop("changed", None)
    ((k, v),) = res.items()
    if isinstance(v, str) and v.startswith("<< error") and "is undefined" in v:
        continue
    out.setdefault(host.strip(), {})[k] = v
print(json.dumps(out, indent=2, sort_keys=True, ensure_ascii=False))
PY
    fi
    echo "$name: ok (exit $rc)"
done
