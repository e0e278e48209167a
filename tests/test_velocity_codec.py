"""Velocity accounts decode to the keeper's views and re-encode byte for byte.

The account bytes are built here with `struct` at the offsets of the Velocity structs
(read from the sources keeper/data/idl/README.md names), independently of the IDL
layout the codec uses, so a wrong IDL offset fails these tests.
"""

from __future__ import annotations

import dataclasses
import hashlib
import struct

import pytest
from solders.pubkey import Pubkey

from keeper.core.errors import AccountNotExtended, DecodeError
from keeper.core.profile import VELOCITY
from keeper.core.views import InsuranceFundStake, RawAccount, SpotMarket, State, UserStats
from keeper.program.codec import AccountCodec
from keeper.program.idl import load_idl

PROGRAM = VELOCITY.program_id
ADDR = VELOCITY.addresses
SPOT = ADDR.spot_market(0)
ORACLE, MINT, IF_VAULT, AUTHORITY, ADMIN = (Pubkey.new_unique() for _ in range(5))


def _disc(name: str) -> bytes:
    return hashlib.sha256(f"account:{name}".encode()).digest()[:8]


def _put(data: bytearray, offset: int, fmt: str, value: object) -> None:
    struct.pack_into("<" + fmt, data, offset, value)


def _u128(data: bytearray, offset: int, value: int) -> None:
    data[offset : offset + 16] = value.to_bytes(16, "little")


def _noise(data: bytearray, start: int, stop: int) -> None:
    """Fields the views do not read: they must come back untouched."""
    for i in range(start, stop):
        data[i] = (i * 37 + 11) % 251


@pytest.fixture(scope="module")
def codec() -> AccountCodec:
    return AccountCodec(load_idl(VELOCITY.idl_path), PROGRAM)


def spot_market_bytes(size: int = 1064, status_byte: int = 1) -> bytes:
    data = bytearray(size)
    _noise(data, 8, size)
    data[0:8] = _disc("SpotMarket")
    data[8:40], data[40:72], data[72:104] = bytes(SPOT), bytes(ORACLE), bytes(MINT)
    data[104:136] = bytes(ADDR.spot_market_vault(0))
    data[136:168] = b"USDT".ljust(32, b" ")
    data[168:200] = bytes(IF_VAULT)
    _u128(data, 200, 5_000_000_000)  # total_shares
    _u128(data, 216, 4_000_000_000)  # user_shares
    _u128(data, 232, 2)  # shares_base
    _put(data, 248, "q", 13 * 86_400)  # unstaking_period
    _put(data, 256, "q", 1_700_000_000)  # last_revenue_settle_ts
    _put(data, 264, "q", 3600)  # revenue_settle_period
    _put(data, 272, "I", 100_000)  # if_fee_factor
    _u128(data, 296, 123_456_789_000)  # deposit_balance
    _u128(data, 312, 23_456_789_000)  # borrow_balance
    _u128(data, 328, 10_000_000_000_123)  # cumulative_deposit_interest
    _u128(data, 344, 10_000_000_000_456)  # cumulative_borrow_interest
    _u128(data, 392, 77_000_000_000)  # revenue_pool.scaled_balance
    _u128(data, 440, 5_000_000_000)  # insurance_fund_revenue_receivable_scaled
    for offset, value in ((560, 11), (568, 12), (576, 650_000), (584, 1_700_000_100)):
        _put(data, offset, "Q", value)  # deposit/borrow twap, utilization_twap, last_interest_ts
    _put(data, 592, "Q", 1_700_000_200)  # last_twap_ts
    _put(data, 600, "q", 0)  # expiry_ts
    _put(data, 552, "Q", 9_000_000)  # max_token_deposits
    for offset, value in ((684, 800_000), (688, 50_000), (692, 1_000_000), (696, 6)):
        _put(data, offset, "I", value)  # optimal util/rate, max rate, decimals
    _put(data, 700, "H", 0)  # market_index
    data[702], data[703] = 0, 2  # orders_enabled (bool), oracle_source QuoteAsset
    data[704] = status_byte
    data[705] = 0  # asset_tier Collateral
    data[706], data[707] = 0x08, 0x04  # paused_operations, if_paused_operations
    data[744], data[745] = 3, 0  # min_borrow_rate, token_program_flag
    _put(data, 800, "Q", 1_000_000_000)  # if_last_settle_vault_amount
    if size >= 824:
        _put(data, 808, "Q", 42_000)  # revenue_settle_allowance
        _put(data, 816, "Q", 7_000)  # perp_market_if_revenue_receivable
    return bytes(data)


