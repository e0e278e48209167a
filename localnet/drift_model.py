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
from solders.system_program import (
    AllocateParams,
    AssignParams,
    CreateAccountParams,
    TransferParams,
    allocate,
    assign,
    create_account,
    transfer,
)

from keeper.core import (
    ACCOUNT_ROLES,
    SYSTEM_PROGRAM_ID,
    TOKEN_ROLES,
    AccountRejected,
    AnchorError,
    DecodeError,
    DriftError,
    Effect,
    IfAccounts,
    Kind,
    Meta,
    Mint,
    ProgramProfile,
    RawAccount,
    Rejected,
    State,
    TokenMove,
    TokenRejected,
    check_constraints,
    check_init_seeds,
    decode_mint,
    decode_token_account,
    deserialize_error,
    error_sites,
    field_name,
    fields,
    is_account_error,
    predict,
    predict_initialize_user_stats,
    snake_case,
)
from keeper.program import (
    KEEPER_INSTRUCTIONS,
    PRIMITIVE_SIZES,
    AccountCodec,
    DriftIdl,
    EventCodec,
    load_idl,
)
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

SUPPORTED = KEEPER_INSTRUCTIONS

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
        self.codec = AccountCodec(self.idl, profile.program_id, profile.addresses)
        self.events = EventCodec(self.idl)
        self.addresses = profile.addresses
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

    def _present(self, ctx: InstructionContext, address: Pubkey) -> RawAccount | None:
        """The account, or None where the runtime shows no account (System, 0 lamports)."""
        acc = ctx.accounts.get(address)
        if acc is None or (acc.lamports == 0 and not acc.data and acc.owner == SYSTEM_PROGRAM_ID):
            return None
        return self._raw(ctx, address)

    def _accounts(self, d: _Decoded, ctx: InstructionContext) -> dict[str, object]:
        """Anchor's deserialization pass, field by field in struct order."""
        views: dict[str, object] = {}
        for f in fields(d.name, self.profile):
            meta = d.metas.get(f.role)
            if meta is None:
                continue
            raw = self._present(ctx, meta.pubkey)
            if f.kind in (Kind.TOKEN_PROGRAM, Kind.SYSTEM_PROGRAM):
                raw = raw or RawAccount(meta.pubkey, SYSTEM_PROGRAM_ID, 0, b"")
            code = deserialize_error(f, meta.is_signer, raw, self.program_id, self.profile)
            if code is not None:
                raise AccountRejected(code, f.role)
            if f.init or f.role not in ACCOUNT_ROLES or raw is None:
                continue
            views[ACCOUNT_ROLES[f.role]] = self._decode_view(f.role, raw)
        return views

    def _decode_view(self, role: str, raw: RawAccount) -> object:
        try:
            return (
                decode_token_account(raw) if role in TOKEN_ROLES else self.codec.decode_drift(raw)
            )
        except DecodeError:
            raise AccountRejected(AnchorError.AccountDidNotDeserialize, role) from None

    # -- execution --------------------------------------------------------------------

    def _run(
        self, d: _Decoded, ctx: InstructionContext
    ) -> tuple[list[AccountWrite | Invoke], list[str]]:
        now = ctx.clock.unix_timestamp
        views = self._accounts(d, ctx)
        metas = {role: Meta(m.pubkey, m.is_signer, m.is_writable) for role, m in d.metas.items()}
        if d.name == "initializeUserStats":
            return self._init_user_stats(d, ctx, views, now), []
        accounts = IfAccounts(**views)  # type: ignore[arg-type]
        check_init_seeds(d.name, metas, accounts, self.addresses, self.profile, d.args)
        init = [f for f in fields(d.name, self.profile) if f.init]
        made = [self._create(d, f.role, ctx) for f in init]
        if any(c is None for c in made):
            # The account is in use: Anchor's create/allocate CPI fails in the System
            # program; return only that call so the runtime reports its error.
            return [self._allocate(d, init[0].role, ctx)], []
        check_constraints(d.name, metas, accounts, self.addresses, self.profile, d.args)
        creates = [c for c in made if c is not None]
        if self._payer_cpis_fail(d, creates):
            return [i for c in creates for i in c], []
        invokes: list[AccountWrite | Invoke] = [i for c in creates for i in c]
        unwritable = frozenset(r for r, m in metas.items() if not m.is_writable)
        if d.name == "initializeInsuranceFundStake":
            return invokes + self._init_stake(d, accounts, now), []
        mint = self._transfer_mint(d, ctx)
        try:
            effect = predict(d.name, accounts, d.args, now, self.profile, unwritable=unwritable)
        except TokenRejected as rej:
            # Make the transfers up to the failing one: SPL Token reports its own error
            # at that point of the instruction, before any check the program makes after.
            moves = [m for m in rej.transfers if isinstance(m, TokenMove)]
            return [self._transfer(m, accounts, mint) for m in moves if m.amount > 0], []
        return self._apply(effect, accounts, ctx, mint)

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
            seeds: tuple[tuple[bytes, ...], ...] = ((self.addresses.signer_seed, bytes([nonce])),)
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

    def _seeds(self, d: _Decoded, role: str) -> tuple[bytes, ...]:
        authority = d.metas["authority"].pubkey
        if role == "userStats":
            return (b"user_stats", bytes(authority))
        index = d.args["marketIndex"]
        return (b"insurance_fund_stake", bytes(authority), index.to_bytes(2, "little"))

    def _signer_seeds(self, d: _Decoded, role: str) -> tuple[tuple[bytes, ...], ...]:
        seeds = self._seeds(d, role)
        bump = Pubkey.find_program_address(list(seeds), self.program_id)[1]
        return ((*seeds, bytes([bump])),)

    def _create(self, d: _Decoded, role: str, ctx: InstructionContext) -> tuple[Invoke, ...] | None:
        """Anchor's `init` CPIs (None: the account is in use).

        An empty address is created with `create_account` from the payer; one that
        already holds lamports (anyone may send lamports to a PDA) but no data and is
        System-owned is topped up to rent exemption from the payer (only if short),
        then allocated and assigned, as Anchor does."""
        address = d.metas[role].pubkey
        acc = ctx.accounts.get(address)
        size = self.codec.size("UserStats" if role == "userStats" else "InsuranceFundStake")
        rent = ctx.rent.minimum_balance(size)
        seeds = self._signer_seeds(d, role)
        payer = d.metas["payer"].pubkey
        if acc is None or acc.lamports == 0:
            params = CreateAccountParams(
                from_pubkey=payer,
                to_pubkey=address,
                lamports=rent,
                space=size,
                owner=self.program_id,
            )
            return (Invoke(create_account(params), seeds),)
        if acc.data or acc.owner != SYSTEM_PROGRAM_ID:
            return None
        out: list[Invoke] = []
        if acc.lamports < rent:
            top_up = TransferParams(
                from_pubkey=payer, to_pubkey=address, lamports=rent - acc.lamports
            )
            out.append(Invoke(transfer(top_up)))
        out.append(Invoke(allocate(AllocateParams(pubkey=address, space=size)), seeds))
        out.append(Invoke(assign(AssignParams(pubkey=address, owner=self.program_id)), seeds))
        return tuple(out)

    def _payer_cpis_fail(self, d: _Decoded, creates: list[tuple[Invoke, ...]]) -> bool:
        """A read-only payer: the init CPIs that debit it escalate its privilege (the
        runtime fails them) before Anchor reaches the payer's own `mut` check."""
        payer = d.metas.get("payer")
        if payer is None or payer.is_writable:
            return False
        return any(
            m.pubkey == payer.pubkey and m.is_writable
            for c in creates
            for i in c
            for m in i.instruction.accounts
        )

    def _allocate(self, d: _Decoded, role: str, ctx: InstructionContext) -> Invoke:
        """For an address that holds lamports Anchor allocates (then assigns); the
        System program refuses an account already in use ("Allocate: ... already in use")."""
        size = self.codec.size("UserStats" if role == "userStats" else "InsuranceFundStake")
        params = AllocateParams(pubkey=d.metas[role].pubkey, space=size)
        return Invoke(allocate(params), self._signer_seeds(d, role))

    def _init_user_stats(
        self, d: _Decoded, ctx: InstructionContext, views: dict[str, object], now: int
    ) -> list[AccountWrite | Invoke]:
        """No spot market here: the struct's checks after deserialization are the
        init's seeds (then its CPIs) and the `mut` of `state` and `payer`."""
        authority, address = d.metas["authority"].pubkey, d.metas["userStats"].pubkey
        expected = self.addresses.user_stats(authority)
        if address != expected:
            raise AccountRejected(AnchorError.ConstraintSeeds, "userStats", (address, expected))
        create = self._create(d, "userStats", ctx)
        if create is None:
            return [self._allocate(d, "userStats", ctx)]
        if self._payer_cpis_fail(d, [create]):
            return list(create)
        for role in ("state", "payer"):
            if not d.metas[role].is_writable:
                raise AccountRejected(AnchorError.ConstraintMut, role)
        state = views["state"]
        assert isinstance(state, State)
        stats = self.codec.new_user_stats(address, authority, now)
        effect = predict_initialize_user_stats(state, stats)
        assert effect.state is not None and effect.user_stats is not None
        return [
            *create,
            AccountWrite(address, data=self.codec.encode(effect.user_stats)),
            AccountWrite(state.address, data=self.codec.encode(effect.state)),
        ]

    def _init_stake(
        self, d: _Decoded, accounts: IfAccounts, now: int
    ) -> list[AccountWrite | Invoke]:
        authority = d.metas["authority"].pubkey
        index = d.args["marketIndex"]
        address = d.metas["insuranceFundStake"].pubkey
        predict(d.name, accounts, d.args, now, self.profile)  # the pause gate
        stake = self.codec.new_stake(address, authority, index, now)
        return [AccountWrite(address, data=self.codec.encode(stake))]

    # -- logs -------------------------------------------------------------------------

    def _anchor_line(self, code: int, account: str | None = None) -> str:
        """Anchor's error line; `account` is the field's Rust name (snake_case)."""
        info = self.idl.errors.lookup(code)
        if account is not None and is_account_error(code):
            return program_log(
                f"AnchorError caused by account: {account}. Error Code: {info.name}. "
                f"Error Number: {code}. Error Message: {info.message}."
            )
        return program_log(
            f"AnchorError occurred. Error Code: {info.name}. Error Number: {code}. Error Message: {info.message}."
        )

    def _error_logs(self, name: str, rej: Rejected) -> tuple[str, ...]:
        """The program's log lines for a rejection: the site line its `validate!` or
        `load_mut!` writes (keeper.core.error_sites), its msg! lines, Anchor's line."""
        info = self.idl.errors.lookup(rej.code)
        lines: list[str] = []
        if isinstance(rej, AccountRejected):
            lines.append(self._anchor_line(rej.code, field_name(name, rej.role, self.profile)))
            if rej.compared is not None:
                left, right = rej.compared
                lines += [program_log(x) for x in ("Left:", str(left), "Right:", str(right))]
            return tuple(lines)
        entry = error_sites.find(self.profile, name, rej.code, rej.site)
        site = error_sites.source_site(self.profile, entry) if entry is not None else None
        if rej.code in _INNER:
            lines.append(program_log(_INNER[rej.code]))
        if site is not None and entry is not None and entry.form is error_sites.Form.VALIDATE:
            lines.append(program_log(f"Error {info.message} thrown at {site}"))
        msgs = rej.logs or ((entry.msg,) if entry is not None and entry.msg else ())
        lines += [program_log(line) for line in msgs]
        lines.append(self._anchor_line(rej.code))
        return tuple(lines)
