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

    passes = out.split("$ drift-if keeper --config keeper.toml --once")[1:]
    assert len(passes) == 5
    first, on_the_hour, matured, repaid, next_day = passes
    # 00:00: alice's cap and exit requests; both settles wait for the hour
    assert "why: policy cap: the stake is worth more than 600.000000" in first
    assert "sent unstake request on market 1, amount 10.000000000" in first
    assert "waiting: settle on market 1 (next settle time), until 2026-01-01 01:00:00Z" in first
    # 01:00: both settles in one transaction, then bob's take-profit on the new price
    settles = [line for line in on_the_hour.splitlines() if line.startswith("sent settle")]
    assert len(settles) == 2 and len({line.rsplit("(", 1)[1] for line in settles}) == 1
    assert "for bob" in on_the_hour and "policy take-profit" in on_the_hour
    # the cooldown is over: the SOL exit lands, the USDC withdrawal waits on utilization
    assert "sent withdraw on market 1, amount 10.000000000 for alice" in matured
    assert "sent withdraw on market 0" not in matured
    assert "withdraw on market 0 for alice (utilization 85." in matured
    assert "above the withdraw limit 80%), acts on the next change" in matured
    # repaid: utilization 10% at once, the TWAP still above the limit
    assert "for alice (utilization 9.9999% (TWAP 84.9998%) above the withdraw limit 80%)" in repaid
    assert "sent" not in repaid
    # a day later the settle moves the TWAP down and both withdrawals follow it
    assert "sent withdraw on market 0, amount 400.000000 for alice" in next_day
    assert "sent withdraw on market 0, amount 1.711350 for bob" in next_day
    assert next_day.index("sent settle on market 0") < next_day.index("sent withdraw on market 0")
    assert "you     1                 0" in out  # alice left the SOL fund entirely
