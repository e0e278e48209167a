"""Program profiles: everything that differs between Drift builds and forks.

Drift v2 froze its program in April 2026 and forks deploy the same Insurance Fund
under other program ids, with rules that changed across versions. Code outside this
module never hard-codes the program id, the IDL or a version-dependent rule; it asks
the profile it was given.
"""

from __future__ import annotations

import enum
import json
import tomllib
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from solders.pubkey import Pubkey

from keeper.core.addresses import DriftAddresses
from keeper.core.errors import ConfigError
from keeper.core.ifmath import SPOT_UTILIZATION_PRECISION
from keeper.core.programs import DRIFT_MAINNET_PROGRAM_ID, VELOCITY_PROGRAM_ID
from keeper.data import bundled_path

BUNDLED_IDL_PATH = bundled_path("idl", "drift.json")


class BorrowRateCurve(enum.Enum):
    """Shape of the borrow-rate curve above the optimal utilization."""

    #: v2.84.0 up to v2.121.x: one straight segment from optimal to max rate.
    LINEAR = "linear"
    #: v2.122.0 and later: six segments with fixed utilization end points.
    SIX_SEGMENT = "six_segment"


class UserStatsRemoveBasis(enum.Enum):
    """Which vault balance `remove` uses to recompute `ifStakedQuoteAssetAmount`.

    The v2.84 build values the remaining stake against `vault - amount` (the current
    value of the requested shares); v2.96 and later use `vault - withdrawn`.
    """

    VAULT_MINUS_SHARE_VALUE = "vault_minus_share_value"
    VAULT_MINUS_WITHDRAWN = "vault_minus_withdrawn"


class ImplicitSettle(enum.Enum):
    """Which staking instructions settle revenue first, and how (spec §4.5).

    Drift's add alone settles, and only when a settle is due: the settled tokens move
    from the spot vault into the IF vault at once. Velocity's add, request, cancel and
    remove all call `attempt_settle_revenue_to_insurance_fund` (controller/insurance.rs):
    they *book* revenue into the receivable when a settle is due or the period's
    allowance is left, then *release* the whole receivable into the IF vault unless a
    withdraw pause (exchange or market) defers the transfer.
    """

    ADD_WHEN_DUE = "add_when_due"
    BOOK_THEN_RELEASE = "book_then_release"


class SettleModel(enum.Enum):
    """What a settle does with the revenue pool.

    Drift transfers the (capped) pool into the IF vault and mints the protocol's cut
    as shares. Velocity (controller/insurance.rs `book_revenue_to_insurance_fund`)
    moves the scaled claim from the pool into `insurance_fund_revenue_receivable_scaled`
    up to the open period's `revenue_settle_allowance`, keeps the perp markets'
    reservation in the pool, mints no protocol shares (only seeds `T = NAV` when the
    fund has no shares: ballast), snapshots the NAV when it opens a period, and
    releases the receivable for transfer.
    """

    TRANSFER = "transfer"
    BOOK_RECEIVABLE = "book_receivable"


class SettleCapBase(enum.Enum):
    """The balance the per-settle APR cap is a fraction of."""

    #: Drift: the IF vault amount before the settle
    VAULT = "vault"
    #: Velocity `apply_revenue_settle_caps`: min(NAV, `if_last_settle_vault_amount`),
    #: the lowest NAV since the period opened; 0 (never settled) caps the seeding
    #: settle at 0
    MIN_NAV_AND_LAST_SETTLE = "min_nav_and_last_settle"


