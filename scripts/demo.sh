#!/usr/bin/env bash
# The main job: set-up (once), then a demo on the embedded localnet — stake, revenue
# settle, unstake request, 13-day cooldown (time travel), withdraw — through the
# drift-if CLI, and a look at a recorded golden trace.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/bootstrap.sh
.venv/bin/python -m localnet.demo
echo
echo "\$ drift-if inspect i_interest --step 21   # state recorded from the real program"
.venv/bin/drift-if inspect i_interest --step 21
