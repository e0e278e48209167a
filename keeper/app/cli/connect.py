"""From options to a cluster: config, URL, keypairs, readers, sessions, markets.

Read-only commands get a light reader (httpx, no solana-py) and a codec that loads
the IDL only when the first account is decoded, so the first RPC call leaves within
the cold-start budget; commands that send get a full `Session`.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from solders.keypair import Keypair
from solders.pubkey import Pubkey

from keeper.app.cli.options import Options, UsageError
from keeper.app.solana_config import (
    DEFAULT_CONFIG_PATH,
    SolanaCliConfig,
    load_cli_config,
    load_keypair,
    resolve_url,
)
from keeper.core.errors import ConfigError, KeeperError, RpcError
from keeper.core.profile import ProgramProfile, get_profile, load_profile_file, parse_pubkey
from keeper.core.views import (
    DriftView,
    InsuranceFundStake,
    RawAccount,
    SpotMarket,
    State,
    UserStats,
)

if TYPE_CHECKING:
    from keeper.app.session import Session
    from keeper.cluster.http_reader import HttpAccountSource
    from keeper.cluster.reader import SnapshotCodec
    from keeper.cluster.transport import AccountSource
    from keeper.program.codec import AccountCodec


def load_profile(opts: Options, default: str) -> ProgramProfile:
    if opts.profile and opts.profile_file:
        raise UsageError("give --profile or --profile-file, not both")
    if opts.profile_file:
        prof = load_profile_file(Path(opts.profile_file))
    else:
        try:
            prof = get_profile(opts.profile or default)
        except ConfigError as exc:
            raise UsageError(str(exc)) from None
    if opts.program_id:
        prof = prof.with_program_id(opts.program_id)
    return prof


@dataclass(frozen=True)
class Cluster:
    """Where to talk and as whom: resolved once per command."""

    url: str
    profile: ProgramProfile
    commitment: str
    keypair: Keypair | None
    #: why there is no keypair (status says it instead of showing no stakes silently)
    keypair_note: str = ""
    fee_payer: Keypair | None = None


def resolve_cluster(opts: Options, *, needs_signer: bool, default_profile: str) -> Cluster:
    """Options + the Solana CLI config → URL, profile, keypairs.

    The keypair comes from `-k`, else from the config's `keypair_path`, for every
    command: `status` shows the stakes of the key `stake` signs with.
    """
    config_path = Path(opts.config).expanduser() if opts.config else None
    config: SolanaCliConfig = load_cli_config(config_path)
    shown = config_path or DEFAULT_CONFIG_PATH.expanduser()
    url = opts.url or resolve_url(config.json_rpc_url, source=f"json_rpc_url in {shown}")
    profile = load_profile(opts, default_profile)
    keypair: Keypair | None = None
    note = ""
    if opts.keypair:
        keypair = load_keypair(opts.keypair)
    else:
        path = Path(config.keypair_path).expanduser()
        if path.exists() or needs_signer:
            if not path.exists():
                raise ConfigError(
                    f"no keypair: {path} (keypair_path of {shown}) does not exist; "
                    "pass -k/--keypair or run `solana-keygen new`"
                )
            keypair = load_keypair(path)
        else:
            note = f"no keypair at {path}: pass -k/--keypair or --authority to see stakes"
    fee_payer = load_keypair(opts.fee_payer) if opts.fee_payer else None
    return Cluster(url, profile, opts.commitment or config.commitment, keypair, note, fee_payer)


class LazyCodec:
    """An `AccountCodec` built on first use (loading the IDL takes most of a second)."""

    def __init__(self, profile: ProgramProfile) -> None:
        self.program_id: Pubkey = profile.program_id
        self.addresses = profile.addresses
        self._profile = profile
        self._codec: AccountCodec | None = None

    def get(self) -> AccountCodec:
        if self._codec is None:
            from keeper.program.codec import AccountCodec
            from keeper.program.idl import load_idl

            self._codec = AccountCodec(
                load_idl(self._profile.idl_path), self.program_id, self.addresses
            )
        return self._codec

    def account_name(self, data: bytes) -> str | None:
        return self.get().account_name(data)

    def decode_drift(self, acc: RawAccount) -> DriftView:
        return self.get().decode_drift(acc)

    def decode_state(self, acc: RawAccount) -> State:
        return self.get().decode_state(acc)

    def decode_spot_market(self, acc: RawAccount) -> SpotMarket:
        return self.get().decode_spot_market(acc)

    def decode_stake(self, acc: RawAccount) -> InsuranceFundStake:
        return self.get().decode_stake(acc)

    def decode_user_stats(self, acc: RawAccount) -> UserStats:
        return self.get().decode_user_stats(acc)


def open_reader(cluster: Cluster, opts: Options) -> HttpAccountSource:
    from keeper.cluster.http_reader import HttpAccountSource

    return HttpAccountSource(
        cluster.url,
        commitment=cluster.commitment,
        timeout_seconds=opts.timeout,
        requests_per_second=opts.rps,
    )


def open_session(cluster: Cluster, opts: Options) -> Session:
    from keeper.app.session import Session

    return Session.connect(
        cluster.url,
        cluster.profile,
        keypair=cluster.keypair,
        commitment=cluster.commitment,
        requests_per_second=opts.rps,
        timeout_seconds=opts.timeout,
        fee_payer=cluster.fee_payer,
    )


def authority_of(cluster: Cluster, authority: str | None) -> Pubkey | None:
    if authority:
        return parse_pubkey(authority, "--authority")
    return cluster.keypair.pubkey() if cluster.keypair else None


# -- markets: count, names, symbols -----------------------------------------------------


async def read_state(reader: AccountSource, codec: SnapshotCodec) -> State:
    pdas = codec.addresses
    _slot, (acc,) = await reader.get_multiple([pdas.state()])
    if acc is None:
        raise RpcError(
            f"no Drift State account at {pdas.state()}: is {codec.program_id} the right "
            "program on this cluster (check -u and --profile)?"
        )
    from keeper.core.errors import DecodeError

    try:
        return codec.decode_state(acc)
    except DecodeError as exc:
        raise RpcError(f"the cluster returned accounts that do not decode: {exc}") from None


async def read_market_names(reader: AccountSource, codec: SnapshotCodec) -> dict[int, str]:
    """Every spot market's index → symbol (the market's `name`, else `#index`)."""
    state = await read_state(reader, codec)
    pdas = codec.addresses
    indexes = list(range(state.number_of_spot_markets))
    names: dict[int, str] = {}
    for start in range(0, len(indexes), 100):
        chunk = indexes[start : start + 100]
        _slot, accounts = await reader.get_multiple([pdas.spot_market(i) for i in chunk])
        for index, acc in zip(chunk, accounts, strict=True):
            if acc is not None:
                names[index] = codec.decode_spot_market(acc).symbol
    return names


async def resolve_markets(
    reader: AccountSource, codec: SnapshotCodec, refs: Sequence[int | str]
) -> tuple[int, ...]:
    """Market indexes for indexes or symbols; symbols are looked up on the cluster."""
    if all(isinstance(r, int) for r in refs):
        return tuple(r for r in refs if isinstance(r, int))
    names = await read_market_names(reader, codec)
    by_symbol: dict[str, list[int]] = {}
    for index, name in names.items():
        by_symbol.setdefault(name.upper(), []).append(index)
    out: list[int] = []
    for ref in refs:
        if isinstance(ref, int):
            out.append(ref)
            continue
        found = by_symbol.get(ref, [])
        if len(found) != 1:
            known = ", ".join(f"{n} ({i})" for i, n in sorted(names.items())) or "none"
            what = "several markets are" if found else "no market is"
            raise KeeperError(f"{what} named {ref!r} on this cluster (markets: {known})")
        out.append(found[0])
    return tuple(dict.fromkeys(out))


# -- fees -----------------------------------------------------------------------------------

LAMPORTS_PER_SOL = 1_000_000_000
LAMPORTS_PER_SIGNATURE = 5_000
#: rent-exempt minimum = (128 + data length) × 3480 lamports/byte-year × 2 years
RENT_LAMPORTS_PER_BYTE = 6_960
ACCOUNT_STORAGE_OVERHEAD = 128


def rent_exempt_lamports(data_len: int) -> int:
    return (ACCOUNT_STORAGE_OVERHEAD + data_len) * RENT_LAMPORTS_PER_BYTE


def priority_fee_lamports(micro_lamports_per_cu: int, compute_units: int) -> int:
    return math.ceil(micro_lamports_per_cu * compute_units / 1_000_000)


def format_sol(lamports: int) -> str:
    from keeper.core.fmt import format_amount

    return format_amount(lamports, 9).rstrip("0").rstrip(".") + " SOL"


def percentile(values: Sequence[int], pct: int) -> int:
    """The nearest-rank percentile (0 for no values)."""
    if not values:
        return 0
    ordered = sorted(values)
    rank = max(1, math.ceil(pct * len(ordered) / 100))
    return ordered[rank - 1]