@dataclass(frozen=True)
class ProgramProfile:
    """A Drift program deployment: id, IDL and the rules of its build."""

    name: str
    program_id: Pubkey
    idl_path: Path = BUNDLED_IDL_PATH
    #: Remove is allowed while utilization and its TWAP are at most this (1e6 = 100%).
    withdraw_utilization_limit: int = 900_000
    borrow_rate_curve: BorrowRateCurve = BorrowRateCurve.SIX_SEGMENT
    user_stats_remove_basis: UserStatsRemoveBasis = UserStatsRemoveBasis.VAULT_MINUS_WITHDRAWN
    #: `initializeUserStats.authority` must sign up to v2.96; later IDLs drop the flag.
    init_user_stats_authority_signs: bool = False
    #: Interest accrual when `now < last_interest_ts`: v2.84 fails (MathError), v2.93+ accrues 0.
    interest_fails_on_clock_regression: bool = False
    #: Per-settle APR cap (1e6 = 100%) by market index; other markets use the default.
    max_apr_per_settle: int = 10_000_000
    max_apr_per_settle_by_market: tuple[tuple[int, int], ...] = ((15, 45_454),)
    #: Markets whose stake value is mirrored into UserStats (quote 0, gov 15).
    user_stats_snapshot_markets: tuple[int, ...] = (0, 15)
    #: `updateUserQuoteAssetInsuranceStake`: up to v2.84 the signer must be the stake's
    #: (and the user stats') authority (`has_one = authority`, 2001); later builds take
    #: any signer and only require the stake and user stats to share an authority.
    quote_stake_update_requires_authority: bool = False
    #: Token-2022 markets (v2.87+): token fields are `InterfaceAccount`s and the token
    #: program an `Interface`; before, a Token-2022 account fails Anchor's owner check.
    token_2022: bool = True
    #: Transfer-hook mints (their extra accounts after the mint in remaining accounts).
    transfer_hooks: bool = True
    #: The IF structs declare `spot_market` `mut` (a read-only one fails ConstraintMut
    #: 2000); v2.84 only `load_mut!`s it in the handler (UnableToLoadAccountLoader 6065).
    if_structs_spot_market_mut: bool = True
    #: Velocity: request, cancel and remove settle revenue that is due before they price
    #: shares, so their structs carry state, the spot market vault, the signer PDA and the
    #: token program (remove gains only the spot market vault, at index 5), and they take
    #: the [mint][transfer-hook metas] remaining accounts. Drift's request/cancel structs
    #: have none of these.
    unstake_structs_settle_first: bool = False
    #: Velocity's State is zero-copy (`AccountLoader<State>`); Drift's is Borsh (`Account`),
    #: which changes the error Anchor raises for a missing State (3007, not 3012).
    state_zero_copy: bool = False
    #: The protocol-v2 tag whose source this profile's error sites cite.
    source_tag: str = "v2.161.0"
    #: PDA seeds of the State account and of the vault-signing PDA (Velocity renamed both).
    state_seed: bytes = b"drift_state"
    signer_seed: bytes = b"drift_signer"
    # -- Insurance Fund rules that forks changed (Drift's values are the defaults) -----
    #: Shares are priced off NAV = IF vault + the receivable's token value (Velocity
    #: controller/insurance.rs `get_insurance_fund_nav`); Drift prices off the vault.
    nav_includes_receivable: bool = False
    #: Which staking instructions settle first, and how (ImplicitSettle).
    implicit_settle: ImplicitSettle = ImplicitSettle.ADD_WHEN_DUE
    #: What a settle does with the revenue pool (SettleModel).
    settle_model: SettleModel = SettleModel.TRANSFER
    #: The APR cap's base (SettleCapBase).
    settle_cap_base: SettleCapBase = SettleCapBase.VAULT
    #: The explicit settle refuses a market whose own Withdraw operation is paused
    #: (MarketWithdrawPaused 6149; Velocity keeper/insurance_fund.rs
    #: `handle_settle_revenue_to_insurance_fund`, after 6088, before 6176).
    settle_checks_market_withdraw_pause: bool = False
    #: Add buys whole shares only: n = floor(amount·T/NAV), it transfers
    #: cost = ceil(n·NAV/T) ≤ amount and refuses n == 0 (IFDepositMintsZeroShares 6360;
    #: Velocity math/insurance.rs `deposit_amount_and_shares_for_if_stake`). Drift
    #: transfers `amount` and keeps the rounding for the other holders.
    add_whole_shares: bool = False
    #: Cancel's shares-lost is 0 when the request is every share (n ≥ T: the sole
    #: staker; Velocity math/insurance.rs `calculate_if_shares_lost`, OtterSec #108).
    cancel_sole_staker_guard: bool = False
    #: Cancel refuses a request a rebase floored to 0 shares (InvalidIFUnstakeCancel
    #: 6187). Velocity removed the check (controller
    #: `cancel_request_remove_insurance_fund_stake`, .changeset/if-cancel-rebase-floor).
    cancel_rejects_rebased_to_zero: bool = True
    #: Remove refuses a payout the IF vault's cash cannot cover (`pay == 0 || pay < V`,
    #: InvalidIFUnstakeSize 6186; Velocity controller `remove_insurance_fund_stake`).
    remove_cash_check: bool = False
    #: Remove lowers the cap base `if_last_settle_vault_amount` to NAV − pay (Velocity
    #: controller `record_insurance_fund_outflow`).
    remove_records_outflow: bool = False
    #: The IF snapshot in UserStats accrues fuel (Drift `update_user_stats_if_stake_amount`);
    #: Velocity's has no fuel. The mirror models fuel on neither (the fields pass through).
    user_stats_if_fuel: bool = True
    notes: str = field(default="", compare=False)

    @property
    def permissionless_quote_stake_update(self) -> bool:
        return not self.quote_stake_update_requires_authority

    @property
    def addresses(self) -> DriftAddresses:
        """The program-derived addresses under this profile's id and seeds."""
        return DriftAddresses(self.program_id, self.state_seed, self.signer_seed)

    def max_apr_for(self, market_index: int) -> int:
        for index, apr in self.max_apr_per_settle_by_market:
            if index == market_index:
                return apr
        return self.max_apr_per_settle

    def with_program_id(self, program_id: Pubkey | str) -> ProgramProfile:
        """The same rules deployed under another id (a fork or a local deployment)."""
        pid = (
            program_id if isinstance(program_id, Pubkey) else parse_pubkey(program_id, "program_id")
        )
        return replace(self, program_id=pid)

    def refusal(self, capability: Capability) -> str | None:
        """Why this build refuses `capability` (None: it supports it)."""
        if getattr(self, capability.value):
            return None
        return f"the {self.name} program {capability.refusal}"


