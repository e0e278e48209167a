#!/usr/bin/env bash
# The main job: set-up (once), then the CLI's read-only commands on the bundled golden
# traces. The end-to-end keeper demo on the embedded localnet replaces this later.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/bootstrap.sh
run() { echo; echo "\$ drift-if $*"; .venv/bin/drift-if "$@"; }
run profiles
run inspect a_single --step 2
run inspect b_two
run inspect i_interest --step 21
run inspect j_non_quote
