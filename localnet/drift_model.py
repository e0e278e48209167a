"""The Drift program's IF instructions, executed natively by the localnet.

Without a Drift binary the localnet still answers Drift instructions the way the
program does: this model decodes the instruction with the IDL, makes Anchor's account
checks, runs the keeper's mirror (keeper.core.effects) for the state change, and hands the
cluster real CPIs for what the program delegates (System account creation, SPL Token
transfers signed by the drift signer PDA). Errors carry the program's log lines. The
golden traces, replayed over RPC, are the judge of this model (tests/localnet).
"""

from __future__ import annotations

from dataclasses import dataclass

from solders.account import Account
from solders.instruction import AccountMeta
from solders.pubkey import Pubkey
from solders.system_program import CreateAccountParams, create_account

from keeper.core import (
    ACCOUNT_ROLES,
    INSURANCE_FUND_STAKE_SIZE,
    SPL_TOKEN_PROGRAM_ID,
    TOKEN_2022_PROGRAM_ID,
    TOKEN_ROLES,
    USER_STATS_SIZE,
    AnchorError,
    DecodeError,
    DriftAddresses,
    DriftError,
    DriftView,
    Effect,
    IfAccounts,
    Meta,
    Mint,
    ProgramProfile,
    RawAccount,
    Rejected,
    State,
    TokenAccount,
    TokenMove,
    check_accounts,
    decode_mint,
    decode_token_account,
    is_account_error,
    predict,
    predict_initialize_user_stats,
    snake_case,
)
from keeper.program import PRIMITIVE_SIZES, AccountCodec, DriftIdl, EventCodec, load_idl
from localnet.model import (
    AccountWrite,
    InstructionContext,
    Invoke,
    ModelFailure,
    ModelResult,
    ModelSuccess,
    program_data,
    program_log,
    token_transfer,
    token_transfer_checked,
)

SUPPORTED = (
    "initializeUserStats",
    "initializeInsuranceFundStake",
    "addInsuranceFundStake",
    "requestRemoveInsuranceFundStake",
    "cancelRequestRemoveInsuranceFundStake",
    "removeInsuranceFundStake",
    "settleRevenueToInsuranceFund",
    "depositIntoSpotMarketRevenuePool",
    "updateUserQuoteAssetInsuranceStake",
)

# Where the v2.84 build raises each error (its "Error … thrown at" line), as recorded
# in the golden traces. Sites not listed here log only the AnchorError line.
_SITES: dict[tuple[str, int], str] = {
    (
        "requestRemoveInsuranceFundStake",
        DriftError.InsufficientIFShares,
    ): "programs/drift/src/instructions/if_staker.rs:167",
    (
        "requestRemoveInsuranceFundStake",
        DriftError.IFWithdrawRequestTooSmall,
    ): "programs/drift/src/instructions/if_staker.rs:160",
    (
        "requestRemoveInsuranceFundStake",
        DriftError.IFWithdrawRequestInProgress,
    ): "programs/drift/src/instructions/if_staker.rs:148",
    (
        "cancelRequestRemoveInsuranceFundStake",
        DriftError.NoIFWithdrawRequestInProgress,
    ): "programs/drift/src/instructions/if_staker.rs:197",
    (
        "removeInsuranceFundStake",
        DriftError.InvalidIFUnstake,
    ): "programs/drift/src/controller/insurance.rs:359",
    (
        "removeInsuranceFundStake",
        DriftError.TryingToRemoveLiquidityTooFast,
    ): "programs/drift/src/controller/insurance.rs:345",
    (
        "removeInsuranceFundStake",
        DriftError.SpotMarketInsufficientDeposits,
    ): "programs/drift/src/instructions/if_staker.rs:241",
    (
        "addInsuranceFundStake",
        DriftError.IFWithdrawRequestInProgress,
    ): "programs/drift/src/instructions/if_staker.rs:79",
    (
        "addInsuranceFundStake",
        DriftError.UnableToLoadAccountLoader,
    ): "programs/drift/src/instructions/if_staker.rs:57",
    (
        "settleRevenueToInsuranceFund",
        DriftError.RevenueSettingsCannotSettleToIF,
    ): "programs/drift/src/instructions/keeper.rs:1458",
    (
        "settleRevenueToInsuranceFund",
        DriftError.NoRevenueToSettleToIF,
    ): "programs/drift/src/controller/insurance.rs:682",
    (
        "updateUserQuoteAssetInsuranceStake",
        DriftError.IncorrectSpotMarketAccountPassed,
    ): "programs/drift/src/instructions/keeper.rs:1572",
}
_ANY_SITES: dict[int, str] = {
    DriftError.InvalidIFRebase: "programs/drift/src/state/insurance_fund_stake.rs:53"
}
_INNER: dict[int, str] = {
    DriftError.UnableToLoadAccountLoader: 'e AnchorError(AnchorError { error_name: "AccountNotMutable", error_code_number: AnchorError.AccountNotMutable, '
    'error_msg: "The given account is not mutable", error_origin: None, compared_values: None })'
}


