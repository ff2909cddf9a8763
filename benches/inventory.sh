#!/usr/bin/env bash
# Parses a 5,000-host inventory (ranges, 50 groups, group_vars) with regauth and with
# the real ansible-inventory in one run on this machine, and checks both print the
# same JSON. Needs: cargo, python3, hyperfine, ansible-core (pip install ansible-core).
# Usage: benches/inventory.sh [HOSTS]
set -euo pipefail
cd "$(dirname "$0")/.."
hosts=${1:-5000}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
python3 benches/gen_inventory.py "$work/inv" "$hosts" 50
cargo build --release --quiet
bin=$(cargo metadata --format-version 1 --no-deps | python3 -c 'import json,sys; print(json.load(sys.stdin)["target_directory"])')/release/regauth
"$bin" inventory -i "$work/inv/hosts" --list --show-secrets > "$work/regauth.json"
if command -v ansible-inventory >/dev/null; then
  ANSIBLE_INVENTORY_UNPARSED_FAILED=True ansible-inventory -i "$work/inv/hosts" --list > "$work/ansible.json"
  if cmp -s "$work/regauth.json" "$work/ansible.json"; then echo "outputs identical (byte for byte)"; else echo "OUTPUTS DIFFER"; diff "$work/regauth.json" "$work/ansible.json" | head -20; exit 1; fi
  ansible-inventory --version | head -1
  hyperfine --warmup 2 --runs 10 -N --export-markdown "$work/table.md" \
    -n regauth "$bin inventory -i $work/inv/hosts --list --show-secrets" \
    -n ansible-inventory "ansible-inventory -i $work/inv/hosts --list"
else
  hyperfine --warmup 2 --runs 20 -N --export-markdown "$work/table.md" \
    -n regauth "$bin inventory -i $work/inv/hosts --list --show-secrets"
fi
cat "$work/table.md"
