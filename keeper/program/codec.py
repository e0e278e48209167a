"""Account codec: raw account bytes ⇄ typed, frozen views.

Drift accounts are decoded with the IDL through AnchorPy and checked for owner,
discriminator and size first, so a wrong account is a `DecodeError`, never a garbage
view. Each view keeps the bytes it came from: encoding a view writes its fields back
over those bytes with the same IDL layout, which reproduces an unchanged account byte
for byte and lets the mirror and the localnet model produce exact post-states.
"""

from __future__ import annotations

import base64
import dataclasses
from collections.abc import Callable
from typing import Any

from solders.pubkey import Pubkey

from keeper.core.errors import DecodeError
from keeper.core.fmt import camel_case
from keeper.core.views import (
    INSURANCE_FUND_STAKE_SIZE,
    MARKET_STATUS_NAMES,
    SPOT_MARKET_SIZE,
    STATE_SIZE,
    USER_STATS_SIZE,
    DriftView,
    InsuranceFund,
    InsuranceFundStake,
    RawAccount,
    SpotMarket,
    State,
    UserStats,
)
from keeper.program.idl import DriftIdl

# view field → IDL field (snake_case, as AnchorPy names them), per Drift account.
_SPOT_MARKET_FIELDS = {
    "address": "pubkey",
    "oracle": "oracle",
    "mint": "mint",
    "vault": "vault",
    "deposit_balance": "deposit_balance",
    "borrow_balance": "borrow_balance",
    "cumulative_deposit_interest": "cumulative_deposit_interest",
    "cumulative_borrow_interest": "cumulative_borrow_interest",
    "deposit_token_twap": "deposit_token_twap",
    "borrow_token_twap": "borrow_token_twap",
    "utilization_twap": "utilization_twap",
    "last_interest_ts": "last_interest_ts",
    "last_twap_ts": "last_twap_ts",
    "expiry_ts": "expiry_ts",
    "max_token_deposits": "max_token_deposits",
    "optimal_utilization": "optimal_utilization",
    "optimal_borrow_rate": "optimal_borrow_rate",
    "max_borrow_rate": "max_borrow_rate",
    "min_borrow_rate": "min_borrow_rate",
    "decimals": "decimals",
    "market_index": "market_index",
    "paused_operations": "paused_operations",
    "if_paused_operations": "if_paused_operations",
    "fuel_boost_insurance": "fuel_boost_insurance",
    "token_program_flag": "token_program_flag",
}
_INSURANCE_FUND_FIELDS = {
    "vault": "vault",
    "total_shares": "total_shares",
    "user_shares": "user_shares",
    "shares_base": "shares_base",
    "unstaking_period_seconds": "unstaking_period",
    "last_revenue_settle_ts": "last_revenue_settle_ts",
    "revenue_settle_period_seconds": "revenue_settle_period",
    "total_factor": "total_factor",
    "user_factor": "user_factor",
}
_STATE_FIELDS = {
    "admin": "admin",
    "signer": "signer",
    "signer_nonce": "signer_nonce",
    "exchange_status": "exchange_status",
    "number_of_spot_markets": "number_of_spot_markets",
    "number_of_authorities": "number_of_authorities",
}
_USER_STATS_FIELDS = {
    "authority": "authority",
    "if_staked_quote_asset_amount": "if_staked_quote_asset_amount",
    "if_staked_gov_token_amount": "if_staked_gov_token_amount",
    "fuel_insurance": "fuel_insurance",
    "last_fuel_if_bonus_update_ts": "last_fuel_if_bonus_update_ts",
    "number_of_sub_accounts": "number_of_sub_accounts",
}
_STAKE_FIELDS = {
    "authority": "authority",
    "if_shares": "if_shares",
    "last_withdraw_request_shares": "last_withdraw_request_shares",
    "if_base": "if_base",
    "last_valid_ts": "last_valid_ts",
    "last_withdraw_request_value": "last_withdraw_request_value",
    "last_withdraw_request_ts": "last_withdraw_request_ts",
    "cost_basis": "cost_basis",
    "market_index": "market_index",
}

