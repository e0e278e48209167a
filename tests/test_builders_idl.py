"""Builders vs IDL: every IF instruction's metas and args as the IDL lists them, and
the struct tables (keeper.core.account_structs) in the IDL's field order, per profile."""

from __future__ import annotations

import pytest
from solders.keypair import Keypair

from keeper.core.account_structs import Kind, structs
from keeper.core.fmt import snake_case
from keeper.core.profile import DRIFT_MAINNET, DRIFT_V2_84, VELOCITY, ProgramProfile
from keeper.core.programs import SPL_TOKEN_PROGRAM_ID
from keeper.program.idl import load_idl
from keeper.program.instructions import DriftInstructions, MarketKeys

PROFILES = (DRIFT_V2_84, DRIFT_MAINNET, VELOCITY)


def _built(profile: ProgramProfile) -> dict[str, object]:
    b = DriftInstructions(profile)
    a = profile.addresses
    me = Keypair().pubkey()
    m = MarketKeys(
        3,
        a.spot_market(3),
        a.spot_market_vault(3),
        a.insurance_fund_vault(3),
        Keypair().pubkey(),
        SPL_TOKEN_PROGRAM_ID,
    )
    q = MarketKeys(
        0,
        a.spot_market(0),
        a.spot_market_vault(0),
        a.insurance_fund_vault(0),
        m.mint,
        m.token_program,
    )
    wallet = Keypair().pubkey()
    return {
        "initializeUserStats": b.initialize_user_stats(me, me),
        "initializeInsuranceFundStake": b.initialize_insurance_fund_stake(3, me, me),
        "addInsuranceFundStake": b.add_insurance_fund_stake(m, 5, me, wallet),
        "requestRemoveInsuranceFundStake": b.request_remove_insurance_fund_stake(m, 5, me),
        "cancelRequestRemoveInsuranceFundStake": b.cancel_request_remove_insurance_fund_stake(
            m, me
        ),
        "removeInsuranceFundStake": b.remove_insurance_fund_stake(m, me, wallet),
        "settleRevenueToInsuranceFund": b.settle_revenue_to_insurance_fund(m),
        "depositIntoSpotMarketRevenuePool": b.deposit_into_spot_market_revenue_pool(
            m, 5, me, wallet
        ),
        "updateUserQuoteAssetInsuranceStake": b.update_user_quote_asset_insurance_stake(me, me, q),
    }


@pytest.mark.parametrize("profile", PROFILES, ids=lambda p: p.name)
def test_every_builder_matches_the_idl(profile: ProgramProfile) -> None:
    idl = load_idl(profile.idl_path)
    built = _built(profile)
    assert set(built) == set(structs(profile))
    for name, ix in built.items():
        spec = idl.instruction(name)
        metas = ix.accounts  # type: ignore[attr-defined]
        assert len(metas) >= len(spec.accounts), name
        struct = {f.role: f for f in structs(profile)[name]}
        for meta, acc in zip(metas, spec.accounts, strict=False):
            f = struct[acc.name]
            signs = acc.is_signer or f.kind is Kind.SIGNER
            assert meta.is_signer == signs, (name, acc.name)
            # a field the struct declares `mut` (or an init) is writable, as the IDL says
            assert meta.is_writable == acc.is_mut, (name, acc.name)
            if f.mut or f.init:
                assert meta.is_writable, (name, acc.name)
        data = bytes(ix.data)  # type: ignore[attr-defined]
        assert data[:8] == bytes(idl.coder.instruction.sighashes[snake_case(name)]), name
        decoded = idl.coder.instruction.parse(data)
        assert decoded is not None and decoded.name == snake_case(name)
        assert sorted(k for k in dict(decoded.data) if not k.startswith("_")) == sorted(
            snake_case(a) for a, _ in spec.args
        ), name


@pytest.mark.parametrize("profile", PROFILES, ids=lambda p: p.name)
def test_struct_tables_list_the_idl_accounts_in_order(profile: ProgramProfile) -> None:
    idl = load_idl(profile.idl_path)
    for name, struct in structs(profile).items():
        assert [f.role for f in struct] == [a.name for a in idl.instruction(name).accounts], name
