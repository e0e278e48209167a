"""Velocity's Insurance Fund rules in the mirror, the rules and the read models.

Shared rules run under both profiles (they must agree where Velocity kept Drift's
check); the Velocity-specific ones cover what its source changed: the implicit settle
inside request/cancel/remove (book, then release unless a withdraw pause defers it),
the whole-share add, the remove's cash check, the settle allowance, the APR cap base
and the settle's own pause gate. Sources: docs/insurance-fund.md, "Velocity rules".
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable

import pytest
from mirror_factories import (
    ALICE,
    IF_VAULT,
    SPOT_VAULT,
    accounts,
    fund,
    market_with_pool,
    replace_fund,
    stake,
    state,
    token_amounts_after,
)
from solders.pubkey import Pubkey
from test_decide import COOLDOWN, HOUR, NOW, snapshot

from keeper.core import ifmath, rules
from keeper.core.actions import ActionKind
from keeper.core.decide import KeeperPolicy, RequestPolicy, decide
from keeper.core.effects import Effect, IfAccounts, predict
from keeper.core.error_codes import DriftError
from keeper.core.errors import ErrorTable
from keeper.core.ifmath import Rejected
from keeper.core.plan import Plan, rejection_error
from keeper.core.profile import DRIFT_MAINNET, VELOCITY, ProgramProfile
from keeper.core.snapshot import Snapshot
from keeper.core.status import snapshot_status
from keeper.core.views import SpotMarket

PROFILES = pytest.mark.parametrize("profile", [DRIFT_MAINNET, VELOCITY], ids=lambda p: p.name)
M = 10**6
#: 1 token = 1000 scaled units at index 1.0 with 6 decimals (mirror_factories)
SCALED_PER_TOKEN = 1000


def _code(instruction: str, acc: IfAccounts, args: dict[str, int], profile: ProgramProfile) -> int:
    with pytest.raises(Rejected) as info:
        predict(instruction, acc, args, NOW, profile)
    return info.value.code


def _staked(
    *,
    vault: int = 1000 * M,
    shares: int = 1000 * M,
    receivable: int = 0,
    request: int = 0,
    request_ts: int = NOW - COOLDOWN,
    pool: int = 0,
    last_settle_ts: int = NOW - 60,
    **market_over: int,
) -> IfAccounts:
    """Alice the sole staker of a fund; `receivable` tokens booked but not yet moved."""
    f = fund(
        total_shares=shares,
        user_shares=shares,
        revenue_settle_period_seconds=HOUR,
        last_revenue_settle_ts=last_settle_ts,
        unstaking_period_seconds=COOLDOWN,
    )
    m = market_with_pool(pool, f)
    scaled = receivable * SCALED_PER_TOKEN
    m = dataclasses.replace(
        m, if_revenue_receivable_scaled=scaled, deposit_balance=m.deposit_balance + scaled
    )
    m = dataclasses.replace(m, **market_over)
    s = stake(
        if_shares=shares,
        last_withdraw_request_shares=request,
        last_withdraw_request_value=request,
        last_withdraw_request_ts=request_ts,
    )
    return accounts(m, vault, the_stake=s, spot_vault_amount=ifmath.deposit_token_amount(m))


# -- rules both builds share ------------------------------------------------------------


@PROFILES
def test_add_gates_in_the_programs_order(profile: ProgramProfile) -> None:
    acc = _staked()
    add = "addInsuranceFundStake"
    assert _code(add, acc, {"marketIndex": 0, "amount": 0}, profile) == 6002
    paused = dataclasses.replace(
        acc, market=dataclasses.replace(acc.market, if_paused_operations=rules.IF_PAUSE_ADD)
    )
    assert _code(add, paused, {"marketIndex": 0, "amount": 5}, profile) == 6258
    assert _code(add, acc, {"marketIndex": 1, "amount": 5}, profile) == 6201
    pending = _staked(request=10)
    assert _code(add, pending, {"marketIndex": 0, "amount": 5}, profile) == 6198


@PROFILES
def test_request_cancel_remove_gates_agree(profile: ProgramProfile) -> None:
    req, cancel, remove = (
        "requestRemoveInsuranceFundStake",
        "cancelRequestRemoveInsuranceFundStake",
        "removeInsuranceFundStake",
    )
    acc = _staked()
    assert _code(req, acc, {"marketIndex": 1, "amount": 5}, profile) == 6201
    assert _code(req, acc, {"marketIndex": 0, "amount": 0}, profile) == 6200
    assert _code(req, acc, {"marketIndex": 0, "amount": 2000 * M}, profile) == 6145
    assert _code(req, _staked(request=5), {"marketIndex": 0, "amount": 5}, profile) == 6198
    assert _code(cancel, acc, {"marketIndex": 0}, profile) == 6199
    assert _code(remove, acc, {"marketIndex": 0}, profile) == 6185
    early = _staked(request=10 * M, request_ts=NOW - 10)
    assert _code(remove, early, {"marketIndex": 0}, profile) == 6133
    busy = dataclasses.replace(
        early, market=dataclasses.replace(early.market, utilization_twap=950_000)
    )
    assert _code(remove, busy, {"marketIndex": 0}, profile) == 6092


@PROFILES
def test_without_a_receivable_request_and_remove_price_as_drift_does(
    profile: ProgramProfile,
) -> None:
    acc = _staked(vault=1200 * M)
    e = predict(
        "requestRemoveInsuranceFundStake", acc, {"marketIndex": 0, "amount": 120 * M}, NOW, profile
    )
    assert e.stake is not None
    assert (e.stake.last_withdraw_request_shares, e.stake.last_withdraw_request_value) == (
        100 * M,
        120 * M,
    )
    assert e.transfers == ()
    matured = _staked(vault=1200 * M, request=100 * M)
    matured = dataclasses.replace(
        matured,
        stake=dataclasses.replace(matured.stake, last_withdraw_request_value=110 * M),
    )
    out = predict("removeInsuranceFundStake", matured, {"marketIndex": 0}, NOW, profile)
    assert token_amounts_after(out, matured)[IF_VAULT] == 1090 * M


# -- NAV and the implicit settle (Velocity) -----------------------------------------------


def test_request_settles_the_receivable_first_and_prices_off_nav() -> None:
    acc = _staked(receivable=200 * M)  # NAV 1200 tokens over 1000 shares
    e = predict(
        "requestRemoveInsuranceFundStake", acc, {"marketIndex": 0, "amount": 120 * M}, NOW, VELOCITY
    )
    assert e.stake is not None and e.market is not None
    assert e.stake.last_withdraw_request_shares == 100 * M
    assert e.stake.last_withdraw_request_value == 120 * M
    # the receivable was released and moved from the spot vault into the IF vault
    (move,) = e.transfers
    assert (move.source, move.destination, move.amount) == (SPOT_VAULT, IF_VAULT, 200 * M)
    assert e.market.if_revenue_receivable_scaled == 0
    assert e.market.deposit_balance == acc.market.deposit_balance - 200 * M * SCALED_PER_TOKEN
    assert [ev["name"] for ev in e.events] == ["InsuranceFundStakeRecord"]
    # the stake event reports the cash before, after the release
    assert e.events[-1]["data"]["insuranceVaultAmountBefore"] == 1200 * M
    # Drift has no receivable to count: the same accounts price off the vault alone
    drift = predict(
        "requestRemoveInsuranceFundStake",
        acc,
        {"marketIndex": 0, "amount": 120 * M},
        NOW,
        DRIFT_MAINNET,
    )
    assert drift.stake is not None and drift.stake.last_withdraw_request_shares == 120 * M


@pytest.mark.parametrize(
    "pause",
    ["exchange", "market"],
)
def test_a_withdraw_pause_defers_the_transfer_not_the_pricing(pause: str) -> None:
    acc = _staked(receivable=200 * M)
    if pause == "exchange":
        acc = dataclasses.replace(acc, state=state(exchange_status=rules.EXCHANGE_WITHDRAW_PAUSED))
    else:
        acc = dataclasses.replace(
            acc,
            market=dataclasses.replace(acc.market, paused_operations=rules.SPOT_PAUSE_WITHDRAW),
        )
    e = predict(
        "requestRemoveInsuranceFundStake", acc, {"marketIndex": 0, "amount": 120 * M}, NOW, VELOCITY
    )
    assert e.transfers == ()  # the booked revenue waits in the spot vault
    assert e.market is not None
    assert e.market.if_revenue_receivable_scaled == 200 * M * SCALED_PER_TOKEN
    assert e.stake is not None and e.stake.last_withdraw_request_value == 120 * M


def test_cancel_settles_first_and_the_sole_staker_keeps_every_share() -> None:
    # Alice requested every share at 1000, the fund rose to 1100 (NAV) since
    acc = _staked(receivable=100 * M, request=1000 * M)
    acc = dataclasses.replace(
        acc, stake=dataclasses.replace(acc.stake, last_withdraw_request_value=1000 * M - 1)
    )
    e = predict("cancelRequestRemoveInsuranceFundStake", acc, {"marketIndex": 0}, NOW, VELOCITY)
    assert e.stake is not None and e.stake.if_shares == 1000 * M  # nothing forfeited
    assert [t.amount for t in e.transfers] == [100 * M]
    # Drift's math burns the whole request of a sole staker (OtterSec #108)
    drift = predict(
        "cancelRequestRemoveInsuranceFundStake",
        _staked(vault=1100 * M, request=1000 * M),
        {"marketIndex": 0},
        NOW,
        DRIFT_MAINNET,
    )
    assert drift.stake is not None and drift.stake.if_shares < 1000 * M


def test_cancel_of_a_request_rebased_to_zero_is_allowed() -> None:
    acc = _staked(vault=10, shares=1000 * M, request=5)  # a rebase floors 5 shares to 0
    assert _code(
        "cancelRequestRemoveInsuranceFundStake", acc, {"marketIndex": 0}, DRIFT_MAINNET
    ) == (DriftError.InvalidIFUnstakeCancel)
    e = predict("cancelRequestRemoveInsuranceFundStake", acc, {"marketIndex": 0}, NOW, VELOCITY)
    assert e.stake is not None and e.stake.last_withdraw_request_shares == 0


# -- whole-share add ----------------------------------------------------------------------


def test_add_transfers_the_whole_shares_cost_and_keeps_the_remainder() -> None:
    acc = _staked(vault=1_000_000, shares=1)  # one share costs 1_000_000
    e = predict(
        "addInsuranceFundStake", acc, {"marketIndex": 0, "amount": 1_500_000}, NOW, VELOCITY
    )
    assert e.stake is not None and e.market is not None
    assert e.stake.if_shares == 2 and e.stake.cost_basis == acc.stake.cost_basis + 1_000_000
    (move,) = e.transfers
    assert move.amount == 1_000_000
    assert e.events[-1]["data"]["amount"] == 1_000_000
    assert e.market.insurance_fund.total_shares == 2
    code = _code("addInsuranceFundStake", acc, {"marketIndex": 0, "amount": 999_999}, VELOCITY)
    assert code == DriftError.IFDepositMintsZeroShares == 6360
    # Drift takes all of it and mints floor(amount·T/V) (here 1 share for 1.5 prices)
    drift = predict(
        "addInsuranceFundStake", acc, {"marketIndex": 0, "amount": 1_500_000}, NOW, DRIFT_MAINNET
    )
    assert [t.amount for t in drift.transfers] == [1_500_000]


def test_add_counts_the_receivable_in_the_price() -> None:
    # NAV 1200 over 1000 shares, paused: the receivable stays, the price is 1.2
    acc = _staked(receivable=200 * M)
    acc = dataclasses.replace(acc, state=state(exchange_status=rules.EXCHANGE_WITHDRAW_PAUSED))
    e = predict(
        "addInsuranceFundStake", acc, {"marketIndex": 0, "amount": 12 * M + 1}, NOW, VELOCITY
    )
    assert e.stake is not None
    assert e.stake.if_shares - acc.stake.if_shares == 10 * M
    assert [t.amount for t in e.transfers] == [12 * M]
    assert e.user_stats is not None
    # the quote stake snapshot values the stake at NAV + cost (the sole staker's all)
    assert e.user_stats.if_staked_quote_asset_amount == 1212 * M


# -- the remove's cash check and outflow record ------------------------------------------


def test_remove_refuses_a_payout_the_cash_cannot_cover_while_paused() -> None:
    # 900 cash + 300 booked, paused at the market: Alice's matured 1000-share request is
    # worth 1200 at NAV and was frozen at 1000; the vault's cash (900) cannot pay it.
    acc = _staked(vault=900 * M, receivable=300 * M, request=1000 * M)
    acc = dataclasses.replace(
        acc,
        market=dataclasses.replace(acc.market, paused_operations=rules.SPOT_PAUSE_WITHDRAW),
        stake=dataclasses.replace(acc.stake, last_withdraw_request_value=1000 * M),
    )
    with pytest.raises(Rejected) as info:
        predict("removeInsuranceFundStake", acc, {"marketIndex": 0}, NOW, VELOCITY)
    assert (info.value.code, info.value.site) == (DriftError.InvalidIFUnstakeSize, "cash")
    blockers = rules.withdraw_blockers(
        acc.state,
        acc.market,
        acc.stake,
        900 * M,
        NOW,
        VELOCITY,  # type: ignore[arg-type]
    )
    assert blockers[-1].code is DriftError.InvalidIFUnstakeSize
    # once the pause lifts the remove releases the receivable first and pays
    open_ = dataclasses.replace(acc, market=dataclasses.replace(acc.market, paused_operations=0))
    e = predict("removeInsuranceFundStake", open_, {"marketIndex": 0}, NOW, VELOCITY)
    assert [t.amount for t in e.transfers] == [300 * M, 1000 * M]
    assert token_amounts_after(e, open_)[IF_VAULT] == 200 * M


def test_remove_lowers_the_cap_base_to_the_nav_it_leaves() -> None:
    acc = _staked(vault=1200 * M, request=100 * M, if_last_settle_vault_amount=1200 * M)
    e = predict("removeInsuranceFundStake", acc, {"marketIndex": 0}, NOW, VELOCITY)
    assert e.market is not None
    assert e.market.if_last_settle_vault_amount == 1100 * M
    drift = predict("removeInsuranceFundStake", acc, {"marketIndex": 0}, NOW, DRIFT_MAINNET)
    assert drift.market is not None and drift.market.if_last_settle_vault_amount == 1200 * M


# -- settle: booking, allowance, cap, pause gate, ballast ---------------------------------


def _settle(acc: IfAccounts, profile: ProgramProfile = VELOCITY) -> Effect:
    return predict("settleRevenueToInsuranceFund", acc, {"spotMarketIndex": 0}, NOW, profile)


def test_the_seeding_settle_books_nothing_and_snapshots_the_nav() -> None:
    acc = _staked(pool=500 * M, last_settle_ts=NOW - HOUR)
    e = _settle(acc)  # cap base 0 (never settled): no 6177, only the snapshot
    assert e.market is not None
    assert e.market.if_last_settle_vault_amount == 1000 * M
    assert [t.amount for t in e.transfers] == [0]
    assert e.market.revenue_settle_allowance == 0
    assert e.market.insurance_fund.last_revenue_settle_ts == NOW
    (record,) = [ev for ev in e.events if ev["name"] == "InsuranceFundRecord"]
    assert record["data"]["amount"] == 0


def test_the_settle_caps_at_a_tenth_and_the_apr_of_the_lower_nav() -> None:
    acc = _staked(pool=500 * M, last_settle_ts=NOW - HOUR, if_last_settle_vault_amount=800 * M)
    e = _settle(acc)
    cap = ifmath.settle_cap_amount(800 * M, 10_000_000, HOUR)  # min(NAV 1000, 800)
    assert cap < 50 * M
    assert [t.amount for t in e.transfers] == [cap]
    assert e.market is not None
    assert e.market.revenue_settle_allowance == 0
    assert e.market.if_last_settle_vault_amount == 1000 * M + cap
    assert e.market.insurance_fund.total_shares == 1000 * M  # no protocol shares minted
    # the tenth binds when the pool is small
    small = _settle(
        _staked(pool=5 * M, last_settle_ts=NOW - HOUR, if_last_settle_vault_amount=1000 * M)
    )
    assert [t.amount for t in small.transfers] == [M // 2]


def test_an_allowance_left_in_the_period_is_booked_by_the_next_request() -> None:
    acc = _staked(pool=500 * M, revenue_settle_allowance=30 * M, if_last_settle_vault_amount=7)
    assert rules.settled_by_next_stake_instruction(acc.market, VELOCITY)
    assert not rules.settled_by_next_stake_instruction(acc.market, DRIFT_MAINNET)
    e = predict(
        "requestRemoveInsuranceFundStake", acc, {"marketIndex": 0, "amount": 10 * M}, NOW, VELOCITY
    )
    assert e.market is not None
    assert e.market.revenue_settle_allowance == 0
    assert [t.amount for t in e.transfers] == [30 * M]
    # no new period: the settle clock and the cap base are untouched
    assert e.market.insurance_fund.last_revenue_settle_ts == NOW - 60
    assert e.market.if_last_settle_vault_amount == 7
    assert [ev["name"] for ev in e.events] == ["InsuranceFundRecord", "InsuranceFundStakeRecord"]
    # the request is priced after the booking: NAV 1030 over 1000 shares
    assert e.stake is not None
    assert e.stake.last_withdraw_request_shares == ifmath.amount_to_shares(
        10 * M, 1000 * M, 1030 * M
    )


def test_the_perp_reservation_stays_in_the_pool() -> None:
    acc = _staked(
        pool=100 * M,
        revenue_settle_allowance=100 * M,
        perp_if_revenue_receivable=60 * M,
        if_last_settle_vault_amount=1,
    )
    e = predict(
        "requestRemoveInsuranceFundStake", acc, {"marketIndex": 0, "amount": 10 * M}, NOW, VELOCITY
    )
    assert e.market is not None
    booked = e.transfers[0].amount
    assert booked < 40 * M and booked >= 40 * M - 1  # one scaled unit stays besides the reservation
    assert ifmath.revenue_pool_amount(e.market) >= 60 * M


def test_settle_refuses_a_market_whose_withdrawals_are_paused() -> None:
    acc = _staked(pool=500 * M, last_settle_ts=NOW - HOUR, if_last_settle_vault_amount=1000 * M)
    paused = dataclasses.replace(
        acc, market=dataclasses.replace(acc.market, paused_operations=rules.SPOT_PAUSE_WITHDRAW)
    )
    with pytest.raises(Rejected) as info:
        _settle(paused)
    assert info.value.code == DriftError.MarketWithdrawPaused == 6149
    _settle(paused, DRIFT_MAINNET)  # Drift's settle does not ask the market's pause


def test_a_fund_without_shares_is_seeded_with_ballast() -> None:
    acc = _staked(shares=0, vault=100 * M, pool=50 * M, last_settle_ts=NOW - HOUR)
    acc = dataclasses.replace(acc, stake=stake())
    e = _settle(acc)
    assert e.market is not None
    f = e.market.insurance_fund
    # no user shares: no cap; the liquidity rule passes the whole pool
    assert [t.amount for t in e.transfers] == [50 * M]
    assert (f.total_shares, f.user_shares) == (150 * M, 0)


def test_an_empty_explicit_settle_is_refused_once_the_cap_base_is_set() -> None:
    acc = _staked(pool=0, last_settle_ts=NOW - HOUR, if_last_settle_vault_amount=1000 * M)
    with pytest.raises(Rejected) as info:
        _settle(acc)
    assert info.value.code == DriftError.NoRevenueToSettleToIF


# -- status, decide and the mirror agree under Velocity -----------------------------------


class MirrorPlanner:
    """A planner that predicts with the mirror alone (no instructions are built)."""

    def __init__(self, profile: ProgramProfile) -> None:
        self._profile = profile
        self._errors = ErrorTable({})

    @property
    def profile(self) -> ProgramProfile:
        return self._profile

    @property
    def errors(self) -> ErrorTable:
        return self._errors

    def _plan(
        self, action: ActionKind, snap: Snapshot, who: Pubkey, make: Callable[[], Effect]
    ) -> Plan:
        try:
            effect = make()
        except Rejected as rej:
            raise rejection_error(rej, self._errors) from None
        return Plan(action, 0, who, (), effect, {})

    def _acc(self, snap: Snapshot) -> IfAccounts:
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

    def settle(self, snap: Snapshot, payer: Pubkey, market_index: int) -> Plan:
        args = {"spotMarketIndex": market_index}
        return self._plan(
            ActionKind.SETTLE,
            snap,
            payer,
            lambda: predict(
                "settleRevenueToInsuranceFund", self._acc(snap), args, snap.now_ts, self._profile
            ),
        )

    def withdraw(self, snap: Snapshot, authority: Pubkey, market_index: int) -> Plan:
        args = {"marketIndex": market_index}
        return self._plan(
            ActionKind.WITHDRAW,
            snap,
            authority,
            lambda: predict(
                "removeInsuranceFundStake", self._acc(snap), args, snap.now_ts, self._profile
            ),
        )

    def unstake(
        self, snap: Snapshot, authority: Pubkey, market_index: int, amount: int | None
    ) -> Plan:
        assert amount is not None
        args = {"marketIndex": market_index, "amount": amount}
        return self._plan(
            ActionKind.REQUEST,
            snap,
            authority,
            lambda: predict(
                "requestRemoveInsuranceFundStake", self._acc(snap), args, snap.now_ts, self._profile
            ),
        )


def _with_receivable(snap: Snapshot, tokens: int, **market_over: int) -> Snapshot:
    m = snap.markets[0]
    scaled = tokens * SCALED_PER_TOKEN
    market: SpotMarket = dataclasses.replace(
        m.market,
        if_revenue_receivable_scaled=scaled,
        deposit_balance=m.market.deposit_balance + scaled,
        **market_over,
    )
    return dataclasses.replace(snap, markets=(dataclasses.replace(m, market=market),))


def test_status_values_stakes_at_nav_as_the_mirror_does() -> None:
    snap = _with_receivable(snapshot(), 200 * M)
    (market,), (status,) = snapshot_status(snap, VELOCITY)
    assert market.nav == 1200 * M and market.if_receivable_amount == 200 * M
    assert market.share_price == 1_200_000
    assert status.value_amount == 1200 * M  # the sole staker owns the NAV
    (_, (drift_status,)) = snapshot_status(snap, DRIFT_MAINNET)
    assert drift_status.value_amount == 1000 * M


def test_decide_sizes_a_cap_request_at_nav_and_the_mirror_agrees() -> None:
    snap = _with_receivable(snapshot(), 200 * M)
    planner = MirrorPlanner(VELOCITY)
    policy = KeeperPolicy(settle=False, request=RequestPolicy.CAP, max_stake_amount=1100 * M)
    (plan,) = decide(snap, ALICE, policy, planner).plans
    assert plan.action is ActionKind.REQUEST
    assert plan.effect.stake is not None
    # the excess over the cap at NAV (1200 − 1100), less the request's share rounding
    shares = ifmath.amount_to_shares(100 * M, 1000 * M, 1200 * M)
    assert plan.effect.stake.last_withdraw_request_shares == shares
    assert plan.effect.stake.last_withdraw_request_value == 100 * M - 1


def test_status_and_decide_agree_on_the_cash_check() -> None:
    base = snapshot(request_shares=1000 * M, request_ts=NOW - COOLDOWN)
    snap = _with_receivable(base, 300 * M, paused_operations=rules.SPOT_PAUSE_WITHDRAW)
    m = snap.markets[0]
    snap = dataclasses.replace(
        snap,
        markets=(
            dataclasses.replace(
                m, insurance_fund_vault=dataclasses.replace(m.insurance_fund_vault, amount=900 * M)
            ),
        ),
    )
    _, (status,) = snapshot_status(snap, VELOCITY)
    assert not status.withdrawable
    decision = decide(snap, ALICE, KeeperPolicy(settle=False), MirrorPlanner(VELOCITY))
    assert decision.plans == ()
    (wait,) = decision.waits
    assert wait.action is ActionKind.WITHDRAW and wait.reason == status.withdraw_blockers[-1]


def test_decide_says_booked_revenue_waits_for_the_next_stake_instruction() -> None:
    snap = _with_receivable(snapshot(last_settle_ts=NOW - 60), 5 * M)
    decision = decide(snap, ALICE, KeeperPolicy(), MirrorPlanner(VELOCITY))
    (wait,) = decision.waits
    assert wait.action is ActionKind.SETTLE
    assert "next add, request, cancel or remove" in wait.reason
    assert wait.until_ts == rules.settle_opens_at(snap.markets[0].market)


def test_decide_waits_on_a_market_withdraw_pause_for_a_settle() -> None:
    snap = _with_receivable(snapshot(), 0, paused_operations=rules.SPOT_PAUSE_WITHDRAW)
    decision = decide(snap, ALICE, KeeperPolicy(), MirrorPlanner(VELOCITY))
    (wait,) = decision.waits
    assert (wait.action, wait.until_ts) == (ActionKind.SETTLE, None)
    assert wait.reason.startswith("the market has paused withdrawals")


def test_replace_fund_helper_is_shared() -> None:
    # mirror_factories.replace_fund keeps working for Velocity markets (views are shared)
    m = replace_fund(_staked().market, total_shares=5)
    assert m.insurance_fund.total_shares == 5


def test_status_sees_the_receivable_the_remove_releases_first() -> None:
    # 900 cash + 300 booked, no pause: the remove releases the 300 before it pays 1000
    base = snapshot(request_shares=1000 * M, request_ts=NOW - COOLDOWN)
    snap = _with_receivable(base, 300 * M)
    m = snap.markets[0]
    vault = dataclasses.replace(m.insurance_fund_vault, amount=900 * M)
    snap = dataclasses.replace(snap, markets=(dataclasses.replace(m, insurance_fund_vault=vault),))
    _, (status,) = snapshot_status(snap, VELOCITY)
    assert status.withdrawable and status.withdraw_blockers == ()
    (plan,) = decide(snap, ALICE, KeeperPolicy(settle=False), MirrorPlanner(VELOCITY)).plans
    assert plan.action is ActionKind.WITHDRAW
    assert [t.amount for t in plan.effect.transfers] == [300 * M, 1000 * M]


def test_the_rebase_touch_buys_one_whole_share_on_velocity() -> None:
    # after a big gain one share costs 3 base units: a 1-unit add would be 6360
    acc = _staked(vault=3000, shares=1000)
    assert rules.rebase_touch_amount(acc.market, 3000, DRIFT_MAINNET) == 1
    touch = rules.rebase_touch_amount(acc.market, 3000, VELOCITY)
    assert touch == 3
    e = predict("addInsuranceFundStake", acc, {"marketIndex": 0, "amount": touch}, NOW, VELOCITY)
    assert e.stake is not None and e.stake.if_shares == 1001
    one = {"marketIndex": 0, "amount": 1}
    assert _code("addInsuranceFundStake", acc, one, VELOCITY) == 6360


def test_a_full_exit_amount_is_priced_at_nav() -> None:
    acc = _staked(receivable=200 * M)
    amount = rules.request_amount_for_shares(acc.market, 1000 * M, 1000 * M, VELOCITY)
    args = {"marketIndex": 0, "amount": amount}
    e = predict("requestRemoveInsuranceFundStake", acc, args, NOW, VELOCITY)
    assert e.stake is not None and e.stake.last_withdraw_request_shares == 1000 * M
    drift_amount = rules.request_amount_for_shares(acc.market, 1000 * M, 1000 * M, DRIFT_MAINNET)
    assert drift_amount < amount
