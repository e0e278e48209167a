"""One rule, one home: status, decide, the planner and the mirror agree on when an
IF action is possible, and value a stake whose base lags the same way."""

from __future__ import annotations

import dataclasses

import pytest
from mirror_factories import ALICE, replace_fund
from test_decide import COOLDOWN, HOUR, NOW, planner, snapshot

from keeper.core import ifmath, rules
from keeper.core.actions import ActionKind
from keeper.core.addresses import DriftAddresses
from keeper.core.decide import KeeperPolicy, RequestPolicy, decide
from keeper.core.effects import IfAccounts, predict_remove, predict_settle
from keeper.core.error_codes import DriftError
from keeper.core.errors import ProgramError
from keeper.core.ifmath import Rejected
from keeper.core.profile import DRIFT_MAINNET
from keeper.core.snapshot import Snapshot
from keeper.core.status import snapshot_status
from keeper.core.verify import check_stake
from keeper.program.planner import Planner

__all__ = ["planner"]  # the fixture, shared with test_decide

REQUEST = 400_000_000
MATURED = dict(request_shares=REQUEST, request_ts=NOW - COOLDOWN)


def _with_market(snap: Snapshot, **over: int) -> Snapshot:
    m = snap.markets[0]
    return dataclasses.replace(
        snap, markets=(dataclasses.replace(m, market=dataclasses.replace(m.market, **over)),)
    )


def _accounts(snap: Snapshot) -> IfAccounts:
    m = snap.markets[0]
    return IfAccounts(
        market=m.market,
        state=snap.state,
        if_vault=m.insurance_fund_vault,
        spot_vault=m.spot_market_vault,
        stake=snap.stakes[0],
        user_stats=snap.user_stats[0],
        user_token=snap.wallets[0],
    )


CASES = {
    "open": (snapshot(**MATURED), None, None),
    "exchange withdrawals paused": (
        snapshot(**MATURED, exchange_status=rules.EXCHANGE_WITHDRAW_PAUSED),
        DriftError.ExchangePaused,
        "exchange withdrawals paused",
    ),
    "IF remove paused": (
        _with_market(snapshot(**MATURED), if_paused_operations=rules.IF_PAUSE_REMOVE),
        DriftError.InsuranceFundOperationPaused,
        "IF remove paused",
    ),
    "utilization above the limit": (
        snapshot(**MATURED, utilization_twap=950_000),
        DriftError.SpotMarketInsufficientDeposits,
        "utilization above the withdraw limit",
    ),
    "cooldown not matured": (
        snapshot(request_shares=REQUEST, request_ts=NOW - 10),
        DriftError.TryingToRemoveLiquidityTooFast,
        "cooldown",
    ),
}


@pytest.mark.parametrize("case", list(CASES))
def test_status_decide_planner_and_mirror_agree_on_withdrawability(
    planner: Planner, case: str
) -> None:
    snap, code, reason = CASES[case]
    open_ = code is None
    # status
    (market,), (stake,) = snapshot_status(snap, DRIFT_MAINNET)
    assert stake.withdrawable is open_
    assert stake.matures_ts == rules.withdraw_opens_at(snap.stakes[0], snap.markets[0].market)
    if reason is not None:
        assert reason in stake.withdraw_blockers
    # decide
    decision = decide(snap, ALICE, KeeperPolicy(settle=False), planner)
    assert [p.action for p in decision.plans] == ([ActionKind.WITHDRAW] if open_ else [])
    if not open_:
        (wait,) = decision.waits
        assert (wait.action, wait.reason) == (ActionKind.WITHDRAW, reason)
        if code is DriftError.TryingToRemoveLiquidityTooFast:
            assert wait.until_ts == stake.matures_ts
        else:
            assert wait.until_ts is None
    # the planner and the mirror
    if open_:
        planner.withdraw(snap, ALICE, 0)
        predict_remove(_accounts(snap), 0, snap.now_ts, DRIFT_MAINNET)
        assert market.withdrawals_open
        return
    with pytest.raises(ProgramError) as planned:
        planner.withdraw(snap, ALICE, 0)
    with pytest.raises(Rejected) as predicted:
        predict_remove(_accounts(snap), 0, snap.now_ts, DRIFT_MAINNET)
    assert planned.value.code == predicted.value.code == code
    # the market-wide view agrees for the market-wide reasons
    assert market.withdrawals_open is (code is DriftError.TryingToRemoveLiquidityTooFast)


