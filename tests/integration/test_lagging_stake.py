"""A stake whose base lags its market's, end to end: the program's next touch rebases it.

The market is rebased behind the stake's back (as after a large IF loss); `status`
values the stake as rebased, and `unstake --all` requests every share by adding one
base unit first (the only touch that rebases a stake with no request pending), in one
transaction that the localnet's Drift model accepts as the mirror predicted.
"""

from __future__ import annotations

import base64
import dataclasses
import json
from collections.abc import Iterator

import pytest

from keeper.app.cli import main
from keeper.core.addresses import DriftAddresses
from keeper.core.profile import DRIFT_MAINNET
from keeper.core.views import RawAccount, SpotMarket
from keeper.program.codec import AccountCodec
from keeper.program.idl import load_idl
from localnet.embedded import EmbeddedLocalnet

START_TS = 1_767_225_600


@pytest.fixture(scope="module")
def net(tmp_path_factory: pytest.TempPathFactory) -> Iterator[EmbeddedLocalnet]:
    with EmbeddedLocalnet(DRIFT_MAINNET, tmp_path_factory.mktemp("keys"), start_ts=START_TS) as n:
        yield n



def _yes(argv: tuple[str, ...]) -> list[str]:
    """Commands that send confirm on a terminal; tests have none, so they pass -y."""
    return [] if argv[0] in ("status", "markets") else ["-y"]

def cli(net: EmbeddedLocalnet, capsys: pytest.CaptureFixture[str], *argv: str) -> dict[str, object]:
    code = main([*argv, "-u", net.url, "-k", str(net.keys["alice"]), "--json", *_yes(argv)])
    out = capsys.readouterr()
    assert code == 0, out.err
    doc: dict[str, object] = json.loads(out.out)
    return doc


def _rebase_market_behind_the_stakes(net: EmbeddedLocalnet, codec: AccountCodec) -> None:
    address = DriftAddresses(DRIFT_MAINNET.program_id).spot_market(0)
    info = net.cheat("getAccountInfo", [str(address), {"encoding": "base64"}])["value"]
    raw = RawAccount(
        address,
        DRIFT_MAINNET.program_id,
        info["lamports"],
        base64.b64decode(info["data"][0]),
        False,
        0,
    )
    market = codec.decode_drift(raw)
    assert isinstance(market, SpotMarket)
    f = market.insurance_fund
    fund = dataclasses.replace(
        f,
        total_shares=f.total_shares // 10,
        user_shares=f.user_shares // 10,
        shares_base=f.shares_base + 1,
    )
    data = codec.encode(dataclasses.replace(market, insurance_fund=fund))
    net.cheat("localnet_setAccount", [str(address), {"data": base64.b64encode(data).decode()}])


def test_a_lagging_stake_is_valued_rebased_and_fully_requested(
    net: EmbeddedLocalnet, capsys: pytest.CaptureFixture[str]
) -> None:
    cli(net, capsys, "stake", "1000")
    codec = AccountCodec(load_idl(DRIFT_MAINNET.idl_path), DRIFT_MAINNET.program_id)
    _rebase_market_behind_the_stakes(net, codec)

    status = cli(net, capsys, "status")
    (stake,) = status["stakes"]  # type: ignore[misc]
    assert stake["shares"] == 100_000_000  # 1e9 shares at base 0 are 1e8 at base 1
    assert stake["valueAmount"] == 1_000_000_000

    doc = cli(net, capsys, "unstake", "--all")
    assert doc["action"] == "unstake request" and doc["matchesPrediction"] is True
    figures = doc["figures"]
    assert figures["rebaseAddAmount"] == 1  # type: ignore[index]
    assert figures["sharesRequested"] == 100_000_000  # type: ignore[index]
    after = cli(net, capsys, "status")
    (stake,) = after["stakes"]  # type: ignore[misc]
    assert stake["requestShares"] == stake["shares"] == 100_000_000
