"""Anchor's checks come first, in struct field order, over RPC (model or real program)."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator

import pytest
from localnet_support import binary_profile
from solana.rpc.api import Client
from solana.rpc.commitment import Confirmed
from solana.rpc.types import TxOpts
from solders.instruction import Instruction
from solders.keypair import Keypair
from solders.message import Message
from solders.transaction import VersionedTransaction

from keeper.core.addresses import DriftAddresses
from keeper.core.profile import DRIFT_V2_84
from keeper.program.instructions import DriftInstructions
from localnet.embedded import EmbeddedLocalnet
from localnet.genesis import GenesisSpec

START_TS = 1_767_225_600


@pytest.fixture(scope="module")
def net(tmp_path_factory: pytest.TempPathFactory) -> Iterator[EmbeddedLocalnet]:
    profile = binary_profile() or DRIFT_V2_84
    spec = GenesisSpec(created_ts=START_TS)
    with EmbeddedLocalnet(
        profile, tmp_path_factory.mktemp("keys"), start_ts=START_TS, spec=spec
    ) as n:
        yield n


def _send(
    net: EmbeddedLocalnet, client: Client, ixs: list[Instruction], payer: Keypair
) -> tuple[object, list[str]]:
    net.cheat("localnet_timeTravel", [{"slots": 1}])  # a fresh blockhash per send
    bh = client.get_latest_blockhash().value.blockhash
    tx = VersionedTransaction(Message.new_with_blockhash(ixs, payer.pubkey(), bh), [payer])
    sig = client.send_raw_transaction(bytes(tx), TxOpts(skip_preflight=True)).value
    for _ in range(300):
        got = client.get_transaction(sig, commitment=Confirmed, max_supported_transaction_version=0)
        if got.value is not None and got.value.transaction.meta is not None:
            meta = got.value.transaction.meta
            return meta.err, list(meta.log_messages or [])
        time.sleep(0.01)
    raise AssertionError("transaction not confirmed")


def test_seeds_of_the_market_index_argument_and_init_of_an_account_in_use(
    net: EmbeddedLocalnet,
) -> None:
    alice = Keypair.from_bytes(bytes(json.loads(net.keys["alice"].read_text())))
    client = Client(net.url, commitment=Confirmed)
    b = DriftInstructions(net.profile)
    a = DriftAddresses(net.profile.program_id)
    me = alice.pubkey()
    err, logs = _send(net, client, [b.initialize_user_stats(me, me)], alice)
    assert err is None, logs
    # Initializing it again: the System program refuses an account in use.
    err, logs = _send(net, client, [b.initialize_user_stats(me, me)], alice)
    assert err is not None
    assert any("already in use" in line for line in logs), logs
    assert "custom program error: 0x0" in logs[-1]
    err, logs = _send(net, client, [b.initialize_insurance_fund_stake(0, me, me)], alice)
    assert err is None, logs
    # Market 0's accounts (alice's market-0 stake included) with market_index 1: every
    # account deserializes, then the spot market's seeds (of the argument) fail first.
    wrong = b.build(
        "requestRemoveInsuranceFundStake",
        {"marketIndex": 1, "amount": 1},
        {
            "spotMarket": a.spot_market(0),
            "insuranceFundStake": a.insurance_fund_stake(me, 0),
            "userStats": a.user_stats(me),
            "authority": me,
            "insuranceFundVault": a.insurance_fund_vault(0),
        },
    )
    err, logs = _send(net, client, [wrong], alice)
    assert err is not None
    assert (
        "Program log: AnchorError caused by account: spot_market. Error Code: ConstraintSeeds. "
        "Error Number: 2006. Error Message: A seeds constraint was violated." in logs
    ), logs
