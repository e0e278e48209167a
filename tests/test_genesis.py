"""Genesis accounts form a consistent exchange and export for solana-test-validator."""

from __future__ import annotations

import base64
import json
from pathlib import Path

from keeper.core.addresses import DriftAddresses
from keeper.core.profile import DRIFT_MAINNET, DRIFT_V2_84
from keeper.core.snapshot import build_snapshot
from keeper.core.verify import check_snapshot
from keeper.program.codec import AccountCodec
from keeper.program.idl import load_idl
from localnet.genesis import (
    GenesisSpec,
    MarketSpec,
    StakerSpec,
    build_genesis,
    export_test_validator_accounts,
    rent_exempt_lamports,
)

SPEC = GenesisSpec(
    markets=(
        MarketSpec(0, "USDC", 6),
        MarketSpec(
            1,
            "SOL",
            9,
            user_factor=260_000,
            total_factor=650_000,
            revenue_settle_period_seconds=5400,
            unstaking_period_seconds=864_000,
        ),
    ),
    stakers=(
        StakerSpec("alice", token_amounts=((0, 5_000_000), (1, 7_000_000_000))),
        StakerSpec("bob"),
    ),
)


def test_genesis_is_a_consistent_exchange() -> None:
    for profile in (
        DRIFT_MAINNET,
        DRIFT_V2_84.with_program_id("Fork111111111111111111111111111111111111111"),
    ):
        genesis = build_genesis(SPEC, profile)
        codec = AccountCodec(load_idl(profile.idl_path), profile.program_id)
        snap = build_snapshot(genesis.accounts.values(), codec, slot=1, now_ts=SPEC.created_ts)
        assert check_snapshot(snap, DriftAddresses(profile.program_id)) == []
        assert [m.market_index for m in snap.markets] == [0, 1]
        sol = snap.market(1).market
        assert sol.decimals == 9 and sol.insurance_fund.user_factor == 260_000
        assert sol.insurance_fund.revenue_settle_period_seconds == 5400
        assert sol.insurance_fund.total_shares == 0 and sol.deposit_balance == 0
        assert sol.cumulative_deposit_interest == 10**10
        assert snap.state.number_of_spot_markets == 2


def test_stakers_are_funded(tmp_path: Path) -> None:
    genesis = build_genesis(SPEC, DRIFT_MAINNET)
    alice = genesis.keypair("alice").pubkey()
    assert genesis.accounts[alice].lamports == 10_000_000_000
    tokens = [
        a for a in genesis.accounts.values() if genesis.labels[a.address].startswith("alice.token")
    ]
    amounts = sorted(int.from_bytes(a.data[64:72], "little") for a in tokens)
    assert amounts == [5_000_000, 7_000_000_000]
    mint_supply = int.from_bytes(genesis.accounts[genesis.mints[1]].data[36:44], "little")
    assert mint_supply == 7_000_000_000


def test_export_for_solana_test_validator(tmp_path: Path) -> None:
    genesis = build_genesis(SPEC, DRIFT_MAINNET)
    files = export_test_validator_accounts(genesis, tmp_path)
    assert len(files) == len(genesis.accounts)
    for path in files:
        doc = json.loads(path.read_text())
        acc = genesis.accounts[next(a for a in genesis.accounts if str(a) == doc["pubkey"])]
        assert base64.b64decode(doc["account"]["data"][0]) == acc.data
        assert doc["account"]["data"][1] == "base64"
        assert doc["account"]["owner"] == str(acc.owner)
        assert doc["account"]["space"] == len(acc.data)
        if acc.data:
            assert doc["account"]["lamports"] == rent_exempt_lamports(len(acc.data))


def test_stakes_in_genesis_are_counted_in_their_markets() -> None:
    spec = GenesisSpec(
        markets=(MarketSpec(0, "USDC", 6), MarketSpec(1, "SOL", 9)),
        stakers=(
            StakerSpec("w0", stakes=((0, 1_000_000), (1, 5))),
            StakerSpec("w1", stakes=((0, 2_000_000),)),
        ),
    )
    genesis = build_genesis(spec, DRIFT_MAINNET)
    codec = AccountCodec(load_idl(DRIFT_MAINNET.idl_path), DRIFT_MAINNET.program_id)
    snap = build_snapshot(genesis.accounts.values(), codec, slot=1, now_ts=spec.created_ts)
    assert check_snapshot(snap, DriftAddresses(DRIFT_MAINNET.program_id)) == []
    usdc = snap.market(0)
    assert usdc.market.insurance_fund.total_shares == 3_000_000
    assert usdc.market.insurance_fund.user_shares == 3_000_000 and usdc.if_vault_amount == 3_000_000
    w0 = genesis.keypair("w0").pubkey()
    stake = snap.stake(w0, 1)
    assert stake is not None and stake.if_shares == 5 and stake.cost_basis == 5
    (stats,) = [u for u in snap.user_stats if u.authority == w0]
    assert stats.if_staked_quote_asset_amount == 1_000_000
    mint_supply = int.from_bytes(genesis.accounts[genesis.mints[0]].data[36:44], "little")
    assert mint_supply == 3_000_000