def test_status_lists_every_reason_and_the_mirror_raises_the_first() -> None:
    snap = _with_market(
        snapshot(
            request_shares=REQUEST,
            request_ts=NOW - 10,
            utilization_twap=950_000,
            exchange_status=rules.EXCHANGE_WITHDRAW_PAUSED,
        ),
        if_paused_operations=rules.IF_PAUSE_REMOVE,
    )
    _, (stake,) = snapshot_status(snap, DRIFT_MAINNET)
    assert stake.withdraw_blockers == (
        "exchange withdrawals paused",
        "IF remove paused",
        "utilization above the withdraw limit",
        "cooldown",
    )
    with pytest.raises(Rejected) as predicted:
        predict_remove(_accounts(snap), 0, snap.now_ts, DRIFT_MAINNET)
    assert predicted.value.code == DriftError.ExchangePaused


def test_settle_opens_when_the_rules_say_and_decide_waits_until_then(planner: Planner) -> None:
    snap = snapshot(last_settle_ts=NOW - 60)
    opens = rules.settle_opens_at(snap.markets[0].market)
    assert opens == NOW + HOUR
    decision = decide(snap, ALICE, KeeperPolicy(), planner)
    assert decision.plans == () and decision.next_due_ts == opens
    with pytest.raises(Rejected) as early:
        predict_settle(_accounts(snap), snap.now_ts, DRIFT_MAINNET)
    assert early.value.code == DriftError.RevenueSettingsCannotSettleToIF
    later = dataclasses.replace(snap, now_ts=opens)
    assert rules.settle_blockers(later.state, later.markets[0].market, opens) == ()
    predict_settle(_accounts(later), opens, DRIFT_MAINNET)


# -- a stake whose if_base lags the market's shares_base ------------------------------------

#: the market rebased once (base 1) after the stake was written (base 0)
LAGGING_SHARES = 10 * 1_000_000_000


def _lagging(wallet_amount: int = 10_000_000) -> Snapshot:
    snap = snapshot()
    m = snap.markets[0]
    market = replace_fund(m.market, shares_base=1)
    stake = dataclasses.replace(snap.stakes[0], if_shares=LAGGING_SHARES, if_base=0)
    wallet = dataclasses.replace(snap.wallets[0], amount=wallet_amount)
    return dataclasses.replace(
        snap,
        markets=(dataclasses.replace(m, market=market),),
        stakes=(stake,),
        wallets=(wallet,),
    )


def test_a_lagging_stake_is_valued_as_rebased_by_status_verify_and_decide(
    planner: Planner,
) -> None:
    snap = _lagging()
    m, stake = snap.markets[0], snap.stakes[0]
    rebased = LAGGING_SHARES // 10
    assert ifmath.stake_shares(stake, m.market) == rebased == m.market.insurance_fund.user_shares
    value = ifmath.stake_value(stake, m.market, m.if_vault_amount)
    assert value == m.if_vault_amount  # the sole staker owns the whole vault
    _, (status,) = snapshot_status(snap, DRIFT_MAINNET)
    assert (status.shares, status.value_amount) == (rebased, value)
    # verify compares the rebased shares with the market's user shares: consistent
    findings = check_stake(stake, m, DriftAddresses(DRIFT_MAINNET.program_id))
    assert [f for f in findings if f.check == "shares"] == []
    # decide values it the same: a cap below its value requests the excess
    cap = KeeperPolicy(settle=False, request=RequestPolicy.CAP, max_stake_amount=value - REQUEST)
    (plan,) = decide(snap, ALICE, cap, planner).plans
    assert plan.action is ActionKind.REQUEST and plan.figures["amount"] == REQUEST


def test_the_request_policy_requests_a_lagging_stake_after_a_rebasing_add(
    planner: Planner,
) -> None:
    snap = _lagging()
    policy = KeeperPolicy(settle=False, request=RequestPolicy.UNSTAKE_ALL)
    (plan,) = decide(snap, ALICE, policy, planner).plans
    assert plan.action is ActionKind.REQUEST and len(plan.instructions) == 2  # add, then request
    assert plan.figures["rebase_add_amount"] == rules.REBASE_TOUCH_AMOUNT
    after = plan.effect.stake
    assert after is not None and after.if_base == 1
    # every share after the rebase (and the one-unit add) is requested: a full exit
    assert after.last_withdraw_request_shares == after.if_shares
    assert plan.figures["shares_requested"] == after.if_shares >= LAGGING_SHARES // 10
    wallet = snap.wallets[0].address
    paid_in = [t.amount for t in plan.effect.transfers if t.source == wallet]
    assert paid_in == [rules.REBASE_TOUCH_AMOUNT]
    # without a token to add, the request cannot be made (and says why)
    broke = decide(_lagging(wallet_amount=0), ALICE, policy, planner)
    assert broke.plans == () and "rebase" in broke.waits[0].reason
