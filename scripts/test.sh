#!/usr/bin/env bash
# The test command: set-up (once), lint, type check, then the whole pytest suite.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/bootstrap.sh
.venv/bin/ruff check keeper localnet tests benchmarks
.venv/bin/mypy
exec .venv/bin/pytest "$@"
