"""Invariant checks hold on every state the real program produced, and catch tampering."""

from __future__ import annotations

import dataclasses

import pytest
from solders.pubkey import Pubkey

from keeper.core.addresses import DriftAddresses
from keeper.core.errors import VerificationError
from keeper.core.snapshot import Snapshot, build_snapshot
from keeper.core.verify import Severity, check_snapshot, diff_views, require_consistent
from keeper.core.views import TokenAccount
from keeper.program.codec import AccountCodec
from keeper.program.goldentrace import InstructionStep, Trace, TraceAccount, replay_world


def snapshot_of(world: dict[Pubkey, TraceAccount], codec: AccountCodec, now_ts: int) -> Snapshot:
    return build_snapshot(
        (a.raw() for a in world.values() if a.has_data), codec, slot=0, now_ts=now_ts
    )


def test_every_traced_state_is_consistent(traces: list[Trace], codec: AccountCodec) -> None:
    addresses = DriftAddresses(codec.program_id)
    checked = 0
    for trace in traces:
        for step, world in replay_world(trace):
            now = step.clock.unix_timestamp if isinstance(step, InstructionStep) else 0
            findings = check_snapshot(snapshot_of(world, codec, now), addresses)
            errors = [f for f in findings if f.severity is Severity.ERROR]
            assert not errors, f"{trace.name} after step {step.index}: {errors}"
            checked += 1
    assert checked


@pytest.fixture(scope="module")
def busy_snapshot(bundled_traces: list[Trace], codec: AccountCodec) -> Snapshot:
    """The last state of the shipped trace with the most stakes."""
    best: Snapshot | None = None
    for trace in bundled_traces:
        *_, (_step, world) = replay_world(trace)
        snap = snapshot_of(world, codec, 0)
        if best is None or len(snap.stakes) > len(best.stakes):
            best = snap
    assert best is not None and best.stakes
    return best


def _checks(snap: Snapshot, codec: AccountCodec) -> set[str]:
    return {
        f.check
        for f in check_snapshot(snap, DriftAddresses(codec.program_id))
        if f.severity is Severity.ERROR
    }


def test_user_shares_above_total_is_caught(busy_snapshot: Snapshot, codec: AccountCodec) -> None:
    m = busy_snapshot.markets[0]
    fund = dataclasses.replace(
        m.market.insurance_fund, user_shares=m.market.insurance_fund.total_shares + 1
    )
    bad = dataclasses.replace(m, market=dataclasses.replace(m.market, insurance_fund=fund))
    snap = dataclasses.replace(busy_snapshot, markets=(bad, *busy_snapshot.markets[1:]))
    assert "shares" in _checks(snap, codec)
    with pytest.raises(VerificationError, match="user shares"):
        require_consistent(check_snapshot(snap, DriftAddresses(codec.program_id)))


def test_foreign_vault_owner_is_caught(busy_snapshot: Snapshot, codec: AccountCodec) -> None:
    m = busy_snapshot.markets[0]
    thief = Pubkey.from_string("So11111111111111111111111111111111111111112")
    vault: TokenAccount = dataclasses.replace(m.insurance_fund_vault, owner=thief)
    snap = dataclasses.replace(
        busy_snapshot, markets=(dataclasses.replace(m, insurance_fund_vault=vault),)
    )
    assert "vault-owner" in _checks(snap, codec)


def test_wrong_vault_account_is_caught(busy_snapshot: Snapshot, codec: AccountCodec) -> None:
    m = busy_snapshot.markets[0]
    snap = dataclasses.replace(
        busy_snapshot, markets=(dataclasses.replace(m, insurance_fund_vault=m.spot_market_vault),)
    )
    assert {"vault-link"} <= _checks(snap, codec)


def test_stake_at_wrong_address_and_oversized_request(
    busy_snapshot: Snapshot, codec: AccountCodec
) -> None:
    stake = busy_snapshot.stakes[0]
    moved = dataclasses.replace(stake, address=busy_snapshot.state.address)
    greedy = dataclasses.replace(stake, last_withdraw_request_shares=stake.if_shares + 1)
    assert "pda" in _checks(dataclasses.replace(busy_snapshot, stakes=(moved,)), codec)
    assert "request" in _checks(dataclasses.replace(busy_snapshot, stakes=(greedy,)), codec)


def test_stakes_summing_above_user_shares(busy_snapshot: Snapshot, codec: AccountCodec) -> None:
    m = busy_snapshot.markets[0]
    stake = next(s for s in busy_snapshot.stakes if s.market_index == m.market_index)
    fund = m.market.insurance_fund
    big = dataclasses.replace(stake, if_shares=fund.user_shares, if_base=fund.shares_base)
    twin = dataclasses.replace(big, authority=busy_snapshot.state.admin)
    twin = dataclasses.replace(
        twin,
        address=DriftAddresses(codec.program_id).insurance_fund_stake(
            twin.authority, twin.market_index
        ),
    )
    snap = dataclasses.replace(busy_snapshot, stakes=(big, twin))
    assert "shares" in _checks(snap, codec)


def test_diff_views_names_nested_fields(busy_snapshot: Snapshot) -> None:
    market = busy_snapshot.markets[0].market
    fund = dataclasses.replace(
        market.insurance_fund, total_shares=market.insurance_fund.total_shares + 5
    )
    other = dataclasses.replace(
        market, insurance_fund=fund, utilization_twap=market.utilization_twap + 1
    )
    fields = {m.field for m in diff_views(market, other)}
    assert fields == {"insurance_fund.total_shares", "utilization_twap"}
    assert diff_views(market, market) == []
