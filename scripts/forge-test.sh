#!/usr/bin/env bash
# Runs the registry contract's Solidity tests (contracts/test/: unit, fuzz, invariant) with the
# pinned forge, fully offline, compiling with the pinned solcjs through scripts/solc-forge-wrapper.sh.
#
#   scripts/forge-test.sh [<work-dir>] [forge test arguments...]
#
# forge's artifacts, cache, fuzz/invariant failure records and home directory go under <work-dir>
# (kept, so the next run recompiles only what changed and replays recorded failures first), or,
# without one, under a temporary directory removed afterwards. Nothing is written into the source
# tree. Fuzz and invariant run counts come from contracts/foundry.toml. Exits non-zero when a test
# fails or the build has an error or warning. Examples:
#
#   scripts/forge-test.sh build/contracts/forge
#   scripts/forge-test.sh build/contracts/forge --match-contract ServiceRegistryGasTest --gas-report --isolate
#
# Environment: BR2K_NODE (node binary, default: node on PATH), BR2K_FORGE_THREADS (test threads,
# default 1: the build machine is shared).
set -euo pipefail

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
forge=$repo/node_modules/@foundry-rs/forge-linux-amd64/bin/forge
wrapper=$repo/scripts/solc-forge-wrapper.sh

if [[ ! -x $forge ]]; then
  echo "forge-test: $forge not found (run scripts/setup.sh)" >&2
  exit 1
fi

if (($#)) && [[ $1 != -* ]]; then
  mkdir -p "$1"
  work=$(cd "$1" && pwd)
  shift
else
  work=$(mktemp -d "${TMPDIR:-/tmp}/br2k-forge.XXXXXX")
  trap 'rm -rf "$work"' EXIT
fi
mkdir -p "$work/home"

export FOUNDRY_OUT=$work/out
export FOUNDRY_CACHE_PATH=$work/cache
export FOUNDRY_FUZZ_FAILURE_PERSIST_DIR=$work/cache/fuzz
export FOUNDRY_INVARIANT_FAILURE_PERSIST_DIR=$work/cache/invariant
# forge keeps a signature cache in ~/.foundry; keep it out of the user's home.
export HOME=$work/home

cd "$repo/contracts"
# Not exec: the EXIT trap must still remove a temporary work directory. set -e passes forge's
# failure on as this script's exit status.
"$forge" test --root "$repo/contracts" --offline --use "$wrapper" \
  --threads "${BR2K_FORGE_THREADS:-1}" "$@"
