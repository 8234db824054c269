#!/usr/bin/env bash
# Builds examples/recursive.nix with tix (default local store) and prints the
# closure of the result, which must include the inner build's output.
# The builder runs tix's own nix-build, so under the sandbox (tix's default,
# as Nix's on Linux) the repository, node and the shell tools are made visible
# with extra-sandbox-paths. Everything stays offline.
set -euo pipefail
cd "$(dirname "$0")"
repo="$(cd .. && pwd)"
export TIX_EXAMPLE_PATH="$repo/bin:/usr/bin:/bin"
opts=(--option experimental-features "nix-command recursive-nix"
      --option extra-sandbox-paths "/bin /usr /lib /lib64? /etc/ld.so.cache? $repo")
out=$(nix-build "${opts[@]}" recursive.nix -o result)
echo "built: $out"
echo "closure of ./result:"
nix-store -qR ./result
cat result/message