class Capability(enum.Enum):
    """Features a build has or lacks (each a boolean profile field)."""

    TOKEN_2022 = "token_2022"
    TRANSFER_HOOKS = "transfer_hooks"
    PERMISSIONLESS_QUOTE_STAKE_UPDATE = "permissionless_quote_stake_update"

    @property
    def refusal(self) -> str:
        return _REFUSALS[self]


_REFUSALS = {
    Capability.TOKEN_2022: "predates Token-2022 support (v2.87)",
    Capability.TRANSFER_HOOKS: "predates transfer-hook mints",
    Capability.PERMISSIONLESS_QUOTE_STAKE_UPDATE: (
        "predates permissionless stake-stat updates (v2.92): only the stake's authority "
        "may refresh its quote stake value"
    ),
}


def parse_pubkey(text: str, what: str) -> Pubkey:
    try:
        return Pubkey.from_string(text)
    except (ValueError, TypeError) as exc:
        raise ConfigError(f"{what}: {text!r} is not a valid base58 public key") from exc


#: The last dispatched mainnet rules (v2.161.0, identical IF code at v2.162.0).
DRIFT_MAINNET = ProgramProfile(
    name="drift-mainnet",
    program_id=DRIFT_MAINNET_PROGRAM_ID,
    notes="Drift v2 at v2.161 (program frozen 2026-04; simulate before relying on it).",
)

#: The mainnet build of mid-2024 (protocol v2.84) that recorded the golden traces.
DRIFT_V2_84 = ProgramProfile(
    name="drift-v2.84",
    program_id=DRIFT_MAINNET_PROGRAM_ID,
    withdraw_utilization_limit=800_000,
    borrow_rate_curve=BorrowRateCurve.LINEAR,
    user_stats_remove_basis=UserStatsRemoveBasis.VAULT_MINUS_SHARE_VALUE,
    init_user_stats_authority_signs=True,
    interest_fails_on_clock_regression=True,
    # The separate market-15 cap arrived in v2.125.0.
    max_apr_per_settle_by_market=(),
    # v2.84 mirrors only the quote market (controller/insurance.rs `market_index == 0`);
    # the gov-token snapshot of market 15 came later.
    user_stats_snapshot_markets=(0,),
    quote_stake_update_requires_authority=True,
    token_2022=False,
    transfer_hooks=False,
    if_structs_spot_market_mut=False,
    source_tag="v2.84.0",
    notes="Drift protocol v2.84 build (June 2024), the build behind the golden traces.",
)

#: Velocity, the relaunch of Drift on its own program (a fork of protocol-v2 with changed
#: Insurance Fund rules and an Anchor 1.x IDL). `source_tag` names the velocity-v1 commit
#: whose source the profile's rules and layouts were read from.
VELOCITY = ProgramProfile(
    name="velocity",
    program_id=VELOCITY_PROGRAM_ID,
    idl_path=bundled_path("idl", "velocity.json"),
    state_seed=b"velocity_state",
    signer_seed=b"velocity_signer",
    # One APR cap for every market: controller/insurance.rs `apply_revenue_settle_caps`
    # uses MAX_APR_PER_REVENUE_SETTLE_TO_INSURANCE_FUND_VAULT alone (no gov market).
    max_apr_per_settle_by_market=(),
    # controller/insurance.rs `update_user_stats_if_stake_amount`: market 0 only.
    user_stats_snapshot_markets=(0,),
    nav_includes_receivable=True,
    implicit_settle=ImplicitSettle.BOOK_THEN_RELEASE,
    settle_model=SettleModel.BOOK_RECEIVABLE,
    settle_cap_base=SettleCapBase.MIN_NAV_AND_LAST_SETTLE,
    settle_checks_market_withdraw_pause=True,
    add_whole_shares=True,
    cancel_sole_staker_guard=True,
    cancel_rejects_rebased_to_zero=False,
    remove_cash_check=True,
    remove_records_outflow=True,
    user_stats_if_fuel=False,
    unstake_structs_settle_first=True,
    state_zero_copy=True,
    source_tag="velocity-v1@068fe867",
    notes="Velocity (velocity-exchange/velocity-v1), the relaunch of Drift; quote market USDT.",
)

