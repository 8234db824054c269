#!/usr/bin/env bash
# The test command (README): installs what the tests need, builds, runs every test.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
mapfile -t files < <(find dist/src dist/test -name '*.test.js' | sort)
# Node 20's runner takes explicit files (no globs). Files run in parallel processes.
exec node --test --test-reporter=spec --test-reporter-destination=stdout "${files[@]}"
