#!/usr/bin/env bash
# Sets up a Debian 12 (bookworm) machine to build and test BR2K: pinned apt packages, then the pinned
# node tools (anvil, forge, solc) from package-lock.json into node_modules/.
#
# Idempotent and fast when nothing changed: apt is not touched (not even `apt-get update`) when every
# package is already installed at its pinned version, and `npm ci` runs only when node_modules/ is
# missing or package.json / package-lock.json changed since the last install.
# Run as root; as another user it uses sudo if there is one. Needs no stdin.
set -euo pipefail

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)

# Exact versions from `apt-cache policy <pkg>` on Debian 12. When a Debian point or security release
# replaces one of them, the install fails with "Version ... was not found": update the pin here.
pinned=(
  build-essential=12.9
  g++=4:12.2.0-3
  cmake=3.25.1-1
  ninja-build=1.11.1-2~deb12u1
  ccache=4.8+really4.7.5-1
  pkg-config=1.8.1-1
  clang-format=1:14.0-55.7~deb12u1
  clang-14=1:14.0.6-12
  libclang-rt-14-dev=1:14.0.6-12
  libboost1.81-all-dev=1.81.0-5+deb12u1
  libcurl4-openssl-dev=7.88.1-10+deb12u15
  libssl-dev=3.0.22-1~deb12u2
  openssl=3.0.22-1~deb12u2
  nlohmann-json3-dev=3.11.2-2
  libspdlog-dev=1:1.10.0+ds-0.4
  libgtest-dev=1.12.1-0.2
  libgmock-dev=1.12.1-0.2
  libsecp256k1-dev=0.2.0-2
  etcd-server=3.4.23-4+b4
  etcd-client=3.4.23-4+b4
  wrk=4.1.0-3+b2
  haproxy=2.6.12-1+deb12u4
  curl=7.88.1-10+deb12u15
  iproute2=6.1.0-3
  nftables=1.0.6-2+deb12u2
  iptables=1.8.9-2
  libnetfilter-queue-dev=1.0.5-3
)

as_root=()
if [[ $(id -u) -ne 0 ]]; then
  if command -v sudo >/dev/null; then
    as_root=(sudo)
  fi
fi

# Runs a command with its output held back; shows the output only if the command fails.
quietly() {
  local log rc=0
  log=$(mktemp)
  "$@" >"$log" 2>&1 || rc=$?
  ((rc == 0)) || cat "$log" >&2
  rm -f "$log"
  return "$rc"
}

apt_get() {
  if [[ $(id -u) -ne 0 && ${#as_root[@]} -eq 0 ]]; then
    echo "setup: need root (or sudo) to run apt-get $*" >&2
    return 1
  fi
  "${as_root[@]}" env DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=300 "$@" </dev/null
}

# --- apt ---------------------------------------------------------------------------------------
# One dpkg-query for all packages; a package counts only if installed ("install ok installed") at
# exactly the pinned version.
declare -A have=()
while IFS=$'\t' read -r name status version; do
  if [[ $status == "install ok installed" ]]; then have[$name]=$version; fi
done < <(dpkg-query -W -f='${Package}\t${Status}\t${Version}\n' "${pinned[@]%%=*}" 2>/dev/null || true)

missing=()
for spec in "${pinned[@]}"; do
  [[ ${have[${spec%%=*}]:-} == "${spec#*=}" ]] || missing+=("$spec")
done
# Node is not pinned here: a fresh machine has it, and its candidate depends on the apt sources.
command -v node >/dev/null || missing+=(nodejs)

apt_note="apt: ${#pinned[@]} pinned packages present"
if ((${#missing[@]} > 0)); then
  quietly apt_get update
  quietly apt_get install -y --no-install-recommends "${missing[@]}"
  apt_note="apt: installed ${missing[*]}"
fi
# Debian's nodejs comes without npm (NodeSource's includes it), so npm is checked after nodejs.
if ! command -v npm >/dev/null; then
  ((${#missing[@]} > 0)) || quietly apt_get update
  quietly apt_get install -y --no-install-recommends npm
  apt_note+=" npm"
fi

# --- npm ---------------------------------------------------------------------------------------
# The stamp holds the hash of the manifest and lock that node_modules/ was installed from.
stamp="$repo/node_modules/.br2k-setup-stamp"
want=$(cat "$repo/package.json" "$repo/package-lock.json" | sha256sum | cut -d' ' -f1)
npm_note="npm: node_modules up to date"
if [[ ! -d $repo/node_modules || ! -f $stamp || $(<"$stamp") != "$want" ]]; then
  start=$SECONDS
  # No package of ours needs an install script; --ignore-scripts keeps npm ci from fetching more.
  (cd "$repo" && quietly npm ci --ignore-scripts --prefer-offline --no-audit --no-fund </dev/null)
  echo "$want" >"$stamp"
  npm_note="npm: ran npm ci ($((SECONDS - start)) s)"
fi

echo "setup: $apt_note; $npm_note"
