"""The staker CLI end to end on a Velocity localnet: the rules Velocity changed.

The same flow as test_cli_flow (stake, revenue, settle, unstake, cooldown, withdraw)
under the `velocity` profile, asserting what differs from Drift: the first settle
after stakers appear only seeds the APR-cap base (books 0), the next is capped on
min(NAV, last-settle NAV), the booked claim is `get_spot_balance(round_up)` (one
scaled unit more than the tokens), an add below one share's price is refused before
anything is sent (IFDepositMintsZeroShares), a withdraw reports only what reaches the
wallet although its implicit settle moves revenue too, and no protocol shares exist.
With DRIFT_PROGRAM_SO naming a Velocity binary the same flow runs against it.
"""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest

from keeper.app.cli import main
from keeper.core.profile import VELOCITY
from localnet.embedded import EmbeddedLocalnet

START_TS = 1_767_225_600  # 2026-01-01T00:00:00Z, on the hour
HOUR = 3600


@pytest.fixture(scope="module")
def net(tmp_path_factory: pytest.TempPathFactory) -> Iterator[EmbeddedLocalnet]:
    with EmbeddedLocalnet(VELOCITY, tmp_path_factory.mktemp("keys"), start_ts=START_TS) as n:
        yield n


def cli(
    net: EmbeddedLocalnet, capsys: pytest.CaptureFixture[str], *argv: str, who: str = "alice"
) -> tuple[int, dict[str, object], str]:
    yes = [] if argv[0] in ("status", "markets") else ["-y"]
    code = main(
        [*argv, "-u", net.url, "-k", str(net.keys[who]), "--profile", "velocity", "--json", *yes]
    )
    out = capsys.readouterr()
    doc = json.loads(out.out) if out.out.strip() else {}
    return code, doc, out.err


def test_velocity_stake_settle_cooldown_withdraw(
    net: EmbeddedLocalnet, capsys: pytest.CaptureFixture[str]
) -> None:
    code, doc, err = cli(net, capsys, "stake", "1000")
    assert code == 0, err
    assert doc["figures"] == {"amount": 1_000_000_000, "sharesMinted": 1_000_000_000}
    assert doc["matchesPrediction"] is True
    code, doc, err = cli(net, capsys, "stake", "3000", who="bob")
    assert code == 0 and doc["matchesPrediction"] is True, err

    assert cli(net, capsys, "deposit-revenue", "2000")[0] == 0
    code, _, err = cli(net, capsys, "settle", who="bob")
    assert code == 1 and "RevenueSettingsCannotSettleToIF" in err
    # The first settle with stakers seeds the cap base (last-settle NAV was 0): books 0.
    net.travel(HOUR)
    code, doc, err = cli(net, capsys, "settle", who="bob")
    assert code == 0 and doc["matchesPrediction"] is True, err
    assert doc["figures"] == {"amount": 0}
    # Then min(pool / 10, min(NAV, last-settle NAV) x 1000% APR / 8760 periods).
    net.travel(HOUR)
    code, doc, err = cli(net, capsys, "settle", who="bob")
    assert code == 0 and doc["matchesPrediction"] is True, err
    assert doc["figures"] == {"amount": 4_000_000_000 * 10 // 8760}  # 4_566_210

    code, doc, err = cli(net, capsys, "status")
    assert code == 0, err
    market = doc["markets"][0]
    assert market["ifVaultAmount"] == market["nav"] == 4_004_566_210
    assert market["protocolShares"] == 0 and market["totalShares"] == 4_000_000_000
    # 4_566_210 tokens booked as 4_566_210_001 scaled units (round-up adds one).
    assert market["revenuePoolAmount"] == (2_000_000_000_000 - 4_566_210_001) // 1000

    # Below one share's price (NAV / T > 1 unit) an add mints no share: refused, unsent.
    code, _, err = cli(net, capsys, "stake", "0.000001")
    assert code == 1 and "IFDepositMintsZeroShares" in err

    code, doc, err = cli(net, capsys, "unstake", "400")
    assert code == 0 and doc["matchesPrediction"] is True, err
    figures = doc["figures"]
    assert isinstance(figures, dict)
    # n = floor(400e6 x T / NAV); the value frozen is what those shares are worth now.
    assert figures["sharesRequested"] == 400_000_000 * 4_000_000_000 // 4_004_566_210
    frozen = figures["valueFrozen"]
    assert frozen == figures["sharesRequested"] * 4_004_566_210 // 4_000_000_000

    net.travel(13 * 86_400)
    code, doc, err = cli(net, capsys, "withdraw")
    assert code == 0 and doc["matchesPrediction"] is True, err
    # The remove settles first (revenue reaches the vault) but pays at most the frozen value.
    assert doc["figures"] == {"amount": frozen}
    code, doc, _ = cli(net, capsys, "status")
    assert doc["stakes"][0]["requestShares"] == 0


def test_velocity_stake_says_what_whole_shares_leave_in_the_wallet(
    net: EmbeddedLocalnet, capsys: pytest.CaptureFixture[str]
) -> None:
    """At a share price of about 2.5 tokens, `stake` takes only the price of the whole
    shares it mints and says so before signing; the rest stays in the wallet."""
    code, status, err = cli(net, capsys, "status", who="bob")
    assert code == 0, err
    total = int(status["markets"][0]["totalShares"])
    nav = total * 5 // 2 + 1  # the fund gained: 2.5 tokens a share (and a unit)
    vault = VELOCITY.addresses.insurance_fund_vault(0)
    net.cheat("localnet_setTokenAccountBalance", [str(vault), nav])
    def priced(amount: int) -> tuple[int, int]:  # n = floor(a·T/NAV), cost = ceil(n·NAV/T)
        shares = amount * total // nav
        return shares, -(-shares * nav // total)

    # the first amount above 10 tokens that buys its shares for less than itself
    amount = next(a for a in range(10_000_000, 10_000_010) if priced(a)[1] < a)
    shares, cost = priced(amount)
    typed = f"{amount // 10**6}.{amount % 10**6:06d}"
    code, _, text = run_text(net, capsys, "stake", typed, "--dry-run", who="bob")
    assert code == 0, text
    assert "stays in the wallet" in text and f"{shares:,} shares" in text
    code, doc, err = cli(net, capsys, "stake", typed, who="bob")
    assert code == 0 and doc["matchesPrediction"] is True, err
    assert doc["figures"] == {
        "amount": amount,
        "sharesMinted": shares,
        "costAmount": cost,
        "remainderAmount": amount - cost,
    }


def run_text(
    net: EmbeddedLocalnet, capsys: pytest.CaptureFixture[str], *argv: str, who: str
) -> tuple[int, None, str]:
    code = main([*argv, "-u", net.url, "-k", str(net.keys[who]), "--profile", "velocity"])
    out = capsys.readouterr()
    return code, None, out.out + out.err