PROFILES: dict[str, ProgramProfile] = {p.name: p for p in (DRIFT_MAINNET, DRIFT_V2_84, VELOCITY)}


def get_profile(name: str) -> ProgramProfile:
    try:
        return PROFILES[name]
    except KeyError:
        known = ", ".join(sorted(PROFILES))
        raise ConfigError(f"unknown program profile {name!r} (known: {known})") from None


_OVERRIDABLE = {
    "program_id",
    "idl_path",
    "withdraw_utilization_limit",
    "borrow_rate_curve",
    "user_stats_remove_basis",
    "init_user_stats_authority_signs",
    "interest_fails_on_clock_regression",
    "quote_stake_update_requires_authority",
    "max_apr_per_settle",
    "token_2022",
    "transfer_hooks",
    "if_structs_spot_market_mut",
}


def profile_from_mapping(data: dict[str, Any], *, base_dir: Path | None = None) -> ProgramProfile:
    """Build a profile from a config table: `base = "<profile>"` plus overrides."""
    unknown = set(data) - _OVERRIDABLE - {"base", "name"}
    if unknown:
        raise ConfigError(f"profile: unknown keys {sorted(unknown)}")
    prof = get_profile(str(data.get("base", DRIFT_MAINNET.name)))
    changes: dict[str, Any] = {}
    if "name" in data:
        changes["name"] = str(data["name"])
    if "program_id" in data:
        changes["program_id"] = parse_pubkey(str(data["program_id"]), "profile.program_id")
    if "idl_path" in data:
        path = Path(str(data["idl_path"]))
        if not path.is_absolute() and base_dir is not None:
            path = base_dir / path
        if not path.is_file():
            raise ConfigError(f"profile.idl_path: no such file {path}")
        changes["idl_path"] = path
    if "withdraw_utilization_limit" in data:
        limit = data["withdraw_utilization_limit"]
        if (
            not isinstance(limit, int)
            or isinstance(limit, bool)
            or not 0 <= limit <= SPOT_UTILIZATION_PRECISION
        ):
            raise ConfigError(
                "profile.withdraw_utilization_limit must be an integer in [0, 1_000_000] "
                "(1_000_000 = 100%)"
            )
        changes["withdraw_utilization_limit"] = limit
    if "max_apr_per_settle" in data:
        apr = data["max_apr_per_settle"]
        if not isinstance(apr, int) or isinstance(apr, bool) or apr <= 0:
            raise ConfigError("profile.max_apr_per_settle must be a positive integer")
        changes["max_apr_per_settle"] = apr
    if "borrow_rate_curve" in data:
        try:
            changes["borrow_rate_curve"] = BorrowRateCurve(str(data["borrow_rate_curve"]))
        except ValueError:
            raise ConfigError(
                f"profile.borrow_rate_curve must be one of {[c.value for c in BorrowRateCurve]}"
            ) from None
    if "user_stats_remove_basis" in data:
        try:
            changes["user_stats_remove_basis"] = UserStatsRemoveBasis(
                str(data["user_stats_remove_basis"])
            )
        except ValueError:
            raise ConfigError(
                "profile.user_stats_remove_basis must be one of "
                f"{[c.value for c in UserStatsRemoveBasis]}"
            ) from None
    for flag in (
        "init_user_stats_authority_signs",
        "interest_fails_on_clock_regression",
        "quote_stake_update_requires_authority",
        "token_2022",
        "transfer_hooks",
        "if_structs_spot_market_mut",
    ):
        if flag in data:
            if not isinstance(data[flag], bool):
                raise ConfigError(f"profile.{flag} must be true or false")
            changes[flag] = data[flag]
    return replace(prof, **changes)


def load_profile_file(path: Path) -> ProgramProfile:
    """Read a profile from a TOML or JSON file (see config/ for examples)."""
    try:
        text = path.read_text()
    except OSError as exc:
        raise ConfigError(f"cannot read profile file {path}: {exc.strerror}") from exc
    try:
        data: dict[str, Any] = json.loads(text) if path.suffix == ".json" else tomllib.loads(text)
    except (ValueError, tomllib.TOMLDecodeError) as exc:
        raise ConfigError(f"profile file {path} is not valid: {exc}") from exc
    table = data.get("profile", data)
    if not isinstance(table, dict):
        raise ConfigError(f"profile file {path}: [profile] must be a table")
    return profile_from_mapping(table, base_dir=path.parent)
