"""The keeper's decisions, pure: what is due, what waits, and until when."""

from __future__ import annotations

import dataclasses

import pytest
from mirror_factories import ALICE, fund, market_with_pool, stake, state, token, user_stats
from solders.pubkey import Pubkey

from keeper.core import ifmath
from keeper.core.addresses import associated_token_address
from keeper.core.decide import (
    KeeperPolicy,
    MarketPolicy,
    PassPolicy,
    Policy,
    RequestPolicy,
    WalletPolicy,
    decide,
    decide_pass,
)
from keeper.core.profile import DRIFT_MAINNET
from keeper.core.programs import SPL_TOKEN_PROGRAM_ID
from keeper.core.snapshot import MarketSnapshot, Snapshot
from keeper.program.codec import AccountCodec
from keeper.program.idl import load_idl
from keeper.program.instructions import DriftInstructions
from keeper.program.planner import Planner

HOUR = 3600
NOW = 1_767_225_600 + 10 * HOUR  # on the hour
COOLDOWN = 1_123_200


@pytest.fixture(scope="module")
def planner() -> Planner:
    idl = load_idl(DRIFT_MAINNET.idl_path)
    return Planner(
        DRIFT_MAINNET,
        DriftInstructions(DRIFT_MAINNET, idl),
        AccountCodec(idl, DRIFT_MAINNET.program_id),
    )


def snapshot(
    *,
    pool: int = 50_000_000,
    last_settle_ts: int = NOW - HOUR,
    shares: int = 1_000_000_000,
    request_shares: int = 0,
    request_ts: int = 0,
    utilization_twap: int = 0,
    exchange_status: int = 0,
) -> Snapshot:
    f = fund(
        total_shares=shares,
        user_shares=shares,
        last_revenue_settle_ts=last_settle_ts,
        revenue_settle_period_seconds=HOUR,
        unstaking_period_seconds=COOLDOWN,
    )
    m = dataclasses.replace(market_with_pool(pool, f), utilization_twap=utilization_twap)
    vault = 1_000_000_000  # the IF vault holds 1000 tokens: one share = one base unit
    if_vault = token(m.insurance_fund.vault, state().signer, vault)
    spot_vault = token(m.vault, state().signer, 10**18)
    wallet = dataclasses.replace(
        token(associated_token_address(ALICE, m.mint, SPL_TOKEN_PROGRAM_ID), ALICE, 0), mint=m.mint
    )
    s = stake(
        if_shares=shares,
        last_withdraw_request_shares=request_shares,
        last_withdraw_request_value=request_shares,
        last_withdraw_request_ts=request_ts,
    )
    return Snapshot(
        slot=1,
        now_ts=NOW,
        state=state(exchange_status=exchange_status),
        markets=(MarketSnapshot(m, if_vault, spot_vault),),
        stakes=(s,),
        user_stats=(user_stats(),),
        wallets=(wallet,),
    )


def test_settle_due_waits_for_the_hour_and_for_revenue(planner: Planner) -> None:
    due = decide(snapshot(), ALICE, KeeperPolicy(), planner)
    assert [p.action for p in due.plans] == ["settle"] and due.plans[0].figures["amount"] > 0

    early = decide(snapshot(last_settle_ts=NOW - 60), ALICE, KeeperPolicy(), planner)
    # settled 60 s before the hour: the delay (3540 s) is over P/3, so the hour after next
    assert early.plans == () and early.next_due_ts == NOW + HOUR

    empty = decide(snapshot(pool=0), ALICE, KeeperPolicy(), planner)
    assert empty.plans == ()
    assert (
        empty.waits[0].reason == "NoRevenueToSettleToIF" and empty.waits[0].until_ts == NOW + HOUR
    )

    paused = decide(snapshot(exchange_status=0x02), ALICE, KeeperPolicy(), planner)
    assert paused.plans == () and paused.waits[0].until_ts is None


def test_withdraw_waits_for_cooldown_then_utilization(planner: Planner) -> None:
    policy = KeeperPolicy(settle=False)
    pending = decide(
        snapshot(request_shares=400_000_000, request_ts=NOW - 10), ALICE, policy, planner
    )
    assert pending.plans == () and pending.next_due_ts == NOW - 10 + COOLDOWN

    matured = dict(request_shares=400_000_000, request_ts=NOW - COOLDOWN)
    busy = decide(snapshot(**matured, utilization_twap=950_000), ALICE, policy, planner)
    assert busy.plans == () and "utilization" in busy.waits[0].reason and busy.next_due_ts is None

    ready = decide(snapshot(**matured), ALICE, policy, planner)
    assert [p.action for p in ready.plans] == ["withdraw"]
    assert ready.plans[0].figures == {"amount": 400_000_000}


