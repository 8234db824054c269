#!/usr/bin/env bash
# Installs what tix and its tests need when it is missing, then builds.
# Safe to run repeatedly: each step is skipped when already satisfied.
set -euo pipefail
cd "$(dirname "$0")/.."

need_apt=()
command -v /usr/bin/nix-store >/dev/null 2>&1 || need_apt+=(nix-bin)   # the reference Nix 2.8 (differential tests)
command -v bwrap >/dev/null 2>&1 || need_apt+=(bubblewrap)             # the build sandbox
command -v unshare >/dev/null 2>&1 || need_apt+=(util-linux)
command -v gcc >/dev/null 2>&1 || need_apt+=(gcc)                      # the sandbox's native helper (native/sandbox)
command -v sqlite3 >/dev/null 2>&1 || need_apt+=(sqlite3)              # tests inspect the store database
if [ ${#need_apt[@]} -gt 0 ]; then
  if [ "$(id -u)" = 0 ]; then
    echo "setup: installing ${need_apt[*]}" >&2
    apt-get update -qq >/dev/null
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need_apt[@]}" >/dev/null
  else
    echo "setup: missing ${need_apt[*]} and not root; tests that need them will be skipped" >&2
  fi
fi

if [ ! -d node_modules ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  npm ci --no-audit --no-fund --loglevel=error
fi
# The sandbox's native helper (before the TypeScript build, which it does not need); without a
# compiler tix sandboxes with perl + bubblewrap.
sh native/sandbox/build.sh
npm run --silent build
