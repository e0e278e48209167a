#!/usr/bin/env bash
# The test command: set-up (once), lint, type check, the installed wheel's entry points,
# then the whole pytest suite, and the CLI and keeper suites once more under the
# Velocity profile (its IDL, rules and localnet model).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/bootstrap.sh
.venv/bin/ruff check keeper localnet tests benchmarks
.venv/bin/mypy
bash scripts/check_install.sh 2> >(grep -v "Location '.*' is ignored" >&2)
.venv/bin/pytest "$@"
# (not with DRIFT_PROGRAM_SO: a real binary is one program, tested under its own profile)
if [ "$#" -eq 0 ] && [ -z "${DRIFT_PROGRAM_SO:-}" ]; then
    echo "== the CLI and keeper suites under the velocity profile"
    DRIFT_IF_SUITE_PROFILE=velocity .venv/bin/pytest -q \
        tests/integration/test_cli_flow.py tests/integration/test_cli_staker.py \
        tests/integration/test_cli_verify.py tests/integration/test_keeper_daemon.py \
        tests/integration/test_keeper_operator.py tests/integration/test_keeper_faults.py
fi