_SIZES = {
    "SpotMarket": SPOT_MARKET_SIZE,
    "State": STATE_SIZE,
    "UserStats": USER_STATS_SIZE,
    "InsuranceFundStake": INSURANCE_FUND_STAKE_SIZE,
}


def _sumtype_index(value: Any) -> int:
    """AnchorPy decodes a fieldless enum as a sumtype instance; its index is the wire byte."""
    index = getattr(type(value), "index", None)
    if isinstance(index, int):
        return index
    # sumtypes variants carry their declaration order via the parent enum's variant list.
    for i, name in enumerate(MARKET_STATUS_NAMES):
        if type(value).__name__ == name:
            return i
    raise DecodeError(f"cannot read enum value {value!r}")


def market_name(encoded: bytes) -> str:
    """A SpotMarket's 32-byte `name`: UTF-8, padded with spaces or NULs; printable only."""
    text = encoded.decode("utf-8", "replace").rstrip(" \x00")
    return "".join(c for c in text if c.isprintable()).strip()


class AccountCodec:
    """Decodes and encodes the accounts of one Drift deployment."""

    def __init__(self, idl: DriftIdl, program_id: Pubkey) -> None:
        self.idl = idl
        self.program_id = program_id
        self._accounts = idl.coder.accounts
        self._disc = {k: bytes(v) for k, v in self._accounts.acc_name_to_discriminator.items()}
        self._layout = idl.layout
        for name, size in _SIZES.items():
            if self._layout.sizes[name] != size:
                raise DecodeError(
                    f"IDL {idl.version}: {name} lays out to {self._layout.sizes[name]} bytes, "
                    f"the program's accounts are {size}"
                )

    # -- Drift accounts -------------------------------------------------------------

    def discriminator(self, account_name: str) -> bytes:
        return bytes(self._disc[account_name])

    def account_name(self, data: bytes) -> str | None:
        for name, disc in self._disc.items():
            if data[:8] == disc:
                return name
        return None

    def _parse(self, acc: RawAccount, expected: str) -> Any:
        if acc.owner != self.program_id:
            raise DecodeError(
                f"{acc.address}: expected a Drift {expected} owned by {self.program_id}, "
                f"but the account is owned by {acc.owner}"
            )
        size = _SIZES[expected]
        if len(acc.data) != size:
            raise DecodeError(
                f"{acc.address}: a {expected} is {size} bytes, this account has {len(acc.data)}"
            )
        if acc.data[:8] != self._disc[expected]:
            actual = self.account_name(acc.data)
            what = f"a {actual}" if actual else f"discriminator {acc.data[:8].hex()}"
            raise DecodeError(f"{acc.address}: expected a {expected} account, found {what}")
        try:
            return self._accounts.decode(acc.data)
        except Exception as exc:  # construct raises many types; all mean corrupt data
            raise DecodeError(f"{acc.address}: {expected} data does not decode: {exc}") from exc

    def decode_spot_market(self, acc: RawAccount) -> SpotMarket:
        obj = self._parse(acc, "SpotMarket")
        fields = {view: getattr(obj, idl) for view, idl in _SPOT_MARKET_FIELDS.items()}
        fund = obj.insurance_fund
        if_fields = {view: getattr(fund, idl) for view, idl in _INSURANCE_FUND_FIELDS.items()}
        market = SpotMarket(
            **fields,
            revenue_pool_scaled_balance=obj.revenue_pool.scaled_balance,
            insurance_fund=InsuranceFund(**if_fields),
            status=_sumtype_index(obj.status),
            raw=acc.data,
            name=market_name(bytes(obj.name)),
        )
        if market.address != acc.address:
            raise DecodeError(
                f"{acc.address}: SpotMarket records its own address as {market.address}"
            )
        return market

    def decode_state(self, acc: RawAccount) -> State:
        obj = self._parse(acc, "State")
        fields = {view: getattr(obj, idl) for view, idl in _STATE_FIELDS.items()}
        return State(address=acc.address, raw=acc.data, **fields)

    def decode_user_stats(self, acc: RawAccount) -> UserStats:
        obj = self._parse(acc, "UserStats")
        fields = {view: getattr(obj, idl) for view, idl in _USER_STATS_FIELDS.items()}
        return UserStats(address=acc.address, raw=acc.data, **fields)

    def decode_stake(self, acc: RawAccount) -> InsuranceFundStake:
        obj = self._parse(acc, "InsuranceFundStake")
        fields = {view: getattr(obj, idl) for view, idl in _STAKE_FIELDS.items()}
        return InsuranceFundStake(address=acc.address, raw=acc.data, **fields)

    def decode_drift(self, acc: RawAccount) -> DriftView:
        """Decode whichever IF-relevant Drift account this is."""
        name = self.account_name(acc.data)
        decoders: dict[str, Callable[[RawAccount], DriftView]] = {
            "SpotMarket": self.decode_spot_market,
            "State": self.decode_state,
            "UserStats": self.decode_user_stats,
            "InsuranceFundStake": self.decode_stake,
        }
        if name is None or acc.owner != self.program_id:
            raise DecodeError(f"{acc.address}: not a Drift State/SpotMarket/UserStats/IF stake")
        return decoders[name](acc)

    def encode(self, view: DriftView) -> bytes:
        """Write the view's fields over the bytes it was decoded from."""
        if isinstance(view, SpotMarket):
            name = "SpotMarket"
            values: dict[str, Any] = {
                camel_case(i): getattr(view, v) for v, i in _SPOT_MARKET_FIELDS.items()
            }
            values.update(
                {
                    f"insuranceFund.{camel_case(i)}": getattr(view.insurance_fund, v)
                    for v, i in _INSURANCE_FUND_FIELDS.items()
                }
            )
            values["revenuePool.scaledBalance"] = view.revenue_pool_scaled_balance
            values["status"] = view.status
        elif isinstance(view, State):
            name, values = (
                "State",
                {camel_case(i): getattr(view, v) for v, i in _STATE_FIELDS.items()},
            )
        elif isinstance(view, UserStats):
            name, values = (
                "UserStats",
                {camel_case(i): getattr(view, v) for v, i in _USER_STATS_FIELDS.items()},
            )
        elif isinstance(view, InsuranceFundStake):
            name = "InsuranceFundStake"
            values = {camel_case(i): getattr(view, v) for v, i in _STAKE_FIELDS.items()}
        else:  # pragma: no cover - guarded by the type checker
            raise TypeError(f"not a Drift view: {type(view).__name__}")
        if len(view.raw) != _SIZES[name] or view.raw[:8] != self._disc[name]:
            raise DecodeError(f"cannot encode {name}: its template bytes are not a {name}")
        data = bytearray(view.raw)
        for path, value in values.items():
            try:
                self._layout.write(
                    name, data, path, bytes(value) if isinstance(value, Pubkey) else value
                )
            except ValueError as exc:
                raise DecodeError(f"cannot encode {name}: {exc}") from exc
        return bytes(data)

    def new_stake(
        self, address: Pubkey, authority: Pubkey, market_index: int, now_ts: int
    ) -> InsuranceFundStake:
        """The account `initializeInsuranceFundStake` creates."""
        raw = self._disc["InsuranceFundStake"] + bytes(INSURANCE_FUND_STAKE_SIZE - 8)
        blank = InsuranceFundStake(
            address=address,
            authority=authority,
            if_shares=0,
            last_withdraw_request_shares=0,
            if_base=0,
            last_valid_ts=now_ts,
            last_withdraw_request_value=0,
            last_withdraw_request_ts=0,
            cost_basis=0,
            market_index=market_index,
            raw=raw,
        )
        return dataclasses.replace(blank, raw=self.encode(blank))

    def new_user_stats(self, address: Pubkey, authority: Pubkey, now_ts: int) -> UserStats:
        """The account `initializeUserStats` creates (volume windows start now)."""
        data = bytearray(self._disc["UserStats"] + bytes(USER_STATS_SIZE - 8))
        self._layout.write("UserStats", data, "authority", bytes(authority))
        for window in ("lastMakerVolume30dTs", "lastTakerVolume30dTs", "lastFillerVolume30dTs"):
            self._layout.write("UserStats", data, window, now_ts)
        return self.decode_user_stats(RawAccount(address, self.program_id, 0, bytes(data)))


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode()
