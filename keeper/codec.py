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
import struct
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from solders.pubkey import Pubkey

from keeper.errors import DecodeError
from keeper.idl import DriftIdl
from keeper.layout import camel_case
from keeper.profile import SPL_TOKEN_PROGRAM_ID, TOKEN_2022_PROGRAM_ID

SPOT_MARKET_SIZE = 776
STATE_SIZE = 992
USER_STATS_SIZE = 240
INSURANCE_FUND_STAKE_SIZE = 136
TOKEN_ACCOUNT_SIZE = 165
MINT_SIZE = 82

MARKET_STATUS_NAMES = (
    "Initialized",
    "Active",
    "FundingPaused",
    "AmmPaused",
    "FillPaused",
    "WithdrawPaused",
    "ReduceOnly",
    "Settlement",
    "Delisted",
)


@dataclass(frozen=True)
class RawAccount:
    """An account as the cluster returns it."""

    address: Pubkey
    owner: Pubkey
    lamports: int
    data: bytes = field(repr=False)
    executable: bool = False
    rent_epoch: int = 0


@dataclass(frozen=True)
class InsuranceFund:
    vault: Pubkey
    total_shares: int
    user_shares: int
    shares_base: int
    unstaking_period_seconds: int
    last_revenue_settle_ts: int
    revenue_settle_period_seconds: int
    total_factor: int
    user_factor: int

    @property
    def protocol_shares(self) -> int:
        return self.total_shares - self.user_shares


@dataclass(frozen=True)
class SpotMarket:
    address: Pubkey
    oracle: Pubkey
    mint: Pubkey
    vault: Pubkey
    revenue_pool_scaled_balance: int
    insurance_fund: InsuranceFund
    deposit_balance: int
    borrow_balance: int
    cumulative_deposit_interest: int
    cumulative_borrow_interest: int
    deposit_token_twap: int
    borrow_token_twap: int
    utilization_twap: int
    last_interest_ts: int
    last_twap_ts: int
    expiry_ts: int
    max_token_deposits: int
    optimal_utilization: int
    optimal_borrow_rate: int
    max_borrow_rate: int
    min_borrow_rate: int
    decimals: int
    market_index: int
    status: int
    paused_operations: int
    if_paused_operations: int
    fuel_boost_insurance: int
    token_program_flag: int
    raw: bytes = field(repr=False, compare=False)

    @property
    def status_name(self) -> str:
        return MARKET_STATUS_NAMES[self.status] if self.status < len(MARKET_STATUS_NAMES) else "?"

    @property
    def token_program(self) -> Pubkey:
        return TOKEN_2022_PROGRAM_ID if self.token_program_flag & 0x01 else SPL_TOKEN_PROGRAM_ID


@dataclass(frozen=True)
class State:
    address: Pubkey
    admin: Pubkey
    signer: Pubkey
    signer_nonce: int
    exchange_status: int
    number_of_spot_markets: int
    number_of_authorities: int
    raw: bytes = field(repr=False, compare=False)


@dataclass(frozen=True)
class UserStats:
    address: Pubkey
    authority: Pubkey
    if_staked_quote_asset_amount: int
    if_staked_gov_token_amount: int
    fuel_insurance: int
    last_fuel_if_bonus_update_ts: int
    number_of_sub_accounts: int
    raw: bytes = field(repr=False, compare=False)


@dataclass(frozen=True)
class InsuranceFundStake:
    address: Pubkey
    authority: Pubkey
    if_shares: int
    last_withdraw_request_shares: int
    if_base: int
    last_valid_ts: int
    last_withdraw_request_value: int
    last_withdraw_request_ts: int
    cost_basis: int
    market_index: int
    raw: bytes = field(repr=False, compare=False)

    @property
    def has_pending_request(self) -> bool:
        return self.last_withdraw_request_shares != 0 or self.last_withdraw_request_value != 0


@dataclass(frozen=True)
class TokenAccount:
    address: Pubkey
    token_program: Pubkey
    mint: Pubkey
    owner: Pubkey
    amount: int
    delegate: Pubkey | None
    state: int
    is_native: int | None
    delegated_amount: int
    close_authority: Pubkey | None
    raw: bytes = field(repr=False, compare=False)