@pytest.mark.parametrize(
    ("policy", "expected_amount"),
    [
        (
            KeeperPolicy(settle=False, request=RequestPolicy.CAP, max_stake_amount=600_000_000),
            400_000_000,
        ),
        (
            KeeperPolicy(settle=False, request=RequestPolicy.CAP, max_stake_amount=1_000_000_000),
            None,
        ),
        (
            KeeperPolicy(
                settle=False,
                request=RequestPolicy.CAP,
                max_stake_amount=999_000_000,
                min_request_amount=5_000_000,
            ),
            None,
        ),
        (KeeperPolicy(settle=False, request=RequestPolicy.UNSTAKE_ALL), 1_000_000_000),
        (KeeperPolicy(settle=False, request=RequestPolicy.NEVER), None),
    ],
)
def test_request_policies(
    planner: Planner, policy: KeeperPolicy, expected_amount: int | None
) -> None:
    decision = decide(snapshot(), ALICE, policy, planner)
    if expected_amount is None:
        assert decision.plans == ()
    else:
        (plan,) = decision.plans
        assert plan.action == "unstake request"
        assert plan.figures["shares_requested"] == expected_amount  # 1 share = 1 base unit here


def test_no_request_while_one_is_pending(planner: Planner) -> None:
    policy = KeeperPolicy(settle=False, withdraw=False, request=RequestPolicy.UNSTAKE_ALL)
    decision = decide(snapshot(request_shares=10, request_ts=NOW), ALICE, policy, planner)
    assert decision.plans == () and decision.waits == ()


def test_an_action_that_cannot_be_planned_does_not_block_the_others(planner: Planner) -> None:
    matured = snapshot(request_shares=400_000_000, request_ts=NOW - COOLDOWN)
    no_wallet = dataclasses.replace(matured, wallets=())
    decision = decide(no_wallet, ALICE, KeeperPolicy(), planner)
    assert [p.action for p in decision.plans] == ["settle"]
    (wait,) = [w for w in decision.waits if w.action == "withdraw"]
    assert "no token account" in wait.reason


# -- the operator's report: one chain per market, policies, the utilization limit ------


def test_a_request_after_a_settle_is_sized_at_the_post_settle_price(planner: Planner) -> None:
    """Settle and exit in one pass: the request is planned on the predicted post-settle
    state, so it asks for every share at the new price and leaves no dust."""
    snap = snapshot()
    policy = KeeperPolicy(request=RequestPolicy.UNSTAKE_ALL, withdraw=False)
    decision = decide(snap, ALICE, policy, planner)
    ((settle, request),) = decision.chains
    assert [settle.action, request.action] == ["settle", "unstake request"]
    after = settle.snapshot_after(snap)
    m = after.market(0)
    assert m.if_vault_amount == snap.market(0).if_vault_amount + settle.figures["amount"]
    stake_after = after.stake(ALICE, 0)
    assert stake_after is not None
    every_share = ifmath.amount_for_shares(
        stake_after.if_shares, m.market.insurance_fund.total_shares, m.if_vault_amount
    )
    assert request.figures["amount"] == every_share > 1_000_000_000  # the gain is included
    assert request.figures["shares_requested"] == stake_after.if_shares  # every share
    # sized at the pre-settle price it would have asked for fewer tokens than it owns
    before = planner.unstake(snap, ALICE, 0, None)
    assert before.figures["amount"] < request.figures["amount"]


def test_take_profit_requests_the_gain_above_cost_basis(planner: Planner) -> None:
    snap = snapshot()
    (s,) = snap.stakes
    m = snap.market(0)
    value = ifmath.stake_value(s, m.market, m.if_vault_amount)
    basis = value - 7_000_000
    with_basis = dataclasses.replace(snap, stakes=(dataclasses.replace(s, cost_basis=basis),))
    wallet = WalletPolicy(ALICE, (MarketPolicy(0, Policy.TAKE_PROFIT, min_request_amount=1),))
    decision = decide_pass(with_basis, PassPolicy((wallet,)), planner, settle_payer=ALICE)
    (plan,) = decision.plans
    assert plan.action == "unstake request" and plan.figures["amount"] == 7_000_000
    small = WalletPolicy(
        ALICE, (MarketPolicy(0, Policy.TAKE_PROFIT, min_request_amount=7_000_001),)
    )
    assert decide_pass(with_basis, PassPolicy((small,)), planner, settle_payer=ALICE).plans == ()


