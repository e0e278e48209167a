"""The staker CLI end to end against a Drift localnet: stake, settle, cooldown, withdraw.

The cluster runs in its own thread; the CLI runs exactly as a user runs it (`main`
with argv, its own event loop, RPC over loopback). With DRIFT_PROGRAM_SO set the same
flow runs against the real program binary.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from localnet_support import SUITE_PROFILE, first_settle_seeds_cap

from keeper.app.cli import main
from localnet.embedded import EmbeddedLocalnet

START_TS = 1_767_225_600  # 2026-01-01T00:00:00Z, on the hour


@pytest.fixture(scope="module")
def drift_net(tmp_path_factory: pytest.TempPathFactory) -> Iterator[EmbeddedLocalnet]:
    with EmbeddedLocalnet(SUITE_PROFILE, tmp_path_factory.mktemp("keys"), start_ts=START_TS) as net:
        yield net



def _yes(argv: tuple[str, ...]) -> list[str]:
    """Commands that send confirm on a terminal; tests have none, so they pass -y."""
    return [] if argv[0] in ("status", "markets") else ["-y"]

def cli(
    net: EmbeddedLocalnet, capsys: pytest.CaptureFixture[str], *argv: str, who: str = "alice"
) -> tuple[int, dict[str, object], str]:
    code = main([*argv, "-u", net.url, "-k", str(net.keys[who]), "--json", *_yes(argv)])
    out = capsys.readouterr()
    doc = json.loads(out.out) if out.out.strip() else {}
    return code, doc, out.err


def test_stake_settle_cooldown_withdraw(
    drift_net: EmbeddedLocalnet, capsys: pytest.CaptureFixture[str]
) -> None:
    code, doc, err = cli(drift_net, capsys, "stake", "1000")
    assert code == 0, err
    assert doc["figures"] == {"amount": 1_000_000_000, "sharesMinted": 1_000_000_000}
    assert doc["matchesPrediction"] is True
    code, doc, err = cli(drift_net, capsys, "stake", "3000", who="bob")
    assert code == 0 and doc["matchesPrediction"] is True, err

    # Revenue arrives (a donation by the keeper wallet here), and is settled on the hour.
    assert cli(drift_net, capsys, "deposit-revenue", "2000", who="alice")[0] == 0
    code, _, err = cli(drift_net, capsys, "settle", who="bob")
    assert code == 1 and "RevenueSettingsCannotSettleToIF" in err and "Must wait" in err
    drift_net.travel(3600)
    if first_settle_seeds_cap(SUITE_PROFILE):
        code, doc, err = cli(drift_net, capsys, "settle", who="bob")
        assert code == 0 and doc["figures"] == {"amount": 0}, err
        drift_net.travel(3600)
    code, doc, err = cli(drift_net, capsys, "settle", who="bob")
    assert code == 0, err
    # min(pool / 10, vault x 1000% APR per hourly period) = min(200, 4000 x 10 / 8760)
    assert doc["figures"] == {"amount": 4_566_210}

    code, doc, err = cli(drift_net, capsys, "status")
    assert code == 0, err
    market = doc["markets"][0]
    assert market["ifVaultAmount"] == 4_004_566_210
    alice = doc["stakes"][0]
    assert alice["shares"] == 1_000_000_000 and alice["valueAmount"] > 1_000_000_000

    code, doc, err = cli(drift_net, capsys, "unstake", "400")
    assert code == 0, err
    assert doc["figures"]["amount"] == 400_000_000
    code, _, err = cli(drift_net, capsys, "withdraw")
    assert code == 1 and "TryingToRemoveLiquidityTooFast" in err  # predicted, nothing sent
    drift_net.travel(13 * 86_400)
    code, doc, err = cli(drift_net, capsys, "withdraw")
    assert code == 0 and doc["matchesPrediction"] is True, err
    assert 399_000_000 <= int(doc["figures"]["amount"]) <= 400_000_000  # type: ignore[call-overload]
    code, doc, _ = cli(drift_net, capsys, "status")
    assert doc["stakes"][0]["requestShares"] == 0
    assert doc["walletTokenAccounts"]  # the wallet was read along


def test_bad_input_changes_nothing(
    drift_net: EmbeddedLocalnet, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    code, _, err = cli(drift_net, capsys, "stake", "1.0000001")
    assert code == 2 and "more than 6 decimal places" in err
    code, _, err = cli(drift_net, capsys, "stake", "100000000")
    assert code == 1 and "less than the" in err
    code, _, err = cli(
        drift_net, capsys, "cancel", who="carol" if "carol" in drift_net.keys else "keeper"
    )
    assert code == 1 and "has no insurance fund stake" in err
    bad_key = tmp_path / "bad.json"
    bad_key.write_text("[1, 2, 3]")
    assert main(["status", "-u", drift_net.url, "-k", str(bad_key)]) == 1
    assert "array of 64 bytes" in capsys.readouterr().err
    code, _, err = cli(drift_net, capsys, "stake", "1", "--market", "9")
    assert code == 1 and "spot market 9 does not exist" in err
