"""The keeper's decisions, pure: what is due, what waits, and until when."""

from __future__ import annotations

import dataclasses

import pytest
from mirror_factories import ALICE, fund, market_with_pool, stake, state, token, user_stats

from keeper.core.addresses import associated_token_address
from keeper.core.decide import KeeperPolicy, RequestPolicy, decide
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
