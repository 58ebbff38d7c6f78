#!/usr/bin/env bash
# Builds the libFuzzer targets of fuzz/ with clang 14 into build-fuzz/ and runs each for a bounded
# time over a copy of its committed seed corpus (fuzz/corpus/<target>/ is never modified).
#
#   scripts/fuzz.sh          10 s per target
#   scripts/fuzz.sh 60       60 s per target
#
# Fails (exit 1) when a target crashes, printing the reproducer to rerun:
#   build-fuzz/<target> <reproducer>
# A crash worth keeping becomes a regression test in tests/unit/ and a file in fuzz/corpus/.
# Needs clang-14 and libclang-rt-14-dev (scripts/setup.sh installs them). Needs no stdin.
set -euo pipefail

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$repo"

seconds=${1:-10}
if ! [[ $seconds =~ ^[1-9][0-9]*$ ]]; then
  echo "fuzz: seconds per target must be a positive integer, not '$seconds'" >&2
  exit 2
fi
targets=(rlp_fuzz abi_fuzz jsonrpc_fuzz etcd_codec_fuzz log_entry_fuzz http_request_fuzz)

cmake -S fuzz -B build-fuzz -G Ninja -DCMAKE_CXX_COMPILER=clang++-14 >/dev/null
cmake --build build-fuzz --parallel "$(nproc)"

work=$(mktemp -d "${TMPDIR:-/tmp}/br2k-fuzz.XXXXXX")
keep_work=0  # set when a target fails: its log and reproducer stay
cleanup() { ((keep_work)) || rm -rf "$work"; }
trap cleanup EXIT

failed=()
for target in "${targets[@]}"; do
  corpus="$work/corpus/$target"
  crashes="$work/crashes/$target"
  mkdir -p "$corpus" "$crashes"
  cp -r "fuzz/corpus/$target/." "$corpus/"
  log="$work/$target.log"
  rc=0
  # One job; -artifact_prefix puts crash-*, leak-*, timeout-* and oom-* files in $crashes.
  "build-fuzz/$target" -max_total_time="$seconds" -timeout=5 -rss_limit_mb=2048 \
    -print_final_stats=1 -artifact_prefix="$crashes/" "$corpus" >"$log" 2>&1 || rc=$?
  summary=$(grep -E '^#[0-9]+.*(DONE|pulse|NEW|REDUCE)' "$log" | tail -n 1 || true)
  execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log")
  persec=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$log")
  if ((rc != 0)) || [[ -n $(ls -A "$crashes") ]]; then
    failed+=("$target")
    keep_work=1
    echo "fuzz: $target FAILED (exit $rc); last 40 lines of $log:" >&2
    tail -n 40 "$log" >&2
    for f in "$crashes"/*; do
      [[ -e $f ]] && echo "fuzz: reproducer: build-fuzz/$target $f" >&2
    done
  else
    echo "fuzz: $target ok: ${execs:-?} runs (${persec:-?}/s) in ${seconds} s; ${summary#*	}"
  fi
done

if ((${#failed[@]} > 0)); then
  echo "fuzz: crashed: ${failed[*]} (logs and reproducers kept in $work)" >&2
  exit 1
fi
echo "fuzz: all ${#targets[@]} targets ran ${seconds} s without a crash"
