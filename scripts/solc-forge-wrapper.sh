#!/usr/bin/env bash
# Makes the pinned solcjs (node_modules/solc, a WebAssembly build of solc) look enough like a native
# solc binary for forge, so forge runs offline without downloading a compiler. forge is pointed here
# by contracts/foundry.toml (`solc = ...`) or `forge --use <this file>`.
#
# What differs from native solc, and what this script does about it:
#   --version        solcjs prints "0.8.37+commit.f401782d.Emscripten.clang"; forge parses the last
#                    line of native output, "Version: <semver>", so that line is printed.
#   --allow-paths X  solcjs has no such option (it rejects it); dropped with its argument. The
#                    sources travel inside the standard JSON anyway.
#   --standard-json  solcjs prints ">>> ..." lines (e.g. "no SMT solvers available") before the JSON
#                    on stdout; they are dropped so stdout is exactly the JSON forge parses. And
#                    solcjs's stdin and stdout must be files, not pipes (see below).
# Every other argument goes to solcjs unchanged. BR2K_SOLC_WRAPPER_TRACE=<file> appends each
# received argument list to <file> (forge shows a compiler's stderr only when it fails).
set -euo pipefail

here=$(cd "$(dirname "$(readlink -f "${BASH_SOURCE[0]}")")" && pwd)
solcjs=${BR2K_SOLCJS:-$here/../node_modules/solc/solc.js}
node=${BR2K_NODE:-node}

if [[ ! -f $solcjs ]]; then
  echo "solc-forge-wrapper: $solcjs not found (run scripts/setup.sh)" >&2
  exit 1
fi

orig_args=("$@")
args=()
version=0
while (($#)); do
  case $1 in
    --allow-paths) shift ;; # and its argument, below
    --allow-paths=*) ;;
    --version | -V) version=1 ;;
    *) args+=("$1") ;;
  esac
  shift || true
done

if [[ -n ${BR2K_SOLC_WRAPPER_TRACE:-} ]]; then
  printf 'solc-forge-wrapper: %s\n' "${orig_args[*]}" >>"$BR2K_SOLC_WRAPPER_TRACE"
fi

if ((version)); then
  v=$("$node" "$solcjs" --version)
  printf 'solc, the solidity compiler commandline interface\nVersion: %s\n' "$v"
  exit 0
fi

# solcjs talks to files, not pipes, here. It reads stdin with readFileSync(stdin), which fails
# with EAGAIN when stdin is a pipe whose writer (forge) has not written yet; and it writes with
# console.log followed by process.exit, which cuts output to a pipe short at the pipe's buffer
# size (64 KiB). Files are read and written synchronously and completely.
tmp=$(mktemp -d "${TMPDIR:-/tmp}/solc-forge-wrapper.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
if [[ " ${args[*]} " == *" --standard-json "* ]]; then
  cat >"$tmp/input.json"
else
  : >"$tmp/input.json"
fi
rc=0
"$node" "$solcjs" "${args[@]}" <"$tmp/input.json" >"$tmp/output.json" || rc=$?
sed '/^>>>/d' "$tmp/output.json"
exit "$rc"
