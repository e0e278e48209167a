"""A Token-2022 market (like PYUSD): the mint rides as the first remaining account and
every IF transfer is a `transfer_checked` in the real Token-2022 program."""

from __future__ import annotations

import json
from collections.abc import Iterator

import httpx
import pytest
from localnet_support import profile_with, token_2022_localnet

from keeper.app.cli import main
from keeper.core.profile import Capability
from keeper.core.programs import TOKEN_2022_PROGRAM_ID
from localnet.embedded import EmbeddedLocalnet


@pytest.fixture(scope="module")
def net(tmp_path_factory: pytest.TempPathFactory) -> Iterator[EmbeddedLocalnet]:
    profile = profile_with(Capability.TOKEN_2022)
    with token_2022_localnet(profile, tmp_path_factory.mktemp("keys")) as n:
        yield n



def _yes(argv: tuple[str, ...]) -> list[str]:
    """Commands that send confirm on a terminal; tests have none, so they pass -y."""
    return [] if argv[0] in ("status", "markets") else ["-y"]

def cli(net: EmbeddedLocalnet, capsys: pytest.CaptureFixture[str], *argv: str) -> dict[str, object]:
    code = main([*argv, "--market", "1", "-u", net.url, "-k", str(net.keys["alice"]), "--json", *_yes(argv)])
    out = capsys.readouterr()
    assert code == 0, out.err
    doc: dict[str, object] = json.loads(out.out)
    return doc


def test_stake_settle_and_exit_on_a_token_2022_market(
    net: EmbeddedLocalnet, capsys: pytest.CaptureFixture[str]
) -> None:
    assert net.genesis.accounts[net.genesis.mints[1]].owner == TOKEN_2022_PROGRAM_ID
    staked = cli(net, capsys, "stake", "1000")
    assert staked["matchesPrediction"] is True
    tx = httpx.post(
        net.url,
        json={
            "jsonrpc": "2.0",
            "id": 1,
            "method": "getTransaction",
            "params": [
                staked["signature"],
                {"encoding": "json", "maxSupportedTransactionVersion": 0},
            ],
        },
    ).json()["result"]
    logs = tx["meta"]["logMessages"]
    assert f"Program {TOKEN_2022_PROGRAM_ID} invoke [2]" in logs
    assert "Program log: Instruction: TransferChecked" in logs
    cli(net, capsys, "deposit-revenue", "100")
    net.travel(3600)
    settled = cli(net, capsys, "settle")
    assert settled["figures"] == {"amount": 1_141_552}  # the APR cap: 1000 × 10 / 8760
    cli(net, capsys, "unstake", "--all")
    net.travel(13 * 86_400)
    withdrawn = cli(net, capsys, "withdraw")
    assert withdrawn["matchesPrediction"] is True
    code = main(["status", "--market", "1", "-u", net.url, "-k", str(net.keys["alice"]), "--json"])
    status = json.loads(capsys.readouterr().out)
    assert code == 0 and status["stakes"][0]["shares"] == 0
    wallet = next(iter(status["walletTokenAccounts"].values()))
    # 5000 - 1000 staked - 100 donated + 1000.570450 paid out (her share of the settle; the
    # protocol's half of it was minted as protocol shares, which stay in the fund)
    assert wallet == 5_000_000_000 - 1_000_000_000 - 100_000_000 + 1_000_570_450
    assert withdrawn["figures"] == {"amount": 1_000_570_450}
