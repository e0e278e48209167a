"""Account codec: raw account bytes ⇄ typed, frozen views.

Program accounts are decoded with the IDL through AnchorPy and checked for owner,
discriminator and size first, so a wrong account is a `DecodeError`, never a garbage
view. Each view keeps the bytes it came from: encoding a view writes its fields back
over those bytes with the same IDL layout, which reproduces an unchanged account byte
for byte and lets the mirror and the localnet model produce exact post-states.

One codec serves every profile: which field of the program holds which view field is
read from the IDL (Velocity names its root authority `cold_admin`, keeps one
`if_fee_factor` for both IF factors and has no fuel), sizes come from the IDL layout,
and `SpotMarket.status` is mapped by variant *name* onto the views' canonical
numbering (`MARKET_STATUS_NAMES`), because Velocity's MarketStatus enum has fewer
variants than Drift's.
"""

from __future__ import annotations

import base64
import dataclasses
from collections.abc import Callable
from typing import Any

from solders.pubkey import Pubkey

from keeper.core.addresses import DriftAddresses
from keeper.core.errors import AccountNotExtended, DecodeError
from keeper.core.fmt import camel_case
from keeper.core.views import (
    MARKET_STATUS_NAMES,
    DriftView,
    InsuranceFund,
    InsuranceFundStake,
    RawAccount,
    SpotMarket,
    State,
    UserStats,
)
from keeper.program.idl import DriftIdl

# view field → the IDL fields (snake_case) that can hold it; the first one the IDL has
# wins. A view field none of whose names the IDL has reads 0 (the program has no such
# field), and encoding refuses a non-zero value for it.
_SPOT_MARKET_FIELDS: dict[str, tuple[str, ...]] = {
    "address": ("pubkey",),
    "oracle": ("oracle",),
    "mint": ("mint",),
    "vault": ("vault",),
    "revenue_pool_scaled_balance": ("revenue_pool.scaled_balance",),
    "deposit_balance": ("deposit_balance",),
    "borrow_balance": ("borrow_balance",),
    "cumulative_deposit_interest": ("cumulative_deposit_interest",),
    "cumulative_borrow_interest": ("cumulative_borrow_interest",),
    "deposit_token_twap": ("deposit_token_twap",),
    "borrow_token_twap": ("borrow_token_twap",),
    "utilization_twap": ("utilization_twap",),
    "last_interest_ts": ("last_interest_ts",),
    "last_twap_ts": ("last_twap_ts",),
    "expiry_ts": ("expiry_ts",),
    "max_token_deposits": ("max_token_deposits",),
    "optimal_utilization": ("optimal_utilization",),
    "optimal_borrow_rate": ("optimal_borrow_rate",),
    "max_borrow_rate": ("max_borrow_rate",),
    "min_borrow_rate": ("min_borrow_rate",),
    "decimals": ("decimals",),
    "market_index": ("market_index",),
    "paused_operations": ("paused_operations",),
    "if_paused_operations": ("if_paused_operations",),
    "fuel_boost_insurance": ("fuel_boost_insurance",),
    "token_program_flag": ("token_program_flag",),
    "if_revenue_receivable_scaled": ("insurance_fund_revenue_receivable_scaled",),
    "revenue_settle_allowance": ("revenue_settle_allowance",),
    "perp_if_revenue_receivable": ("perp_market_if_revenue_receivable",),
    "if_last_settle_vault_amount": ("if_last_settle_vault_amount",),
}
_INSURANCE_FUND_FIELDS: dict[str, tuple[str, ...]] = {
    "vault": ("insurance_fund.vault",),
    "total_shares": ("insurance_fund.total_shares",),
    "user_shares": ("insurance_fund.user_shares",),
    "shares_base": ("insurance_fund.shares_base",),
    "unstaking_period_seconds": ("insurance_fund.unstaking_period",),
    "last_revenue_settle_ts": ("insurance_fund.last_revenue_settle_ts",),
    "revenue_settle_period_seconds": ("insurance_fund.revenue_settle_period",),
    "total_factor": ("insurance_fund.total_factor", "insurance_fund.if_fee_factor"),
    "user_factor": ("insurance_fund.user_factor", "insurance_fund.if_fee_factor"),
}
_STATE_FIELDS: dict[str, tuple[str, ...]] = {
    "admin": ("admin", "cold_admin"),
    "signer": ("signer",),
    "signer_nonce": ("signer_nonce",),
    "exchange_status": ("exchange_status",),
    "number_of_spot_markets": ("number_of_spot_markets",),
    "number_of_authorities": ("number_of_authorities",),
}
_USER_STATS_FIELDS: dict[str, tuple[str, ...]] = {
    "authority": ("authority",),
    "if_staked_quote_asset_amount": ("if_staked_quote_asset_amount",),
    "if_staked_gov_token_amount": ("if_staked_gov_token_amount",),
    "fuel_insurance": ("fuel_insurance",),
    "last_fuel_if_bonus_update_ts": ("last_fuel_if_bonus_update_ts",),
    "number_of_sub_accounts": ("number_of_sub_accounts",),
}
_STAKE_FIELDS: dict[str, tuple[str, ...]] = {
    "authority": ("authority",),
    "if_shares": ("if_shares",),
    "last_withdraw_request_shares": ("last_withdraw_request_shares",),
    "if_base": ("if_base",),
    "last_valid_ts": ("last_valid_ts",),
    "last_withdraw_request_value": ("last_withdraw_request_value",),
    "last_withdraw_request_ts": ("last_withdraw_request_ts",),
    "cost_basis": ("cost_basis",),
    "market_index": ("market_index",),
}
#: the (optional) view fields a program may lack; every other one must be in the IDL
_OPTIONAL = {
    "fuel_boost_insurance",
    "if_revenue_receivable_scaled",
    "revenue_settle_allowance",
    "perp_if_revenue_receivable",
    "if_last_settle_vault_amount",
    "if_staked_gov_token_amount",
    "fuel_insurance",
    "last_fuel_if_bonus_update_ts",
}
_ACCOUNT_FIELDS: dict[str, dict[str, tuple[str, ...]]] = {
    "SpotMarket": _SPOT_MARKET_FIELDS
    | {f"insurance_fund.{k}": v for k, v in _INSURANCE_FUND_FIELDS.items()},
    "State": _STATE_FIELDS,
    "UserStats": _USER_STATS_FIELDS,
    "InsuranceFundStake": _STAKE_FIELDS,
}
_VIEW_ACCOUNT: dict[type, str] = {
    SpotMarket: "SpotMarket",
    State: "State",
    UserStats: "UserStats",
    InsuranceFundStake: "InsuranceFundStake",
}


