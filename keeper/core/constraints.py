"""Anchor's account checks, in the program's order, before any IF logic runs.

The share math cannot see how accounts were passed; these checks can: missing
signatures and accounts, read-only accounts the struct declares `mut`, accounts that
belong to someone else or sit at the wrong address. Anchor checks them field by field
in the struct's declaration order (keeper.core.account_structs): first every field's
deserialization (signers, missing accounts), then every field's constraints. The
handler's own `load_mut!` of a read-only account (6065) comes later, in its order
(keeper.core.effects).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from solders.pubkey import Pubkey

from keeper.core.account_structs import (
    AccountRejected,
    Field,
    Kind,
    Raw,
    Seeds,
    fields,
    missing_error,
)
from keeper.core.addresses import DriftAddresses
from keeper.core.effects import ACCOUNT_ROLES, IfAccounts, check_loads
from keeper.core.error_codes import AnchorError
from keeper.core.profile import DRIFT_V2_84, ProgramProfile
from keeper.core.views import InsuranceFundStake, UserStats


@dataclass(frozen=True)
class Meta:
    pubkey: Pubkey
    is_signer: bool
    is_writable: bool


def market_index_arg(instruction: str, args: Mapping[str, int] | None) -> int | None:
    """The market index the instruction's seeds use (None: not an argument)."""
    if args is None:
        return None
    for name in ("marketIndex", "spotMarketIndex"):
        if name in args:
            return int(args[name])
    return None


def _view(accounts: IfAccounts, role: str) -> object | None:
    attr = ACCOUNT_ROLES.get(role)
    return getattr(accounts, attr) if attr is not None else None


def _seeds_address(
    f: Field,
    accounts: IfAccounts,
    metas: Mapping[str, Meta],
    addresses: DriftAddresses,
    arg_index: int | None,
) -> Pubkey:
    if isinstance(f.seeds_index, int):
        index = f.seeds_index
    elif f.seeds_index == "loaded" or arg_index is None:
        index = accounts.market.market_index
    else:
        index = arg_index
    authority = metas["authority"].pubkey if "authority" in metas else None
    if f.seeds is Seeds.SPOT_MARKET:
        return addresses.spot_market(index)
    if f.seeds is Seeds.SPOT_MARKET_VAULT:
        return addresses.spot_market_vault(index)
    if f.seeds is Seeds.INSURANCE_FUND_VAULT:
        return addresses.insurance_fund_vault(index)
    assert authority is not None
    if f.seeds is Seeds.USER_STATS:
        return addresses.user_stats(authority)
    return addresses.insurance_fund_stake(authority, index)


def check_seeds(
    f: Field,
    metas: Mapping[str, Meta],
    accounts: IfAccounts,
    addresses: DriftAddresses,
    arg_index: int | None,
) -> None:
    if f.seeds is None or f.role not in metas:
        return
    expected = _seeds_address(f, accounts, metas, addresses, arg_index)
    got = metas[f.role].pubkey
    if got != expected:
        raise AccountRejected(AnchorError.ConstraintSeeds, f.role, (got, expected))


def _field_constraints(
    f: Field,
    metas: Mapping[str, Meta],
    accounts: IfAccounts,
    addresses: DriftAddresses,
    arg_index: int | None,
) -> None:
    """One non-init field's constraints in Anchor's linearized order."""
    check_seeds(f, metas, accounts, addresses, arg_index)
    meta = metas[f.role]
    if f.mut and not meta.is_writable:
        raise AccountRejected(AnchorError.ConstraintMut, f.role)
    signer_role = "authority" if "authority" in metas else "signer"
    authority = metas[signer_role].pubkey if signer_role in metas else None
    view = _view(accounts, f.role)
    if f.has_one_authority and isinstance(view, InsuranceFundStake | UserStats) and authority:
        owner = view.authority
        if owner != authority:
            raise AccountRejected(AnchorError.ConstraintHasOne, f.role, (owner, authority))
    if f.raw is not None and not _raw_holds(f.raw, meta, accounts):
        raise AccountRejected(AnchorError.ConstraintRaw, f.role)
    user_token = accounts.user_token
    if f.token_mint_of_if_vault and user_token is not None:
        mint = accounts.if_vault.mint if accounts.if_vault is not None else accounts.market.mint
        if user_token.mint != mint:
            raise AccountRejected(AnchorError.ConstraintTokenMint, f.role, (user_token.mint, mint))
    if f.token_authority and user_token is not None and authority is not None:
        _require_key(AnchorError.ConstraintTokenOwner, f.role, user_token.owner, authority)


