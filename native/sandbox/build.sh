#!/bin/sh
# Builds the sandbox's native helper (tix-sandbox.c) into dist/native/, when it
# is missing or older than its source. Without a C compiler it does nothing:
# tix then sandboxes builds with perl + bubblewrap (see docs/sandbox.md).
set -eu
cd "$(dirname "$0")/../.."
src=native/sandbox/tix-sandbox.c
out=dist/native/tix-sandbox
[ "$(uname -s)" = Linux ] || exit 0
cc=${CC:-$(command -v gcc || command -v cc || true)}
if [ -z "$cc" ]; then
  echo "native/sandbox: no C compiler; the sandbox uses bubblewrap" >&2
  exit 0
fi
if [ -x "$out" ] && [ ! "$src" -nt "$out" ]; then exit 0; fi
mkdir -p dist/native
tmp="$out.tmp.$$"
if "$cc" -O2 -Wall -o "$tmp" "$src"; then
  mv -f "$tmp" "$out" # a rename: helpers running the old binary keep it
else
  rm -f "$tmp"
  echo "native/sandbox: could not compile $src; the sandbox uses bubblewrap" >&2
fi