class _Fail(Exception):
    def __init__(self, code: int, logs: tuple[str, ...] = ()) -> None:
        self.code, self.logs = code, logs
        super().__init__(code)


@dataclass(frozen=True)
class _Decoded:
    name: str
    args: dict[str, int]
    metas: dict[str, AccountMeta]
    #: accounts after the IDL's: [mint] [transfer-hook metas] for token transfers
    remaining: tuple[AccountMeta, ...] = ()


class DriftModel:
    """`ProgramModel` for the Drift IF instructions of one program profile."""

    def __init__(self, profile: ProgramProfile, idl: DriftIdl | None = None) -> None:
        self.profile = profile
        self.idl = idl or load_idl(profile.idl_path)
        self.codec = AccountCodec(self.idl, profile.program_id)
        self.events = EventCodec(self.idl)
        self.addresses = DriftAddresses(profile.program_id)
        self._by_disc = {
            bytes(self.idl.coder.instruction.sighashes[snake_case(n)]): n for n in SUPPORTED
        }

    @property
    def program_id(self) -> Pubkey:
        return self.profile.program_id

    # -- entry point ------------------------------------------------------------------

    def execute(self, ctx: InstructionContext) -> ModelResult:
        data = ctx.instruction.data
        name = self._by_disc.get(bytes(data[:8]))
        if name is None:
            return ModelFailure(
                AnchorError.InstructionFallbackNotFound,
                (self._anchor_line(AnchorError.InstructionFallbackNotFound),),
            )
        logs = [program_log(f"Instruction: {name[:1].upper()}{name[1:]}")]
        try:
            decoded = self._decode(name, ctx)
            effects, more_logs = self._run(decoded, ctx)
        except _Fail as fail:
            return ModelFailure(fail.code, (*logs, *fail.logs))
        except Rejected as rej:
            return ModelFailure(rej.code, (*logs, *self._error_logs(name, rej)))
        return ModelSuccess(tuple(effects), (*logs, *more_logs))

    # -- decoding ---------------------------------------------------------------------

    def _decode(self, name: str, ctx: InstructionContext) -> _Decoded:
        spec = self.idl.instruction(name)
        body = bytes(ctx.instruction.data[8:])
        args: dict[str, int] = {}
        offset = 0
        for arg, ty in spec.args:
            size = PRIMITIVE_SIZES[ty.strip('"')]
            if offset + size > len(body):
                raise _Fail(
                    AnchorError.InstructionDidNotDeserialize,
                    (self._anchor_line(AnchorError.InstructionDidNotDeserialize),),
                )
            args[arg] = int.from_bytes(body[offset : offset + size], "little")
            offset += size
        metas = ctx.instruction.accounts
        if len(metas) < len(spec.accounts):
            raise _Fail(
                AnchorError.AccountNotEnoughKeys,
                (self._anchor_line(AnchorError.AccountNotEnoughKeys),),
            )
        roles = {m.name: metas[i] for i, m in enumerate(spec.accounts)}
        return _Decoded(name, args, roles, tuple(metas[len(spec.accounts) :]))

    def _raw(self, ctx: InstructionContext, address: Pubkey) -> RawAccount:
        acc: Account = ctx.accounts[address]
        return RawAccount(
            address, acc.owner, acc.lamports, bytes(acc.data), acc.executable, acc.rent_epoch
        )

    def _drift(self, ctx: InstructionContext, meta: AccountMeta, role: str) -> DriftView:
        raw = self._raw(ctx, meta.pubkey)
        if not raw.data and raw.lamports == 0:
            raise _Fail(
                AnchorError.AccountNotInitialized,
                (self._anchor_line(AnchorError.AccountNotInitialized, role),),
            )
        if raw.owner != self.program_id:
            raise _Fail(
                AnchorError.AccountOwnedByWrongProgram,
                (self._anchor_line(AnchorError.AccountOwnedByWrongProgram, role),),
            )
        try:
            return self.codec.decode_drift(raw)
        except DecodeError:
            raise _Fail(
                AnchorError.AccountDiscriminatorMismatch,
                (self._anchor_line(AnchorError.AccountDiscriminatorMismatch, role),),
            ) from None

    def _token(self, ctx: InstructionContext, meta: AccountMeta, role: str) -> TokenAccount:
        raw = self._raw(ctx, meta.pubkey)
        if raw.owner not in (SPL_TOKEN_PROGRAM_ID, TOKEN_2022_PROGRAM_ID):
            raise _Fail(
                AnchorError.AccountOwnedByWrongProgram,
                (self._anchor_line(AnchorError.AccountOwnedByWrongProgram, role),),
            )
        try:
            return decode_token_account(raw)
        except DecodeError:
            raise _Fail(
                AnchorError.AccountDidNotDeserialize,
                (self._anchor_line(AnchorError.AccountDidNotDeserialize, role),),
            ) from None

    def _accounts(self, d: _Decoded, ctx: InstructionContext) -> IfAccounts:
        views: dict[str, object] = {}
        for role, kind in ACCOUNT_ROLES.items():
            if role == "insuranceFundStake" and d.name == "initializeInsuranceFundStake":
                continue  # the account this instruction creates
            if role in d.metas:
                decode = self._token if role in TOKEN_ROLES else self._drift
                views[kind] = decode(ctx, d.metas[role], role)
        return IfAccounts(**views)  # type: ignore[arg-type]

    # -- execution --------------------------------------------------------------------

    def _run(
        self, d: _Decoded, ctx: InstructionContext
    ) -> tuple[list[AccountWrite | Invoke], list[str]]:
        now = ctx.clock.unix_timestamp
        if d.name == "initializeUserStats":
            return self._init_user_stats(d, ctx, now)
        accounts = self._accounts(d, ctx)
        metas = {role: Meta(m.pubkey, m.is_signer, m.is_writable) for role, m in d.metas.items()}
        check_accounts(d.name, metas, accounts, self.addresses, self.profile)
        if d.name == "initializeInsuranceFundStake":
            return self._init_stake(d, ctx, accounts, now)
        effect = predict(d.name, accounts, d.args, now, self.profile, check_token_balances=False)
        return self._apply(effect, accounts, ctx, self._transfer_mint(d, ctx))

    def _apply(
        self, effect: Effect, accounts: IfAccounts, ctx: InstructionContext, mint: Mint | None
    ) -> tuple[list[AccountWrite | Invoke], list[str]]:
        out: list[AccountWrite | Invoke] = []
        before = {
            v.address: v
            for v in (accounts.market, accounts.stake, accounts.user_stats, accounts.state)
            if v
        }
        for view in (effect.market, effect.stake, effect.user_stats, effect.state):
            if view is not None and view != before.get(view.address):
                out.append(AccountWrite(view.address, data=self.codec.encode(view)))
        logs: list[str] = []
        settle_events = [e for e in effect.events if e["name"] != "InsuranceFundStakeRecord"]
        stake_events = [e for e in effect.events if e["name"] == "InsuranceFundStakeRecord"]
        spot_vault = accounts.spot_vault.address if accounts.spot_vault else None
        settle_moves = [m for m in effect.transfers if m.source == spot_vault]
        other_moves = [m for m in effect.transfers if m.source != spot_vault]
        # The program logs the settle's events, makes its transfer, then the stake's.
        logs += [program_data(self.events.encode(e)) for e in settle_events]
        out += [self._transfer(m, accounts, mint) for m in settle_moves if m.amount > 0]
        logs += [program_data(self.events.encode(e)) for e in stake_events]
        out += [self._transfer(m, accounts, mint) for m in other_moves]
        return out, logs

    def _transfer_mint(self, d: _Decoded, ctx: InstructionContext) -> Mint | None:
        """The program pops the first remaining account and, if it is a mint, transfers
        with `transfer_checked` (what Token-2022 mints need); otherwise a plain transfer."""
        if not d.remaining:
            return None
        try:
            return decode_mint(self._raw(ctx, d.remaining[0].pubkey))
        except DecodeError:
            return None

    def _transfer(self, move: TokenMove, accounts: IfAccounts, mint: Mint | None) -> Invoke:
        market = accounts.market
        vaults = {market.vault, market.insurance_fund.vault}
        if move.source in vaults:
            state = accounts.state
            nonce = state.signer_nonce if state is not None else self.addresses.drift_signer_nonce()
            authority = self.addresses.drift_signer()
            seeds: tuple[tuple[bytes, ...], ...] = ((b"drift_signer", bytes([nonce])),)
        else:
            assert accounts.user_token is not None
            authority, seeds = accounts.user_token.owner, ()
        if mint is not None:
            ix = token_transfer_checked(
                move.source,
                mint.address,
                move.destination,
                authority,
                move.amount,
                mint.decimals,
                market.token_program,
            )
        else:
            ix = token_transfer(
                move.source, move.destination, authority, move.amount, market.token_program
            )
        return Invoke(ix, seeds)

    def _create(
        self,
        payer: Pubkey,
        address: Pubkey,
        size: int,
        ctx: InstructionContext,
        seeds: tuple[bytes, ...],
    ) -> Invoke:
        bump = Pubkey.find_program_address(list(seeds), self.program_id)[1]
        params = CreateAccountParams(
            from_pubkey=payer,
            to_pubkey=address,
            lamports=ctx.rent.minimum_balance(size),
            space=size,
            owner=self.program_id,
        )
        return Invoke(create_account(params), ((*seeds, bytes([bump])),))

    def _init_user_stats(
        self, d: _Decoded, ctx: InstructionContext, now: int
    ) -> tuple[list[AccountWrite | Invoke], list[str]]:
        authority, payer = d.metas["authority"].pubkey, d.metas["payer"].pubkey
        address = d.metas["userStats"].pubkey
        if self.profile.init_user_stats_authority_signs and not d.metas["authority"].is_signer:
            raise _Fail(
                AnchorError.AccountNotSigner,
                (self._anchor_line(AnchorError.AccountNotSigner, "authority"),),
            )
        if not d.metas["payer"].is_signer:
            raise _Fail(
                AnchorError.AccountNotSigner,
                (self._anchor_line(AnchorError.AccountNotSigner, "payer"),),
            )
        if address != self.addresses.user_stats(authority):
            raise _Fail(
                AnchorError.ConstraintSeeds,
                (self._anchor_line(AnchorError.ConstraintSeeds, "user_stats"),),
            )
        state = self._drift(ctx, d.metas["state"], "state")
        if not isinstance(state, State):
            raise _Fail(
                AnchorError.AccountDiscriminatorMismatch,
                (self._anchor_line(AnchorError.AccountDiscriminatorMismatch, "state"),),
            )
        stats = self.codec.new_user_stats(address, authority, now)
        effect = predict_initialize_user_stats(state, stats)
        assert effect.state is not None and effect.user_stats is not None
        create = self._create(
            payer, address, USER_STATS_SIZE, ctx, (b"user_stats", bytes(authority))
        )
        return [
            create,
            AccountWrite(address, data=self.codec.encode(effect.user_stats)),
            AccountWrite(state.address, data=self.codec.encode(effect.state)),
        ], []

    def _init_stake(
        self, d: _Decoded, ctx: InstructionContext, accounts: IfAccounts, now: int
    ) -> tuple[list[AccountWrite | Invoke], list[str]]:
        authority, payer = d.metas["authority"].pubkey, d.metas["payer"].pubkey
        index = d.args["marketIndex"]
        address = d.metas["insuranceFundStake"].pubkey
        if address != self.addresses.insurance_fund_stake(authority, index):
            raise _Fail(
                AnchorError.ConstraintSeeds,
                (self._anchor_line(AnchorError.ConstraintSeeds, "insurance_fund_stake"),),
            )
        predict(d.name, accounts, d.args, now, self.profile)  # the pause gate
        stake = self.codec.new_stake(address, authority, index, now)
        seeds = (b"insurance_fund_stake", bytes(authority), index.to_bytes(2, "little"))
        create = self._create(payer, address, INSURANCE_FUND_STAKE_SIZE, ctx, seeds)
        return [create, AccountWrite(address, data=self.codec.encode(stake))], []

    # -- logs -------------------------------------------------------------------------

    def _anchor_line(self, code: int, account: str | None = None) -> str:
        info = self.idl.errors.lookup(code)
        if account is not None and is_account_error(code):
            return program_log(
                f"AnchorError caused by account: {snake_case(account)}. Error Code: {info.name}. "
                f"Error Number: {code}. Error Message: {info.message}."
            )
        return program_log(
            f"AnchorError occurred. Error Code: {info.name}. Error Number: {code}. Error Message: {info.message}."
        )

    def _error_logs(self, name: str, rej: Rejected) -> tuple[str, ...]:
        info = self.idl.errors.lookup(rej.code)
        lines: list[str] = []
        if rej.code in _INNER:
            lines.append(program_log(_INNER[rej.code]))
        site = _SITES.get((name, rej.code)) or _ANY_SITES.get(rej.code)
        if site is not None:
            lines.append(program_log(f"Error {info.message} thrown at {site}"))
        lines += [program_log(line) for line in rej.logs]
        if is_account_error(rej.code):
            lines.append(self._anchor_line(rej.code, "account"))
        else:
            lines.append(self._anchor_line(rej.code))
        return tuple(lines)
