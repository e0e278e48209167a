"""Velocity's instructions: the metas of each builder are the account table of the
program's struct (velocity-v1 if_staker.rs 068fe867, keeper/insurance_fund.rs 12535d39;
the account tables read from those files), written out here by hand, not read from our IDL.

Also: the velocity_signer PDA plays Drift's `driftSigner` role, the State/signer PDAs
use Velocity's seeds, the Anchor checks walk Velocity's struct order, and an IDL of
another build is refused when the builders are made.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from mirror_factories import market as market_view
from solders.instruction import Instruction
from solders.pubkey import Pubkey

from keeper.core.account_structs import AccountRejected, Kind, field_name, fields, structs
from keeper.core.constraints import Meta, check_constraints, check_deserialization
from keeper.core.effects import IfAccounts
from keeper.core.error_codes import AnchorError
from keeper.core.errors import ConfigError
from keeper.core.profile import DRIFT_MAINNET, VELOCITY
from keeper.core.programs import (
    SPL_TOKEN_PROGRAM_ID,
    SYSTEM_PROGRAM_ID,
    SYSVAR_RENT_ID,
    TOKEN_2022_PROGRAM_ID,
)
from keeper.program.idl import load_idl
from keeper.program.instructions import DriftInstructions, MarketKeys

A = VELOCITY.addresses
ME, PAYER, WALLET, MINT, ANYONE = (Pubkey.new_unique() for _ in range(5))
STATE = Pubkey.find_program_address([b"velocity_state"], VELOCITY.program_id)[0]
SIGNER = Pubkey.find_program_address([b"velocity_signer"], VELOCITY.program_id)[0]
R, W, S, WS = "r", "w", "s", "ws"


def market(index: int = 3, token_program: Pubkey = SPL_TOKEN_PROGRAM_ID) -> MarketKeys:
    return MarketKeys(
        index,
        A.spot_market(index),
        A.spot_market_vault(index),
        A.insurance_fund_vault(index),
        MINT,
        token_program,
    )


def _table(ix: Instruction) -> list[tuple[Pubkey, str]]:
    def flag(is_writable: bool, is_signer: bool) -> str:
        return {(False, False): R, (True, False): W, (False, True): S, (True, True): WS}[
            (is_writable, is_signer)
        ]

    return [(m.pubkey, flag(m.is_writable, m.is_signer)) for m in ix.accounts]


@pytest.fixture(scope="module")
def b() -> DriftInstructions:
    return DriftInstructions(VELOCITY)


def test_the_pdas_use_velocitys_seeds() -> None:
    assert A.state() == STATE and A.drift_signer() == SIGNER
    assert A.program_id == VELOCITY.program_id
    drift_seeded = Pubkey.find_program_address([b"drift_state"], VELOCITY.program_id)[0]
    assert drift_seeded != STATE


def test_initialize_user_stats(b: DriftInstructions) -> None:
    assert _table(b.initialize_user_stats(ME, PAYER)) == [
        (A.user_stats(ME), W),
        (STATE, W),
        (ME, R),  # authority does not sign in Velocity (as in Drift v2.97+)
        (PAYER, WS),
        (SYSVAR_RENT_ID, R),
        (SYSTEM_PROGRAM_ID, R),
    ]


def test_initialize_insurance_fund_stake(b: DriftInstructions) -> None:
    assert _table(b.initialize_insurance_fund_stake(3, ME, PAYER)) == [
        (A.spot_market(3), R),
        (A.insurance_fund_stake(ME, 3), W),
        (A.user_stats(ME), W),
        (STATE, R),
        (ME, S),
        (PAYER, WS),
        (SYSVAR_RENT_ID, R),
        (SYSTEM_PROGRAM_ID, R),
    ]


def test_add_insurance_fund_stake(b: DriftInstructions) -> None:
    m = market()
    assert _table(b.add_insurance_fund_stake(m, 5, ME, WALLET)) == [
        (STATE, R),
        (m.spot_market, W),
        (A.insurance_fund_stake(ME, 3), W),
        (A.user_stats(ME), W),
        (ME, S),
        (m.spot_market_vault, W),
        (m.insurance_fund_vault, W),
        (SIGNER, R),
        (WALLET, W),
        (SPL_TOKEN_PROGRAM_ID, R),
    ]


@pytest.mark.parametrize("cancel", [False, True], ids=["request", "cancel"])
def test_request_and_cancel_carry_what_the_implicit_settle_needs(
    b: DriftInstructions, cancel: bool
) -> None:
    m = market()
    ix = (
        b.cancel_request_remove_insurance_fund_stake(m, ME)
        if cancel
        else b.request_remove_insurance_fund_stake(m, 5, ME)
    )
    assert _table(ix) == [
        (STATE, R),
        (m.spot_market, W),
        (A.insurance_fund_stake(ME, 3), W),
        (A.user_stats(ME), W),
        (ME, S),
        (m.spot_market_vault, W),
        (m.insurance_fund_vault, W),
        (SIGNER, R),
        (SPL_TOKEN_PROGRAM_ID, R),
    ]


def test_remove_takes_the_spot_market_vault_at_index_5(b: DriftInstructions) -> None:
    m = market()
    table = _table(b.remove_insurance_fund_stake(m, ME, WALLET))
    assert table == [
        (STATE, R),
        (m.spot_market, W),
        (A.insurance_fund_stake(ME, 3), W),
        (A.user_stats(ME), W),
        (ME, S),
        (m.spot_market_vault, W),
        (m.insurance_fund_vault, W),
        (SIGNER, R),
        (WALLET, W),
        (SPL_TOKEN_PROGRAM_ID, R),
    ]
    assert table[5] == (m.spot_market_vault, W)


def test_settle_revenue_to_insurance_fund(b: DriftInstructions) -> None:
    m = market()
    assert _table(b.settle_revenue_to_insurance_fund(m)) == [
        (STATE, R),
        (m.spot_market, W),
        (m.spot_market_vault, W),
        (SIGNER, R),
        (m.insurance_fund_vault, W),
        (SPL_TOKEN_PROGRAM_ID, R),
    ]


def test_deposit_into_spot_market_revenue_pool(b: DriftInstructions) -> None:
    m = market()
    assert _table(b.deposit_into_spot_market_revenue_pool(m, 5, ME, WALLET)) == [
        (STATE, R),
        (m.spot_market, W),
        (ME, WS),
        (m.spot_market_vault, W),
        (WALLET, W),
        (SPL_TOKEN_PROGRAM_ID, R),
    ]


def test_update_user_quote_asset_insurance_stake(b: DriftInstructions) -> None:
    q = market(0)
    assert _table(b.update_user_quote_asset_insurance_stake(ME, ANYONE, q)) == [
        (STATE, R),
        (A.spot_market(0), W),
        (A.insurance_fund_stake(ME, 0), W),
        (A.user_stats(ME), W),
        (ANYONE, S),
        (A.insurance_fund_vault(0), W),
    ]


def test_token_2022_markets_pass_the_mint_to_every_token_moving_instruction(
    b: DriftInstructions,
) -> None:
    m = market(token_program=TOKEN_2022_PROGRAM_ID)
    moving = [
        b.add_insurance_fund_stake(m, 5, ME, WALLET),
        b.request_remove_insurance_fund_stake(m, 5, ME),
        b.cancel_request_remove_insurance_fund_stake(m, ME),
        b.remove_insurance_fund_stake(m, ME, WALLET),
        b.settle_revenue_to_insurance_fund(m),
    ]
    for ix in moving:
        assert _table(ix)[-2:] == [(TOKEN_2022_PROGRAM_ID, R), (MINT, R)]


def test_drift_request_and_cancel_keep_their_five_accounts() -> None:
    d = DriftInstructions(DRIFT_MAINNET)
    a = DRIFT_MAINNET.addresses
    m = MarketKeys(
        3,
        a.spot_market(3),
        a.spot_market_vault(3),
        a.insurance_fund_vault(3),
        MINT,
        TOKEN_2022_PROGRAM_ID,
    )
    for ix in (
        d.request_remove_insurance_fund_stake(m, 5, ME),
        d.cancel_request_remove_insurance_fund_stake(m, ME),
    ):
        assert [k for k, _ in _table(ix)] == [
            m.spot_market,
            a.insurance_fund_stake(ME, 3),
            a.user_stats(ME),
            ME,
            m.insurance_fund_vault,
        ]
    assert len(d.remove_insurance_fund_stake(m, ME, WALLET).accounts) == 9 + 1  # + mint


def test_the_signer_pda_plays_the_drift_signer_role() -> None:
    idl = load_idl(VELOCITY.idl_path)
    metas = idl.instruction("addInsuranceFundStake").accounts
    signer = next(m for m in metas if m.idl_name == "velocitySigner")
    assert signer.name == "driftSigner"
    assert field_name("addInsuranceFundStake", "driftSigner", VELOCITY) == "velocity_signer"
    assert field_name("addInsuranceFundStake", "driftSigner", DRIFT_MAINNET) == "drift_signer"


def test_velocitys_state_is_a_zero_copy_loader() -> None:
    for name, struct in structs(VELOCITY).items():
        for f in struct:
            if f.role == "state":
                assert f.kind is Kind.LOADER, name
    drift_state = next(
        f for f in fields("addInsuranceFundStake", DRIFT_MAINNET) if f.role == "state"
    )
    assert drift_state.kind is Kind.ACCOUNT


def _metas(ix: Instruction, name: str) -> dict[str, Meta]:
    roles = [m.name for m in load_idl(VELOCITY.idl_path).instruction(name).accounts]
    return {
        role: Meta(m.pubkey, m.is_signer, m.is_writable)
        for role, m in zip(roles, ix.accounts, strict=False)
    }


def test_anchor_checks_walk_velocitys_request_struct(b: DriftInstructions) -> None:
    m = market()
    ix = b.request_remove_insurance_fund_stake(m, 5, ME)
    metas = _metas(ix, "requestRemoveInsuranceFundStake")
    assert list(metas) == [f.role for f in fields("requestRemoveInsuranceFundStake", VELOCITY)]
    wrong_vault = dict(metas)
    wrong_vault["spotMarketVault"] = Meta(A.spot_market_vault(4), False, True)
    accounts = IfAccounts(market=market_view(market_index=3))
    with pytest.raises(AccountRejected) as err:
        check_constraints(
            "requestRemoveInsuranceFundStake",
            wrong_vault,
            accounts,
            A,
            VELOCITY,
            {"marketIndex": 3, "amount": 5},
        )
    assert err.value.code == AnchorError.ConstraintSeeds
    assert err.value.account == "spot_market_vault"
    unsigned = dict(metas)
    unsigned["authority"] = Meta(ME, False, False)
    # State comes first in Velocity's struct, and it is a zero-copy loader: a missing one
    # fails its owner check (3007; Drift's Borsh State would fail with 3012)
    with pytest.raises(AccountRejected) as err:
        check_deserialization("requestRemoveInsuranceFundStake", unsigned, accounts, VELOCITY)
    assert (err.value.code, err.value.role) == (AnchorError.AccountOwnedByWrongProgram, "state")
    everything_exists = {role: True for role in metas}
    with pytest.raises(AccountRejected) as err:
        check_deserialization(
            "requestRemoveInsuranceFundStake", unsigned, accounts, VELOCITY, everything_exists
        )
    assert (err.value.code, err.value.role) == (AnchorError.AccountNotSigner, "authority")


def test_an_idl_of_another_build_is_refused(tmp_path: Path) -> None:
    raw = json.loads(Path(VELOCITY.idl_path).read_text())
    remove = next(i for i in raw["instructions"] if i["name"] == "remove_insurance_fund_stake")
    # the upstream IDL of 0077e03b: remove without the spot market vault
    remove["accounts"] = [a for a in remove["accounts"] if a["name"] != "spot_market_vault"]
    path = tmp_path / "velocity-0077e03b.json"
    path.write_text(json.dumps(raw))
    from dataclasses import replace

    older = replace(VELOCITY, idl_path=path)
    with pytest.raises(ConfigError, match=r"removeInsuranceFundStake .* another build"):
        DriftInstructions(older)