@dataclass(frozen=True)
class Mint:
    address: Pubkey
    token_program: Pubkey
    mint_authority: Pubkey | None
    supply: int
    decimals: int
    is_initialized: bool
    freeze_authority: Pubkey | None
    raw: bytes = field(repr=False, compare=False)


DriftView = SpotMarket | State | UserStats | InsuranceFundStake
AnyView = DriftView | TokenAccount | Mint

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


# -- SPL Token / Token-2022 ---------------------------------------------------------

_TOKEN_PROGRAMS = (SPL_TOKEN_PROGRAM_ID, TOKEN_2022_PROGRAM_ID)


def _coption_pubkey(data: bytes, offset: int) -> Pubkey | None:
    tag = int.from_bytes(data[offset : offset + 4], "little")
    if tag not in (0, 1):
        raise DecodeError(f"invalid COption tag {tag}")
    return Pubkey.from_bytes(data[offset + 4 : offset + 36]) if tag else None


def _put_coption_pubkey(value: Pubkey | None) -> bytes:
    return (b"\x01\x00\x00\x00" + bytes(value)) if value is not None else bytes(36)


def decode_token_account(acc: RawAccount) -> TokenAccount:
    if acc.owner not in _TOKEN_PROGRAMS:
        raise DecodeError(f"{acc.address}: not a token account (owner {acc.owner})")
    data = acc.data
    if len(data) < TOKEN_ACCOUNT_SIZE or (
        acc.owner == SPL_TOKEN_PROGRAM_ID and len(data) != TOKEN_ACCOUNT_SIZE
    ):
        raise DecodeError(f"{acc.address}: {len(data)} bytes is not a token account")
    if len(data) > TOKEN_ACCOUNT_SIZE and data[TOKEN_ACCOUNT_SIZE] != 2:
        raise DecodeError(f"{acc.address}: Token-2022 data is not an account")
    state = data[108]
    if state == 0:
        raise DecodeError(f"{acc.address}: token account is not initialized")
    native_tag = int.from_bytes(data[109:113], "little")
    return TokenAccount(
        address=acc.address,
        token_program=acc.owner,
        mint=Pubkey.from_bytes(data[0:32]),
        owner=Pubkey.from_bytes(data[32:64]),
        amount=int.from_bytes(data[64:72], "little"),
        delegate=_coption_pubkey(data, 72),
        state=state,
        is_native=int.from_bytes(data[113:121], "little") if native_tag else None,
        delegated_amount=int.from_bytes(data[121:129], "little"),
        close_authority=_coption_pubkey(data, 129),
        raw=data,
    )


def encode_token_account(view: TokenAccount) -> bytes:
    body = (
        bytes(view.mint)
        + bytes(view.owner)
        + struct.pack("<Q", view.amount)
        + _put_coption_pubkey(view.delegate)
        + bytes([view.state])
        + (
            b"\x01\x00\x00\x00" + struct.pack("<Q", view.is_native)
            if view.is_native is not None
            else bytes(12)
        )
        + struct.pack("<Q", view.delegated_amount)
        + _put_coption_pubkey(view.close_authority)
    )
    return body + view.raw[TOKEN_ACCOUNT_SIZE:]


def decode_mint(acc: RawAccount) -> Mint:
    if acc.owner not in _TOKEN_PROGRAMS:
        raise DecodeError(f"{acc.address}: not a mint (owner {acc.owner})")
    data = acc.data
    if len(data) < MINT_SIZE or (acc.owner == SPL_TOKEN_PROGRAM_ID and len(data) != MINT_SIZE):
        raise DecodeError(f"{acc.address}: {len(data)} bytes is not a mint")
    if not data[45]:
        raise DecodeError(f"{acc.address}: mint is not initialized")
    return Mint(
        address=acc.address,
        token_program=acc.owner,
        mint_authority=_coption_pubkey(data, 0),
        supply=int.from_bytes(data[36:44], "little"),
        decimals=data[44],
        is_initialized=bool(data[45]),
        freeze_authority=_coption_pubkey(data, 46),
        raw=data,
    )


def encode_mint(view: Mint) -> bytes:
    body = (
        _put_coption_pubkey(view.mint_authority)
        + struct.pack("<Q", view.supply)
        + bytes([view.decimals, int(view.is_initialized)])
        + _put_coption_pubkey(view.freeze_authority)
    )
    return body + view.raw[MINT_SIZE:]


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode()