def _require_key(code: AnchorError, role: str, got: Pubkey, expected: Pubkey) -> None:
    if got != expected:
        raise AccountRejected(code, role, (got, expected))


def _raw_holds(raw: Raw, meta: Meta, accounts: IfAccounts) -> bool:
    if raw is Raw.DRIFT_SIGNER:
        return accounts.state is None or accounts.state.signer == meta.pubkey
    if raw is Raw.VAULT_MINT:
        vault, user = accounts.spot_vault, accounts.user_token
        return vault is None or user is None or vault.mint == user.mint
    stake, stats = accounts.stake, accounts.user_stats
    return stake is None or stats is None or stake.authority == stats.authority


def check_deserialization(
    instruction: str,
    metas: Mapping[str, Meta],
    accounts: IfAccounts,
    profile: ProgramProfile,
    exists: Mapping[str, bool] | None = None,
) -> None:
    """Anchor's first pass: each field's type checks its account, in field order.

    Here, over decoded views: a missing signature, or an absent account (`exists`
    marks roles whose account is absent; default: a role whose view is None).
    """
    for f in fields(instruction, profile):
        if f.role not in metas:
            continue
        if f.kind is Kind.SIGNER and not metas[f.role].is_signer:
            raise AccountRejected(AnchorError.AccountNotSigner, f.role)
        present = (
            exists[f.role]
            if exists is not None and f.role in exists
            else f.role not in ACCOUNT_ROLES or _view(accounts, f.role) is not None
        )
        code = None if present else missing_error(f)
        if code is not None:
            raise AccountRejected(code, f.role)


def check_init_seeds(
    instruction: str,
    metas: Mapping[str, Meta],
    accounts: IfAccounts,
    addresses: DriftAddresses,
    profile: ProgramProfile,
    args: Mapping[str, int] | None = None,
) -> None:
    """The `init` fields' seeds (checked before the account is created)."""
    arg_index = market_index_arg(instruction, args)
    for f in fields(instruction, profile):
        if f.init:
            check_seeds(f, metas, accounts, addresses, arg_index)


def check_constraints(
    instruction: str,
    metas: Mapping[str, Meta],
    accounts: IfAccounts,
    addresses: DriftAddresses,
    profile: ProgramProfile,
    args: Mapping[str, int] | None = None,
) -> None:
    """Anchor's second pass: every non-init field's constraints, in field order."""
    arg_index = market_index_arg(instruction, args)
    for f in fields(instruction, profile):
        if not f.init and f.role in metas:
            _field_constraints(f, metas, accounts, addresses, arg_index)


def check_accounts(
    instruction: str,
    metas: Mapping[str, Meta],
    accounts: IfAccounts,
    addresses: DriftAddresses,
    profile: ProgramProfile | None = None,
    args: Mapping[str, int] | None = None,
    *,
    exists: Mapping[str, bool] | None = None,
) -> None:
    """Raise `AccountRejected` with the code Anchor would fail with, or return; then,
    as the handler goes on to `load_mut!` its accounts, fail an account passed
    read-only with UnableToLoadAccountLoader (6065, after the handler's earlier checks).

    `profile` supplies the build's structs (default: the golden traces' build, v2.84). `args` are the
    instruction's arguments (the seeds use its market index; without them, the spot
    market's own). The creation of an `init` account (which fails in the System
    program when the account exists) falls between the init seeds and the other
    constraints; callers that model it call the three passes themselves.
    """
    prof = profile or DRIFT_V2_84
    check_deserialization(instruction, metas, accounts, prof, exists)
    check_init_seeds(instruction, metas, accounts, addresses, prof, args)
    check_constraints(instruction, metas, accounts, addresses, prof, args)
    unwritable = frozenset(role for role, m in metas.items() if not m.is_writable)
    check_loads(instruction, accounts, args or {}, unwritable)
