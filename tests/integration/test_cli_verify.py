"""A one-shot command reads back every account the mirror predicted to change.

On a localnet the mirror is exact, so a prediction is skewed on purpose (the planner
wrapped): each account it got wrong is reported with both values, the others not.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from localnet_support import SUITE_PROFILE
from solders.pubkey import Pubkey

from keeper.app.cli import main
from keeper.app.solana_config import load_keypair
from keeper.core.snapshot import Snapshot
from keeper.program.planner import Planner
from localnet.embedded import EmbeddedLocalnet

START_TS = 1_767_225_600


@pytest.fixture
def net(tmp_path: Path) -> Iterator[EmbeddedLocalnet]:
    with EmbeddedLocalnet(SUITE_PROFILE, tmp_path / "keys", start_ts=START_TS) as n:
        yield n


def _skewed_stake(monkeypatch: pytest.MonkeyPatch) -> None:
    """Predict one token unit too many into the fund, and one share too many in the
    market's total (not in the stake): three accounts wrong, the stake right."""
    original = Planner.stake

    def stake(self: Planner, snap: Snapshot, who: Pubkey, index: int, amount: int) -> Any:
        plan = original(self, snap, who, index, amount)
        effect = plan.effect
        assert effect.market is not None
        fund = effect.market.insurance_fund
        market = dataclasses.replace(
            effect.market,
            insurance_fund=dataclasses.replace(fund, total_shares=fund.total_shares + 1),
        )
        moves = tuple(dataclasses.replace(t, amount=t.amount + 1) for t in effect.transfers)
        return dataclasses.replace(
            plan, effect=dataclasses.replace(effect, market=market, transfers=moves)
        )

    monkeypatch.setattr(Planner, "stake", stake)


def test_a_stake_reports_each_account_that_landed_differently_with_both_values(
    net: EmbeddedLocalnet, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    on = ("-u", net.url, "-k", str(net.keys["alice"]), "-y")
    assert main(["stake", "100", *on]) == 0
    text = capsys.readouterr().out
    assert "differs from the mirror" not in text  # the exact mirror: nothing to report
    _skewed_stake(monkeypatch)
    assert main(["stake", "100", *on, "--json"]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert doc["matchesPrediction"] is False
    found = doc["mismatches"]
    alice = load_keypair(str(net.keys["alice"])).pubkey()
    by_account = {m.split(" (")[0] for m in found}
    assert by_account == {"spot market 0", "IF vault of market 0", f"token account of {alice}"}
    shares = next(m for m in found if "total_shares" in m)
    vault = next(m for m in found if m.startswith("IF vault"))
    # both values, the prediction one more than what landed
    predicted, read = (int(x) for x in vault.split("amount: predicted ")[1].split(", read "))
    assert predicted == read + 1
    predicted, read = (
        int(x) for x in shares.split("total_shares: predicted ")[1].split(", read ")
    )
    assert predicted == read + 1
    assert not any(m.startswith("stake of") for m in found)  # the stake was predicted right
    # the text output says the same, with a way forward
    assert main(["stake", "50", *on]) == 0
    text = capsys.readouterr().out
    assert "differs from the mirror's prediction" in text and "IF vault of market 0" in text


def test_a_stake_made_in_genesis_is_one_the_program_accepts(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from localnet.genesis import GenesisSpec, MarketSpec, StakerSpec

    spec = GenesisSpec(
        markets=(MarketSpec(0, "USDC", 6),),
        stakers=(StakerSpec("w0", stakes=((0, 5_000_000),)),),
        created_ts=START_TS,
    )
    with EmbeddedLocalnet(SUITE_PROFILE, tmp_path / "keys", start_ts=START_TS, spec=spec) as net:
        on = ("-u", net.url, "-k", str(net.keys["w0"]), "-y", "--json")
        assert main(["unstake", "--all", *on]) == 0
        doc = json.loads(capsys.readouterr().out)
    assert doc["figures"]["sharesRequested"] == 5_000_000
    assert doc["matchesPrediction"] is True and doc["mismatches"] == []
