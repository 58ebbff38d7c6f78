#!/usr/bin/env bash
# The test command of BR2K: sets up the machine, builds, runs the tests, installs into a temporary
# prefix and builds the consumer example against it, then checks formatting. Fails on any failure.
#
#   scripts/test.sh                          everything
#   scripts/test.sh -L unit                  arguments go to ctest (here: only the unit tests)
#   BR2K_SANITIZE=address scripts/test.sh    ASan+UBSan build in build-address/ ('thread': TSan)
#
# Environment: BR2K_SANITIZE (empty, address or thread); BR2K_TEST_TIMEOUT, the per-test timeout in
# seconds for tests that set none themselves (default 300); BR2K_FUZZ_SECONDS, how long each fuzz
# target runs (default 10; scripts/fuzz.sh). Needs no stdin.
set -euo pipefail

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$repo"

bash scripts/setup.sh

sanitize=${BR2K_SANITIZE:-}
case $sanitize in
  "") build=build ;;
  address | thread) build=build-$sanitize ;;
  *)
    echo "test: BR2K_SANITIZE must be empty, 'address' or 'thread', not '$sanitize'" >&2
    exit 2
    ;;
esac
jobs=$(nproc)

step() { printf '\n== %s\n' "$*"; }

step "configure $build/ (RelWithDebInfo${sanitize:+, sanitize=$sanitize})"
cmake -S . -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DBR2K_SANITIZE="$sanitize"

step "build ($jobs jobs)"
cmake --build "$build" --parallel "$jobs"

step "ctest $*"
ctest --test-dir "$build" --output-on-failure --no-tests=error \
  --timeout "${BR2K_TEST_TIMEOUT:-300}" "$@"

# The libFuzzer targets (fuzz/), briefly; not in sanitizer runs (they have their own) nor when
# ctest arguments choose tests.
if [[ -z $sanitize && $# -eq 0 ]]; then
  step "fuzz (each target ${BR2K_FUZZ_SECONDS:-10} s)"
  bash scripts/fuzz.sh "${BR2K_FUZZ_SECONDS:-10}"
fi

step "install into a temporary prefix; build and run examples/consumer against it"
tmp=$(mktemp -d "${TMPDIR:-/tmp}/br2k-test.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
cmake --install "$build" --prefix "$tmp/prefix" >/dev/null
# A sanitized install holds sanitized static libraries; the consumer must link the runtime too.
consumer_flags=()
case $sanitize in
  address) consumer_flags=(-DCMAKE_CXX_FLAGS=-fsanitize=address,undefined) ;;
  thread) consumer_flags=(-DCMAKE_CXX_FLAGS=-fsanitize=thread) ;;
esac
cmake -S examples/consumer -B "$tmp/consumer" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo \
  -DCMAKE_PREFIX_PATH="$tmp/prefix" "${consumer_flags[@]}" >/dev/null
cmake --build "$tmp/consumer" --parallel "$jobs"
"$tmp/consumer/br2k_consumer"

step "format check (clang-format over the tracked *.cpp and *.hpp files)"
cmake --build "$build" --target format-check

printf '\ntest: all passed (%s)\n' "$build"
