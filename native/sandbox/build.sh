#!/bin/sh
# Builds the sandbox's native helper (tix-sandbox.c, sandbox.c, mounts.c, util.c) into
# dist/native/, when it is missing or older than its sources. Without a C
# compiler it builds nothing: tix then sandboxes builds with perl + bubblewrap
# (see docs/sandbox.md). A binary older than its sources is never left behind.
set -eu
cd "$(dirname "$0")/../.."
srcs="native/sandbox/tix-sandbox.c native/sandbox/sandbox.c native/sandbox/mounts.c native/sandbox/util.c"
out=dist/native/tix-sandbox
[ "$(uname -s)" = Linux ] || exit 0
stale=
for s in $srcs native/sandbox/util.h native/sandbox/mounts.h; do [ "$s" -nt "$out" ] && stale=1; done
if [ -x "$out" ] && [ -z "$stale" ]; then exit 0; fi
cc=${CC:-$(command -v gcc || command -v cc || true)}
if [ -z "$cc" ]; then
  rm -f "$out"
  echo "native/sandbox: no C compiler; the sandbox uses bubblewrap" >&2
  exit 0
fi
mkdir -p dist/native
tmp="$out.tmp.$$"
# Static when the C library allows it: no dynamic loading when a build starts its helper
# (0.2-0.5 ms of the first sandboxed build of a process).
if "$cc" -O2 -Wall -static -o "$tmp" $srcs 2>/dev/null || "$cc" -O2 -Wall -o "$tmp" $srcs; then
  mv -f "$tmp" "$out" # a rename: helpers running the old binary keep it
else
  rm -f "$tmp" "$out"
  echo "native/sandbox: could not compile native/sandbox; the sandbox uses bubblewrap" >&2
fi