def _camel_path(snake_path: str) -> str:
    """A field path in the legacy IDL's camelCase, as the layout names it."""
    return ".".join(camel_case(part.lstrip("_")) for part in snake_path.split("."))


def market_name(encoded: bytes) -> str:
    """A SpotMarket's 32-byte `name`: UTF-8, padded with spaces or NULs; printable only."""
    text = encoded.decode("utf-8", "replace").rstrip(" \x00")
    return "".join(c for c in text if c.isprintable()).strip()


class AccountCodec:
    """Decodes and encodes the accounts of one program deployment."""

    def __init__(
        self, idl: DriftIdl, program_id: Pubkey, addresses: DriftAddresses | None = None
    ) -> None:
        self.idl = idl
        self.program_id = program_id
        #: the deployment's PDAs (pass the profile's: its seeds may not be Drift's)
        self.addresses = addresses or DriftAddresses(program_id)
        if self.addresses.program_id != program_id:
            raise DecodeError(
                f"the codec's addresses derive under {self.addresses.program_id}, "
                f"not under its program {program_id}"
            )
        self._accounts = idl.coder.accounts
        self._disc = {k: bytes(v) for k, v in self._accounts.acc_name_to_discriminator.items()}
        self._layout = idl.layout
        #: account name → its size in bytes (discriminator included), from the IDL layout
        self.sizes: dict[str, int] = dict(self._layout.sizes)
        self._zero_copy = idl.zero_copy_accounts
        #: account → view field → layout path (None: the program has no such field)
        self._paths: dict[str, dict[str, str | None]] = {}
        for account, fields in _ACCOUNT_FIELDS.items():
            slots = self._layout.slots[account]
            resolved: dict[str, str | None] = {}
            for view_field, candidates in fields.items():
                path = next((p for p in map(_camel_path, candidates) if p in slots), None)
                if path is None and view_field.rpartition(".")[2] not in _OPTIONAL:
                    raise DecodeError(
                        f"IDL {idl.version}: {account} has no field {' or '.join(candidates)}; "
                        "the keeper cannot read this program's accounts"
                    )
                resolved[view_field] = path
            self._paths[account] = resolved
        self._status_variants = self._enum_variants("SpotMarket", "status")
        unknown = [v for v in self._status_variants if v not in MARKET_STATUS_NAMES]
        if unknown:
            raise DecodeError(f"IDL {idl.version}: unknown MarketStatus variants {unknown}")

    def _enum_variants(self, account: str, field: str) -> tuple[str, ...]:
        """The variant names of an enum field, in wire order, from the (legacy) IDL."""
        raw = self.idl.raw
        typedefs = {t["name"]: t["type"] for t in [*raw["types"], *raw["accounts"]]}
        fields = {f["name"]: f for f in typedefs[account]["fields"]}
        enum = typedefs[fields[field]["type"]["defined"]]
        return tuple(str(v["name"]) for v in enum["variants"])

    # -- program accounts -----------------------------------------------------------

    @property
    def one_if_factor(self) -> bool:
        """Whether the program keeps one IF fee factor where Drift has a total and a user
        factor (Velocity's `if_fee_factor`): a market then gives stakers the whole settle."""
        paths = self._paths["SpotMarket"]
        return paths["insurance_fund.total_factor"] == paths["insurance_fund.user_factor"]

    def size(self, account_name: str) -> int:
        """The size of a new `account_name` account (what the program allocates)."""
        return self.sizes[account_name]

    def discriminator(self, account_name: str) -> bytes:
        return bytes(self._disc[account_name])

    def account_name(self, data: bytes) -> str | None:
        for name, disc in self._disc.items():
            if data[:8] == disc:
                return name
        return None

    def _check_size(self, address: Pubkey | str, expected: str, length: int) -> None:
        size = self.sizes[expected]
        if expected in self._zero_copy:
            # a zero-copy account is loaded from its first `size` bytes; a longer one is
            # fine, a shorter one predates a struct extension and the program refuses it
            if length < size:
                raise AccountNotExtended(
                    f"{address}: a {expected} of this program is {size} bytes, this account "
                    f"has {length}. It was created before the program grew the account, and "
                    "the program cannot load it until someone runs the program's "
                    "`extend_account` instruction on it; nothing can be done with it before."
                )
        elif length != size:
            raise DecodeError(f"{address}: a {expected} is {size} bytes, this account has {length}")

    def _check_discriminator(self, acc: RawAccount, expected: str) -> None:
        if acc.data[:8] != self._disc[expected]:
            actual = self.account_name(acc.data)
            what = f"a {actual}" if actual else f"discriminator {acc.data[:8].hex()}"
            raise DecodeError(f"{acc.address}: expected a {expected} account, found {what}")

    def _parse(self, acc: RawAccount, expected: str) -> Any:
        if acc.owner != self.program_id:
            raise DecodeError(
                f"{acc.address}: expected a {expected} owned by the program {self.program_id}, "
                f"but the account is owned by {acc.owner}"
            )
        if expected in self._zero_copy:
            # the type first: only a real (short) SpotMarket is an unextended one
            self._check_discriminator(acc, expected)
            self._check_size(acc.address, expected, len(acc.data))
        else:
            self._check_size(acc.address, expected, len(acc.data))
            self._check_discriminator(acc, expected)
        try:
            return self._accounts.decode(acc.data)
        except Exception as exc:  # construct raises many types; all mean corrupt data
            raise DecodeError(f"{acc.address}: {expected} data does not decode: {exc}") from exc

    def _read(self, account: str, data: bytes) -> dict[str, Any]:
        """Every view field of `account`, read at its layout offset (0 where absent)."""
        out: dict[str, Any] = {}
        for view_field, path in self._paths[account].items():
            if path is None:
                out[view_field] = 0
                continue
            value = self._layout.read(account, data, path)
            is_key = self._layout.slots[account][path].kind == "publicKey"
            out[view_field] = (
                Pubkey.from_bytes(value) if is_key and isinstance(value, bytes) else value
            )
        return out

    def decode_spot_market(self, acc: RawAccount) -> SpotMarket:
        obj = self._parse(acc, "SpotMarket")
        values = self._read("SpotMarket", acc.data)
        fund = {
            k.partition(".")[2]: values.pop(k)
            for k in list(values)
            if k.startswith("insurance_fund.")
        }
        byte = int(self._layout.read("SpotMarket", acc.data, "status"))
        if byte >= len(self._status_variants):
            raise DecodeError(f"{acc.address}: SpotMarket status {byte} is not a MarketStatus")
        market = SpotMarket(
            **values,
            insurance_fund=InsuranceFund(**fund),
            status=MARKET_STATUS_NAMES.index(self._status_variants[byte]),
            raw=acc.data,
            name=market_name(bytes(obj.name)),
        )
        if market.address != acc.address:
            raise DecodeError(
                f"{acc.address}: SpotMarket records its own address as {market.address}"
            )
        return market

    def decode_state(self, acc: RawAccount) -> State:
        self._parse(acc, "State")
        return State(address=acc.address, raw=acc.data, **self._read("State", acc.data))

    def decode_user_stats(self, acc: RawAccount) -> UserStats:
        self._parse(acc, "UserStats")
        return UserStats(address=acc.address, raw=acc.data, **self._read("UserStats", acc.data))

    def decode_stake(self, acc: RawAccount) -> InsuranceFundStake:
        self._parse(acc, "InsuranceFundStake")
        values = self._read("InsuranceFundStake", acc.data)
        return InsuranceFundStake(address=acc.address, raw=acc.data, **values)

    def decode_drift(self, acc: RawAccount) -> DriftView:
        """Decode whichever IF-relevant program account this is."""
        name = self.account_name(acc.data)
        decoders: dict[str, Callable[[RawAccount], DriftView]] = {
            "SpotMarket": self.decode_spot_market,
            "State": self.decode_state,
            "UserStats": self.decode_user_stats,
            "InsuranceFundStake": self.decode_stake,
        }
        if name is None or acc.owner != self.program_id:
            raise DecodeError(
                f"{acc.address}: not a Drift State/SpotMarket/UserStats/IF stake of {self.program_id}"
            )
        return decoders[name](acc)

    def _view_values(self, view: DriftView) -> dict[str, Any]:
        values = {
            f: getattr(view, f) for f in self._paths[_VIEW_ACCOUNT[type(view)]] if "." not in f
        }
        if isinstance(view, SpotMarket):
            for f in _INSURANCE_FUND_FIELDS:
                values[f"insurance_fund.{f}"] = getattr(view.insurance_fund, f)
        return values

    def encode(self, view: DriftView) -> bytes:
        """Write the view's fields over the bytes it was decoded from."""
        name = _VIEW_ACCOUNT.get(type(view))
        if name is None:  # pragma: no cover - guarded by the type checker
            raise TypeError(f"not a Drift view: {type(view).__name__}")
        size = self.sizes[name]
        fits = len(view.raw) >= size if name in self._zero_copy else len(view.raw) == size
        if not fits or view.raw[:8] != self._disc[name]:
            raise DecodeError(f"cannot encode {name}: its template bytes are not a {name}")
        data = bytearray(view.raw)
        written: dict[str, tuple[str, Any]] = {}
        for view_field, value in self._view_values(view).items():
            path = self._paths[name][view_field]
            if path is None:
                if value:
                    raise DecodeError(
                        f"cannot encode {name}: this program's {name} has no field for "
                        f"{view_field} (it must stay 0, not {value})"
                    )
                continue
            if path in written and written[path][1] != value:
                raise DecodeError(
                    f"cannot encode {name}: {view_field} ({value}) and {written[path][0]} "
                    f"({written[path][1]}) are one field ({path}) in this program"
                )
            written[path] = (view_field, value)
            try:
                self._layout.write(
                    name, data, path, bytes(value) if isinstance(value, Pubkey) else value
                )
            except ValueError as exc:
                raise DecodeError(f"cannot encode {name}: {exc}") from exc
        if isinstance(view, SpotMarket):
            status = (
                MARKET_STATUS_NAMES[view.status] if view.status < len(MARKET_STATUS_NAMES) else "?"
            )
            if status not in self._status_variants:
                raise DecodeError(
                    f"cannot encode SpotMarket: this program has no market status {status!r}"
                )
            self._layout.write(name, data, "status", self._status_variants.index(status))
        return bytes(data)

    def new_stake(
        self, address: Pubkey, authority: Pubkey, market_index: int, now_ts: int
    ) -> InsuranceFundStake:
        """The account `initializeInsuranceFundStake` creates."""
        raw = self._disc["InsuranceFundStake"] + bytes(self.sizes["InsuranceFundStake"] - 8)
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
        data = bytearray(self._disc["UserStats"] + bytes(self.sizes["UserStats"] - 8))
        self._layout.write("UserStats", data, "authority", bytes(authority))
        for window in ("lastMakerVolume30dTs", "lastTakerVolume30dTs", "lastFillerVolume30dTs"):
            self._layout.write("UserStats", data, window, now_ts)
        return self.decode_user_stats(RawAccount(address, self.program_id, 0, bytes(data)))


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode()
