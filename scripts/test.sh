#!/usr/bin/env bash
# The test command: set-up (once), lint, type check, the installed wheel's entry points,
# then the whole pytest suite.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/bootstrap.sh
.venv/bin/ruff check keeper localnet tests benchmarks
.venv/bin/mypy
bash scripts/check_install.sh 2> >(grep -v "Location '.*' is ignored" >&2)
exec .venv/bin/pytest "$@"
