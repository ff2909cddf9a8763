#!/usr/bin/env bash
# The README's first command: start regauth's local lab and run the install playbook
# against it. Installs the Debian packages the lab needs if they are missing, then runs
# `cargo run --example lab -- "$@"` (examples/lab.rs; `--once` stops after the demo,
# `--help` lists the options). Safe to run again: nothing is installed twice, and every
# start writes a fresh inventories/lab.ini and lab/state/.
set -euo pipefail
cd "$(dirname "$0")/.."

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

command -v cargo >/dev/null || die "cargo is missing: install a Rust toolchain (1.95 or newer) with https://rustup.rs, then run lab/run.sh again"

# The lab runs sshd as root and logs in as root, so it runs as root. Build as the
# invoking user (the target directory stays theirs), then let cargo start the example
# through sudo; the example hands the files it writes back to $SUDO_USER.
say "building regauth and the lab (cargo build --bin regauth --example lab)"
cargo build --bin regauth --example lab
if [ "$(id -u)" = 0 ]; then
  exec cargo run -q --example lab -- "$@"
fi
command -v sudo >/dev/null || die "the lab must run as root and sudo is missing"
say "the lab needs root (sshd nodes that log in as root): starting it with sudo"
exec cargo run -q --example lab \
  --config "target.'cfg(all())'.runner = ['sudo', '--preserve-env=RUST_LOG,RUST_BACKTRACE', '--']" \
  -- "$@"
