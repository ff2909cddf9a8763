#!/usr/bin/env bash
# The README's first command: start regauth's local lab and run the install playbook
# against it. Installs the Debian packages the lab needs if they are missing, builds
# regauth and the lab (examples/lab.rs) in one `cargo build`, then runs the lab binary
# itself, through sudo when not root. Nothing else runs cargo, so a later `cargo build`
# or `cargo test` compiles nothing. Safe to run again: nothing is installed twice, and
# every start writes a fresh inventories/lab.ini and lab/state/.
set -euo pipefail
cd "$(dirname "$0")/.."

usage() {
  cat <<'EOF'
usage: lab/run.sh [--once] [--state-dir DIR] [--inventory FILE] [--regauth BIN]

Starts regauth's local lab: a TLS registry, three sshd nodes and a test API server,
all on 127.0.0.1. Installs the Debian packages it needs if missing (as root; otherwise
prints the apt-get line), builds regauth and the lab, writes inventories/lab.ini and
lab/state/, runs playbooks/install.yml against the lab, prints where to look and what
to try next, and keeps the lab up until Ctrl-C. Runs the lab as root (through sudo if
you are not root): the sshd nodes log in as root.

  --once            stop right after the demo; exit 0 only if it worked (tests and CI)
  --state-dir DIR   kubeconfig, known_hosts, SSH key, certs.d (default lab/state)
  --inventory FILE  where to write the inventory (default inventories/lab.ini)
  --regauth BIN     the regauth binary to run (default target/debug/regauth, built here)
EOF
}
for a in "$@"; do
  case "$a" in
    -h | --help) usage; exit 0 ;;
  esac
done

say() { printf 'lab/run.sh: %s\n' "$*"; }
die() { printf 'lab/run.sh: %s\n' "$*" >&2; exit 1; }

# openssh-server: the sshd "nodes"; docker-registry: the registry; apache2-utils: its
# htpasswd file; openssl: certificates; skopeo: the containers tools the tests compare
# with; sudo: root for the lab when you are not root; libssl-dev + pkg-config: ssh2
# links the system OpenSSL when regauth is built.
packages=(openssh-server docker-registry skopeo openssl apache2-utils sudo libssl-dev pkg-config)

if command -v dpkg-query >/dev/null; then
  missing=()
  for p in "${packages[@]}"; do
    if [ "$(dpkg-query -W -f='${db:Status-Status}' "$p" 2>/dev/null || true)" != installed ]; then
      missing+=("$p")
    fi
  done
  if [ "${#missing[@]}" -gt 0 ]; then
    if [ "$(id -u)" = 0 ]; then
      say "installing ${missing[*]}"
      export DEBIAN_FRONTEND=noninteractive
      apt-get update
      apt-get install -y "${missing[@]}"
    else
      die "missing Debian packages: ${missing[*]}
  install them, then run lab/run.sh again:
    sudo apt-get update && sudo apt-get install -y ${missing[*]}"
    fi
  else
    say "system packages present: ${packages[*]}"
  fi
else
  # Not Debian: check for the programs themselves and say what is missing.
  for tool in /usr/sbin/sshd docker-registry skopeo openssl htpasswd pkg-config; do
    command -v "$tool" >/dev/null || die "not a Debian system and $tool is missing; install the equivalents of: ${packages[*]}"
  done
fi

command -v kubectl >/dev/null ||
  say "kubectl is not installed: the lab works without it, its kubectl hints do not"
command -v cargo >/dev/null || die "cargo is missing: install a Rust toolchain (1.95 or newer) with https://rustup.rs, then run lab/run.sh again"

# The lab runs sshd as root and logs in as root, so it runs as root. Build as the
# invoking user (the target directory stays theirs), showing cargo's progress; the
# JSON lines on stdout name the lab binary wherever the target directory is.
say "building regauth and the lab (cargo build --bin regauth --example lab)"
lab=$(cargo build --bin regauth --example lab --message-format=json-render-diagnostics |
  sed -n 's/.*"executable":"\([^"]*\/examples\/lab\)".*/\1/p')
[ -x "$lab" ] || die "cargo build did not report the lab binary"
if [ "$(id -u)" = 0 ]; then
  exec "$lab" "$@"
fi
command -v sudo >/dev/null || die "the lab must run as root and sudo is missing"
say "the lab needs root (sshd nodes that log in as root): starting it with sudo"
# The lab hands the files it writes back to $SUDO_USER.
exec sudo --preserve-env=RUST_LOG,RUST_BACKTRACE -- "$lab" "$@"
