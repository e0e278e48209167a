#!/usr/bin/env bash
# The main job: set-up (once), then a demo on the embedded localnet — one keeper for
# two wallets over two markets: settle periods (batched settles), policy-driven unstake
# requests, a stretch of utilization above the keeper's limit, the 13-day cooldown
# (time travel) and the withdrawals — printed as a timeline of what the keeper did and
# why, through the drift-if CLI; then a look at a recorded golden trace.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/bootstrap.sh
.venv/bin/python -m localnet.demo
echo
echo "\$ drift-if inspect i_interest --step 21   # state recorded from the real program"
.venv/bin/drift-if inspect i_interest --step 21
