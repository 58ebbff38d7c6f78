#!/usr/bin/env bash
# The main job of BR2K, end to end on this machine: a replicated service (three br2k-server nodes
# beside three etcd members, the registry on anvil) behind br2k-proxy, with a client load through
# the proxy while the current leader is killed at random intervals and restarted by the
# supervisor. Prints live progress and a summary with each failover's client-visible gap and a
# consistency verdict; exits 0 only if every acknowledged request was applied exactly once and
# all replicas ended identical.
#
#   scripts/demo.sh                      the default run (about a minute)
#   scripts/demo.sh --duration 120 --rate 50 --kill-min 5 --kill-max 10
#   scripts/demo.sh --help               every option
#
# Sets the machine up first (scripts/setup.sh) and builds what it needs into build/.
# Ctrl-C stops the run early; nothing is left running.
set -euo pipefail

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$repo"
bash scripts/setup.sh
cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build build --parallel "$(nproc)" --target br2k-demo br2k-server br2k-proxy
exec build/deploy/local/br2k-demo "$@"
