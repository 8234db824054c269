#!/usr/bin/env bash
# The main job (README): set up, then build the recursive example with the
# default local store, and show that the inner result is in the closure.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
export PATH="$PWD/bin:$PATH"
exec bash examples/run.sh
