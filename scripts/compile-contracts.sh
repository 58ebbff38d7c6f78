#!/usr/bin/env bash
# Compiles contracts/src/ServiceRegistry.sol with the pinned solcjs (node_modules/solc, from
# package-lock.json) and writes what the SDK embeds at build time:
#
#   <out-dir>/ServiceRegistry.abi.json  the ABI (JSON array)
#   <out-dir>/ServiceRegistry.bin       creation bytecode, hex without 0x and without a newline
#   <out-dir>/ServiceRegistry.json      contractName, compiler (version, settings), abi, bytecode,
#                                       deployedBytecode (both 0x-prefixed), methodIdentifiers
#
#   scripts/compile-contracts.sh <out-dir>
#
# Standard JSON, optimizer on (200 runs), EVM version "paris" (no PUSH0, so the bytecode also runs
# on chains that have not adopted Shanghai; anvil runs it too). Fails on any compiler error or
# warning, and then leaves <out-dir> untouched (outputs are written to temporary files, then
# renamed). Environment: BR2K_NODE, the node binary (default: node on PATH).
set -euo pipefail

if (($# != 1)); then
  echo "usage: $0 <out-dir>" >&2
  exit 2
fi
repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
out=$1
mkdir -p "$out"

BR2K_REPO=$repo BR2K_OUT=$out exec "${BR2K_NODE:-node}" - <<'EOF'
'use strict';
const fs = require('fs');
const path = require('path');

const repo = process.env.BR2K_REPO;
const out = process.env.BR2K_OUT;
const solc = require(path.join(repo, 'node_modules', 'solc'));
const contract = 'ServiceRegistry';
// The source key is the path forge uses too (relative to contracts/), so metadata names match.
const sourceKey = 'src/ServiceRegistry.sol';

const settings = {
  optimizer: { enabled: true, runs: 200 },
  evmVersion: 'paris',
  outputSelection: {
    [sourceKey]: {
      [contract]: ['abi', 'evm.bytecode.object', 'evm.deployedBytecode.object', 'evm.methodIdentifiers'],
    },
  },
};
const input = {
  language: 'Solidity',
  sources: { [sourceKey]: { content: fs.readFileSync(path.join(repo, 'contracts', sourceKey), 'utf8') } },
  settings,
};
// No import callback: the registry imports nothing, and an import must fail loudly, not be found
// somewhere on this machine.
const output = JSON.parse(solc.compile(JSON.stringify(input)));

let failed = false;
for (const e of output.errors || []) {
  if (e.severity === 'info') continue;
  console.error(e.formattedMessage || e.message);
  failed = true; // errors and warnings alike
}
const compiled = output.contracts && output.contracts[sourceKey] && output.contracts[sourceKey][contract];
if (!failed && (!compiled || !compiled.evm.bytecode.object)) {
  console.error(`compile-contracts: solc produced no bytecode for ${contract}`);
  failed = true;
}
if (failed) {
  console.error(`compile-contracts: compiling ${sourceKey} failed (solc ${solc.version()})`);
  process.exit(1);
}

const artifact = {
  contractName: contract,
  sourceName: sourceKey,
  compiler: { version: solc.version(), settings: { optimizer: settings.optimizer, evmVersion: settings.evmVersion } },
  abi: compiled.abi,
  bytecode: '0x' + compiled.evm.bytecode.object,
  deployedBytecode: '0x' + compiled.evm.deployedBytecode.object,
  methodIdentifiers: compiled.evm.methodIdentifiers,
};
const files = {
  [`${contract}.abi.json`]: JSON.stringify(compiled.abi, null, 2) + '\n',
  [`${contract}.bin`]: compiled.evm.bytecode.object,
  [`${contract}.json`]: JSON.stringify(artifact, null, 2) + '\n',
};
for (const [name, text] of Object.entries(files)) {
  const target = path.join(out, name);
  fs.writeFileSync(target + '.tmp', text);
  fs.renameSync(target + '.tmp', target);
}
console.log(`compile-contracts: ${contract} (solc ${solc.version()}) -> ${out}`);
EOF
