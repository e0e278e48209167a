"""README's main job keeps working: the demo runs to completion and does what it says."""

from __future__ import annotations

from pathlib import Path

import pytest

from localnet.demo import demo


def test_demo_runs_end_to_end(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    demo(tmp_path)
    out = capsys.readouterr().out
    assert "sent unstake request on market 0, amount 400.000000" in out
    assert "sent settle on market 0, amount 4.566210" in out
    assert "sent withdraw on market 0, amount 400.000000" in out
    assert "you     0       600,000,000" in out  # alice kept exactly her 600 USDC cap