def test_hold_never_requests_but_withdraws_a_matured_request(planner: Planner) -> None:
    hold = PassPolicy((WalletPolicy(ALICE, (MarketPolicy(0, Policy.HOLD),)),))
    assert decide_pass(snapshot(), hold, planner, settle_payer=ALICE).plans == ()
    matured = snapshot(request_shares=400_000_000, request_ts=NOW - COOLDOWN)
    (plan,) = decide_pass(matured, hold, planner, settle_payer=ALICE).plans
    assert plan.action == "withdraw"


@pytest.mark.parametrize(
    ("operator_limit", "twap", "waits"),
    [
        (800_000, 800_000, False),  # at the limit: allowed
        (800_000, 850_000, True),  # above the operator's 80%, below the profile's 90%
        (950_000, 920_000, True),  # the operator's limit never lifts the profile's
        (950_000, 890_000, False),
    ],
)
def test_the_operators_utilization_limit(
    planner: Planner, operator_limit: int, twap: int, waits: bool
) -> None:
    assert planner.profile.withdraw_utilization_limit == 900_000
    matured = snapshot(request_shares=400_000_000, request_ts=NOW - COOLDOWN, utilization_twap=twap)
    policy = KeeperPolicy(settle=False, max_utilization=operator_limit)
    decision = decide(matured, ALICE, policy, planner)
    if not waits:
        assert [p.action for p in decision.plans] == ["withdraw"]
        return
    (wait,) = decision.waits
    assert decision.plans == () and wait.until_ts is None  # acts on the next change
    assert "utilization" in wait.reason
    if twap <= 900_000:
        assert wait.reason == "utilization 0% (TWAP 85%) above the withdraw limit 80%"


def test_many_wallets_one_chain_per_market(planner: Planner) -> None:
    bob = Pubkey.new_unique()
    snap = snapshot(request_shares=400_000_000, request_ts=NOW - COOLDOWN)
    (alice_stake,) = snap.stakes
    m0 = snap.market(0)
    fund2 = dataclasses.replace(
        m0.market.insurance_fund, total_shares=2_000_000_000, user_shares=2_000_000_000
    )
    vault2 = dataclasses.replace(m0.insurance_fund_vault, amount=2 * m0.if_vault_amount)
    market2 = dataclasses.replace(
        m0, market=dataclasses.replace(m0.market, insurance_fund=fund2), insurance_fund_vault=vault2
    )
    bob_stake = dataclasses.replace(
        alice_stake,
        address=Pubkey.new_unique(),
        authority=bob,
        last_withdraw_request_shares=0,
        last_withdraw_request_value=0,
    )
    bob_wallet = dataclasses.replace(
        snap.wallets[0],
        address=associated_token_address(bob, m0.market.mint, SPL_TOKEN_PROGRAM_ID),
        owner=bob,
    )
    # every stake has its authority's UserStats (initializing a stake requires it)
    bob_stats = user_stats(address=Pubkey.new_unique(), authority=bob)
    two = dataclasses.replace(
        snap,
        markets=(market2,),
        stakes=(alice_stake, bob_stake),
        user_stats=(*snap.user_stats, bob_stats),
        wallets=(*snap.wallets, bob_wallet),
    )
    policy = PassPolicy(
        (
            WalletPolicy(ALICE, (MarketPolicy(0, Policy.HOLD),), "alice"),
            WalletPolicy(bob, (MarketPolicy(0, Policy.EXIT),), "bob"),
        ),
        settle_markets=(0,),
    )
    decision = decide_pass(two, policy, planner, settle_payer=ALICE)
    ((settle, withdraw, request),) = decision.chains
    assert (settle.action, withdraw.action, request.action) == (
        "settle",
        "withdraw",
        "unstake request",
    )
    assert (withdraw.authority, request.authority) == (ALICE, bob)
    # each step on the state the previous leaves: bob's request sees alice's withdrawal
    state = withdraw.snapshot_after(settle.snapshot_after(two))
    m = state.market(0)
    fund = m.market.insurance_fund
    assert fund.user_shares == 2_000_000_000 - 400_000_000  # alice withdrew first
    assert request.figures["amount"] == ifmath.amount_for_shares(
        bob_stake.if_shares, fund.total_shares, m.if_vault_amount
    )
    assert request.figures["shares_requested"] == bob_stake.if_shares
