"""A build refuses what it predates: the v2.84 program and a Token-2022 market.

Before v2.87 the IF structs hold `Account<TokenAccount>` (SPL Token only), so a
Token-2022 market's vault fails Anchor's owner check (AccountOwnedByWrongProgram 3007)
at the first token field; the planner refuses before building, saying why. These
hold against a real v2.84 binary (DRIFT_PROGRAM_SO with DRIFT_PROGRAM_PROFILE unset or
drift-v2.84) and are skipped, saying why, for a binary that supports Token-2022.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator

import pytest
from localnet_support import profile_without, token_2022_localnet
from solana.rpc.api import Client
from solana.rpc.commitment import Confirmed
from solana.rpc.types import TxOpts
from solders.keypair import Keypair
from solders.message import Message
from solders.transaction import VersionedTransaction

from keeper.app.cli import main
from keeper.core.addresses import DriftAddresses, associated_token_address
from keeper.core.profile import Capability
from keeper.core.programs import TOKEN_2022_PROGRAM_ID
from keeper.program.instructions import DriftInstructions, MarketKeys
from localnet.embedded import EmbeddedLocalnet


@pytest.fixture(scope="module")
def net(tmp_path_factory: pytest.TempPathFactory) -> Iterator[EmbeddedLocalnet]:
    profile = profile_without(Capability.TOKEN_2022)
    with token_2022_localnet(profile, tmp_path_factory.mktemp("keys")) as n:
        yield n


def test_the_planner_refuses_a_token_2022_market_saying_why(
    net: EmbeddedLocalnet, capsys: pytest.CaptureFixture[str]
) -> None:
    argv = ["stake", "1000", "--market", "1", "--profile", net.profile.name]
    argv += ["-u", net.url, "-k", str(net.keys["alice"])]
    code = main([*argv, "--json"])
    out = capsys.readouterr()
    assert code != 0
    assert "predates Token-2022 support (v2.87)" in out.out + out.err


def _send(net: EmbeddedLocalnet, client: Client, ixs: list, payer: Keypair) -> dict:  # type: ignore[type-arg]
    bh = client.get_latest_blockhash().value.blockhash
    tx = VersionedTransaction(Message.new_with_blockhash(ixs, payer.pubkey(), bh), [payer])
    sig = client.send_raw_transaction(bytes(tx), TxOpts(skip_preflight=True)).value
    for _ in range(200):
        got = client.get_transaction(sig, commitment=Confirmed, max_supported_transaction_version=0)
        if got.value is not None:
            meta = got.value.transaction.meta
            assert meta is not None
            return {"err": meta.err, "logs": list(meta.log_messages or [])}
        time.sleep(0.01)
    raise AssertionError("transaction not confirmed")


def test_the_program_refuses_its_accounts_at_the_first_token_field(net: EmbeddedLocalnet) -> None:
    alice = Keypair.from_bytes(bytes(json.loads(net.keys["alice"].read_text())))
    client = Client(net.url, commitment=Confirmed)
    builders = DriftInstructions(net.profile)
    addresses = DriftAddresses(net.profile.program_id)
    mint = net.genesis.mints[1]
    market = MarketKeys(
        market_index=1,
        spot_market=addresses.spot_market(1),
        spot_market_vault=addresses.spot_market_vault(1),
        insurance_fund_vault=addresses.insurance_fund_vault(1),
        mint=mint,
        token_program=TOKEN_2022_PROGRAM_ID,
    )
    me = alice.pubkey()
    setup = _send(
        net,
        client,
        [
            builders.initialize_user_stats(me, me),
            builders.initialize_insurance_fund_stake(1, me, me),
        ],
        alice,
    )
    assert setup["err"] is None, setup["logs"]  # no token account in these structs
    wallet = associated_token_address(me, mint, TOKEN_2022_PROGRAM_ID)
    result = _send(
        net, client, [builders.add_insurance_fund_stake(market, 1_000_000, me, wallet)], alice
    )
    assert result["err"] is not None
    assert "custom program error: 0xbbf" in result["logs"][-1]  # 3007
    assert (
        "Program log: AnchorError caused by account: spot_market_vault. Error Code: "
        "AccountOwnedByWrongProgram. Error Number: 3007. Error Message: The given account "
        "is owned by a different program than expected." in result["logs"]
    )