def state_bytes(size: int = 1744) -> bytes:
    data = bytearray(size)
    _noise(data, 8, size)
    data[0:8] = _disc("State")
    data[8:40] = bytes(ADMIN)  # cold_admin
    data[488:520] = bytes(ADDR.drift_signer())  # signer
    _put(data, 1336, "Q", 17)  # number_of_authorities
    _put(data, 1360, "H", 3)  # number_of_spot_markets
    data[1362] = ADDR.drift_signer_nonce()
    data[1366] = 0x02  # exchange_status: WithdrawPaused
    return bytes(data)


def user_stats_bytes() -> bytes:
    data = bytearray(240)
    _noise(data, 8, 240)
    data[0:8] = _disc("UserStats")
    data[8:40] = bytes(AUTHORITY)
    _put(data, 152, "Q", 1_234_567)  # if_staked_quote_asset_amount
    _put(data, 160, "H", 2)  # number_of_sub_accounts
    return bytes(data)


def stake_bytes() -> bytes:
    data = bytearray(136)
    data[0:8] = _disc("InsuranceFundStake")
    data[8:40] = bytes(AUTHORITY)
    _u128(data, 40, 1_000_000)
    _u128(data, 56, 250_000)
    _u128(data, 72, 2)
    _put(data, 88, "q", 1_700_000_000)
    _put(data, 96, "Q", 249_999)
    _put(data, 104, "q", 1_700_000_500)
    _put(data, 112, "q", -5)
    _put(data, 120, "H", 0)
    return bytes(data)


def _raw(address: Pubkey, data: bytes) -> RawAccount:
    return RawAccount(address, PROGRAM, 1_000_000, data)


def test_sizes_come_from_the_idl(codec: AccountCodec) -> None:
    assert codec.sizes == {
        "SpotMarket": 1064,
        "State": 1744,
        "UserStats": 240,
        "InsuranceFundStake": 136,
    }


def test_a_velocity_spot_market_decodes_to_the_view(codec: AccountCodec) -> None:
    market = codec.decode_spot_market(_raw(SPOT, spot_market_bytes()))
    assert (market.address, market.oracle, market.mint) == (SPOT, ORACLE, MINT)
    assert market.name == "USDT" and market.market_index == 0 and market.decimals == 6
    fund = market.insurance_fund
    assert fund.vault == IF_VAULT and fund.total_shares == 5_000_000_000
    assert fund.user_shares == 4_000_000_000 and fund.shares_base == 2
    assert fund.unstaking_period_seconds == 13 * 86_400
    assert fund.revenue_settle_period_seconds == 3600
    # one if_fee_factor feeds both of the views' factors
    assert fund.total_factor == fund.user_factor == 100_000
    assert market.deposit_balance == 123_456_789_000
    assert market.cumulative_deposit_interest == 10_000_000_000_123
    assert market.revenue_pool_scaled_balance == 77_000_000_000
    assert market.utilization_twap == 650_000 and market.max_token_deposits == 9_000_000
    assert (market.paused_operations, market.if_paused_operations) == (0x08, 0x04)
    assert market.min_borrow_rate == 3
    # the four Velocity IF fields
    assert market.if_revenue_receivable_scaled == 5_000_000_000
    assert market.revenue_settle_allowance == 42_000
    assert market.perp_if_revenue_receivable == 7_000
    assert market.if_last_settle_vault_amount == 1_000_000_000
    # what Velocity lacks reads 0
    assert market.fuel_boost_insurance == 0
    assert market.status_name == "Active"


@pytest.mark.parametrize(
    ("byte", "name"),
    [(0, "Initialized"), (1, "Active"), (2, "ReduceOnly"), (3, "Settlement"), (4, "Delisted")],
)
def test_velocity_market_status_maps_by_name(codec: AccountCodec, byte: int, name: str) -> None:
    data = spot_market_bytes(status_byte=byte)
    market = codec.decode_spot_market(_raw(SPOT, data))
    assert market.status_name == name
    assert codec.encode(market) == data


