#!/bin/sh
# Interrupted-run trials (not in CI: a few minutes): kill -9, then SIGINT, `regauth run`
# at random moments while it distributes to 20 lab sshd nodes; after each, every node's
# files must be the old or the new version, valid JSON, mode 0600, no temp file left,
# and the next run must converge. Needs root (sshd nodes, useradd), like the other lab tests.
#
#   tests/trials/kill9.sh            # 30 trials per signal, random seed (printed)
#   REGAUTH_TRIALS_N=100 REGAUTH_TRIALS_SEED=42 tests/trials/kill9.sh
#   REGAUTH_TRIALS_SIGNALS=kill tests/trials/kill9.sh    # kill -9 only
set -eu
cd "$(dirname "$0")/../.."
# Builds regauth first: the trials run the binary next to the example.
cargo build --quiet --bin regauth
exec cargo run --quiet --example kill9_trial
