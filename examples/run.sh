#!/usr/bin/env bash
# Builds examples/recursive.nix with tix (default local store) and prints the
# closure of the result, which must include the inner build's output.
set -euo pipefail
cd "$(dirname "$0")"
export TIX_EXAMPLE_PATH="$(cd .. && pwd)/bin:/usr/bin:/bin"
opts=(--option experimental-features "nix-command recursive-nix")
out=$(nix-build "${opts[@]}" recursive.nix -o result)
echo "built: $out"
echo "closure of ./result:"
nix-store -qR ./result
cat result/message