def test_a_status_velocity_lacks_cannot_be_encoded(codec: AccountCodec) -> None:
    market = codec.decode_spot_market(_raw(SPOT, spot_market_bytes()))
    funding_paused = dataclasses.replace(market, status=2)  # Drift's FundingPaused
    with pytest.raises(DecodeError, match="no market status 'FundingPaused'"):
        codec.encode(funding_paused)


def test_an_out_of_range_status_byte_is_a_decode_error(codec: AccountCodec) -> None:
    with pytest.raises(DecodeError):
        codec.decode_spot_market(_raw(SPOT, spot_market_bytes(status_byte=5)))


def test_spot_market_round_trips_byte_for_byte(codec: AccountCodec) -> None:
    data = spot_market_bytes()
    market = codec.decode_spot_market(_raw(SPOT, data))
    assert codec.encode(market) == data


def test_changed_velocity_fields_land_at_their_offsets(codec: AccountCodec) -> None:
    data = spot_market_bytes()
    market = codec.decode_spot_market(_raw(SPOT, data))
    changed = dataclasses.replace(
        market,
        if_revenue_receivable_scaled=9,
        revenue_settle_allowance=8,
        perp_if_revenue_receivable=7,
        if_last_settle_vault_amount=6,
        revenue_pool_scaled_balance=5,
        insurance_fund=dataclasses.replace(market.insurance_fund, total_factor=4, user_factor=4),
    )
    out = codec.encode(changed)
    expected = bytearray(data)
    _u128(expected, 440, 9)
    _put(expected, 808, "Q", 8)
    _put(expected, 816, "Q", 7)
    _put(expected, 800, "Q", 6)
    _u128(expected, 392, 5)
    _put(expected, 272, "I", 4)
    assert out == bytes(expected)


def test_two_if_factors_that_differ_cannot_be_encoded(codec: AccountCodec) -> None:
    market = codec.decode_spot_market(_raw(SPOT, spot_market_bytes()))
    split = dataclasses.replace(
        market, insurance_fund=dataclasses.replace(market.insurance_fund, user_factor=1)
    )
    with pytest.raises(DecodeError, match="one field"):
        codec.encode(split)


def test_a_field_velocity_lacks_must_stay_zero(codec: AccountCodec) -> None:
    market = codec.decode_spot_market(_raw(SPOT, spot_market_bytes()))
    with pytest.raises(DecodeError, match="no field for fuel_boost_insurance"):
        codec.encode(dataclasses.replace(market, fuel_boost_insurance=1))


def test_an_unextended_spot_market_is_refused_with_a_typed_error(codec: AccountCodec) -> None:
    short = spot_market_bytes(size=808)
    with pytest.raises(AccountNotExtended, match="is 1064 bytes, this account has 808") as err:
        codec.decode_spot_market(_raw(SPOT, short))
    assert "extend_account" in str(err.value)
    assert isinstance(err.value, DecodeError)
    with pytest.raises(AccountNotExtended):
        codec.decode_drift(_raw(SPOT, short))


def test_a_longer_zero_copy_account_is_read_from_its_prefix(codec: AccountCodec) -> None:
    data = spot_market_bytes(size=1072)
    market = codec.decode_spot_market(_raw(SPOT, data))
    assert market.revenue_settle_allowance == 42_000
    assert codec.encode(market) == data


def test_another_account_type_is_named_not_taken_for_unextended(codec: AccountCodec) -> None:
    with pytest.raises(DecodeError, match="expected a SpotMarket account, found a UserStats"):
        codec.decode_spot_market(_raw(SPOT, user_stats_bytes()))


@pytest.mark.parametrize("size", [1744, 1752])
def test_velocity_state_decodes_and_round_trips(codec: AccountCodec, size: int) -> None:
    data = state_bytes(size)
    state = codec.decode_state(_raw(ADDR.state(), data))
    assert isinstance(state, State)
    assert state.admin == ADMIN  # cold_admin: Velocity's root authority
    assert state.signer == ADDR.drift_signer()
    assert state.signer_nonce == ADDR.drift_signer_nonce()
    assert state.exchange_status == 0x02
    assert state.number_of_spot_markets == 3 and state.number_of_authorities == 17
    assert codec.encode(state) == data
    bumped = codec.encode(dataclasses.replace(state, exchange_status=0))
    assert bumped[1366] == 0 and bumped[:1366] == data[:1366] and bumped[1367:] == data[1367:]


