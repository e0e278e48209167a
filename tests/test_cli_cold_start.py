"""The CLI's cold start stays light: the path to `status`'s first RPC call imports
neither AnchorPy nor solana-py nor Rich (benchmarks/cli_cold_start.py times it)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
HEAVY = ("anchorpy", "anchorpy_core", "solana", "rich")


def test_the_status_path_imports_no_heavy_library() -> None:
    probe = (
        "import sys\n"
        "import keeper.app.cli.app, keeper.app.cli.read_commands, keeper.app.cli.connect\n"
        "import keeper.app.session, keeper.cluster.http_reader, keeper.cluster.reader\n"
        "keeper.app.cli.app._command_table()\n"
        f"print(','.join(m for m in {HEAVY!r} if m in sys.modules))\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, cwd=ROOT, check=True
    )
    assert out.stdout.strip() == "", f"loaded on the cold path: {out.stdout.strip()}"
