#!/usr/bin/env bash
# Boot a real solana-test-validator with a Drift program binary and our genesis.
#   DRIFT_PROGRAM_SO=/path/to/drift.so localnet/start-test-validator.sh [ledger-dir]
# Needs `solana-test-validator` on PATH (not installable on the CI machines here).
set -euo pipefail
cd "$(dirname "$0")/.."
: "${DRIFT_PROGRAM_SO:?set DRIFT_PROGRAM_SO to a Drift program .so}"
PROGRAM_ID=${DRIFT_PROGRAM_ID:-dRiftyHA39MWEi3m9aunc5MzRF1JYuBsbn6VPcn33UH}
LEDGER=${1:-.localnet-ledger}
command -v solana-test-validator >/dev/null || { echo "solana-test-validator is not installed" >&2; exit 1; }
OUT=$(mktemp -d)
.venv/bin/python -m localnet.genesis "$OUT" --program-id "$PROGRAM_ID"
args=(--reset --ledger "$LEDGER" --bpf-program "$PROGRAM_ID" "$DRIFT_PROGRAM_SO")
for f in "$OUT"/accounts/*.json; do
  args+=(--account "$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["pubkey"])' "$f")" "$f")
done
echo "keypairs in $OUT/keypairs"
exec solana-test-validator "${args[@]}"