def test_velocity_user_stats_decode_with_zero_for_the_missing_fields(codec: AccountCodec) -> None:
    address = ADDR.user_stats(AUTHORITY)
    data = user_stats_bytes()
    stats = codec.decode_user_stats(_raw(address, data))
    assert isinstance(stats, UserStats)
    assert stats.authority == AUTHORITY and stats.if_staked_quote_asset_amount == 1_234_567
    assert stats.number_of_sub_accounts == 2
    assert (stats.if_staked_gov_token_amount, stats.fuel_insurance) == (0, 0)
    assert stats.last_fuel_if_bonus_update_ts == 0
    assert codec.encode(stats) == data
    out = codec.encode(dataclasses.replace(stats, if_staked_quote_asset_amount=5))
    assert out[152:160] == (5).to_bytes(8, "little") and out[160:] == data[160:]
    with pytest.raises(DecodeError, match="no field for fuel_insurance"):
        codec.encode(dataclasses.replace(stats, fuel_insurance=1))


def test_velocity_stake_decodes_and_round_trips(codec: AccountCodec) -> None:
    address = ADDR.insurance_fund_stake(AUTHORITY, 0)
    data = stake_bytes()
    stake = codec.decode_stake(_raw(address, data))
    assert isinstance(stake, InsuranceFundStake)
    assert stake.authority == AUTHORITY and stake.if_shares == 1_000_000
    assert stake.last_withdraw_request_shares == 250_000 and stake.if_base == 2
    assert stake.last_withdraw_request_value == 249_999 and stake.cost_basis == -5
    assert stake.last_withdraw_request_ts == 1_700_000_500 and stake.market_index == 0
    assert codec.encode(stake) == data


def test_new_velocity_accounts_have_the_programs_sizes(codec: AccountCodec) -> None:
    stats = codec.new_user_stats(ADDR.user_stats(AUTHORITY), AUTHORITY, 1_700_000_000)
    assert len(stats.raw) == 240 and stats.raw[:8] == _disc("UserStats")
    for offset in (128, 136, 144):  # the three 30-day volume windows start now
        assert struct.unpack_from("<q", stats.raw, offset)[0] == 1_700_000_000
    stake = codec.new_stake(ADDR.insurance_fund_stake(AUTHORITY, 0), AUTHORITY, 0, 1_700_000_000)
    assert len(stake.raw) == 136 and struct.unpack_from("<q", stake.raw, 88)[0] == 1_700_000_000


def test_decode_drift_dispatches_velocity_accounts(codec: AccountCodec) -> None:
    views = [
        codec.decode_drift(_raw(SPOT, spot_market_bytes())),
        codec.decode_drift(_raw(ADDR.state(), state_bytes())),
        codec.decode_drift(_raw(ADDR.user_stats(AUTHORITY), user_stats_bytes())),
        codec.decode_drift(_raw(ADDR.insurance_fund_stake(AUTHORITY, 0), stake_bytes())),
    ]
    assert [type(v) for v in views] == [SpotMarket, State, UserStats, InsuranceFundStake]


def test_the_drift_idl_still_lays_out_to_drifts_sizes() -> None:
    """The codec takes sizes from the IDL now; the Drift IDL must give Drift's."""
    from keeper.core.profile import DRIFT_MAINNET
    from keeper.core.views import (
        INSURANCE_FUND_STAKE_SIZE,
        SPOT_MARKET_SIZE,
        STATE_SIZE,
        USER_STATS_SIZE,
    )

    drift = AccountCodec(load_idl(DRIFT_MAINNET.idl_path), DRIFT_MAINNET.program_id)
    assert drift.sizes == {
        "SpotMarket": SPOT_MARKET_SIZE,
        "State": STATE_SIZE,
        "UserStats": USER_STATS_SIZE,
        "InsuranceFundStake": INSURANCE_FUND_STAKE_SIZE,
    }
    assert drift.idl.zero_copy_accounts == frozenset()  # legacy IDL: exact sizes
