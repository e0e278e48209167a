"""`python -m localnet` / `drift-if-localnet`: a Drift cluster, its URLs, until Ctrl-C.

The Drift program runs for real when a binary is given (`--program PATH` or the
`DRIFT_PROGRAM_SO` environment variable); otherwise the Python model of its IF
instructions (localnet.drift_model) serves its id. Unless `--no-genesis`, the cluster
starts with a Drift exchange written as accounts (localnet.genesis) and funded stakers
whose keypair files are written to `--keypairs-dir`. `--bpf-program ADDRESS SO`,
`--account ADDRESS FILE` and `--account-dir DIR` take solana-test-validator's arguments
and files, so `python -m localnet.genesis DIR` exports boot both the same way.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import signal
import sys
from collections.abc import Callable, Sequence
from pathlib import Path

from solders.pubkey import Pubkey

from keeper.core import DRIFT_MAINNET, ConfigError, get_profile
from localnet.account_files import (
    AccountFileError,
    account_dir_files,
    load_account_arg,
    parse_address,
    read_account_file,
)
from localnet.cluster import Cluster, ClusterConfig, ClusterError
from localnet.drift_model import DriftModel
from localnet.genesis import GenesisSpec, build_genesis, install_genesis, write_keypair_files
from localnet.model import ProgramModel
from localnet.server import LocalnetServer

PROGRAM_ENV = "DRIFT_PROGRAM_SO"

#: Builds the Python models for a program id when its binary is not loaded.
ModelFactory = Callable[[Pubkey], Sequence[ProgramModel]]


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="localnet",
        description="A local Solana cluster (LiteSVM) speaking JSON-RPC and PubSub.",
    )
    parser.add_argument("--host", default="127.0.0.1", help="interface to bind (default loopback)")
    parser.add_argument("--port", type=int, default=8899, help="JSON-RPC port; 0 picks a free one")
    parser.add_argument("--ws-port", type=int, default=None, help="PubSub port (default: port + 1)")
    parser.add_argument("--slot-ms", type=int, default=400, help="slot duration in milliseconds")
    parser.add_argument(
        "--manual-slots", action="store_true", help="slots advance only via localnet_timeTravel"
    )
    parser.add_argument(
        "--program", type=Path, default=None, help=f"Drift program .so (default: ${PROGRAM_ENV})"
    )
    parser.add_argument(
        "--program-id",
        default=str(DRIFT_MAINNET.program_id),
        help="program id to load the Drift program at",
    )
    parser.add_argument("--genesis-timestamp", type=int, default=None, help="unix time of slot 0")
    parser.add_argument(
        "--profile", default="drift-mainnet", help="program profile of the model (rules, IDL)"
    )
    parser.add_argument(
        "--no-genesis", action="store_true", help="start empty, without the Drift exchange"
    )
    parser.add_argument(
        "--bpf-program",
        nargs=2,
        action="append",
        default=[],
        metavar=("ADDRESS_OR_KEYPAIR", "SBF_PROGRAM.SO"),
        help="deploy a program binary at an address (repeatable; as solana-test-validator)",
    )
    parser.add_argument(
        "--account",
        nargs=2,
        action="append",
        default=[],
        metavar=("ADDRESS", "DUMP.JSON"),
        help="load an account from a `solana account --output json` file; ADDRESS `-` "
        "takes the file's pubkey (repeatable; as solana-test-validator)",
    )
    parser.add_argument(
        "--account-dir",
        action="append",
        default=[],
        type=Path,
        metavar="DIR",
        help="load every *.json account file of a directory at its recorded pubkey",
    )
    parser.add_argument(
        "--keypairs-dir",
        type=Path,
        default=Path(".localnet/keypairs"),
        help="where to write the genesis keypair files (local test funds only)",
    )
    return parser


def drift_models(profile_name: str) -> ModelFactory:
    """The Drift model for whichever program id the cluster serves."""

    def factory(program_id: Pubkey) -> Sequence[ProgramModel]:
        return [DriftModel(get_profile(profile_name).with_program_id(program_id))]

    return factory


def load_genesis(cluster: Cluster, args: argparse.Namespace) -> dict[str, Path]:
    """Write the Drift genesis into the cluster; returns the keypair files written."""
    profile = get_profile(args.profile).with_program_id(args.program_id)
    genesis = build_genesis(GenesisSpec(created_ts=cluster.unix_timestamp), profile)
    install_genesis(cluster, genesis)
    return write_keypair_files(genesis, args.keypairs_dir)


def build_cluster(args: argparse.Namespace, models: ModelFactory | None = None) -> Cluster:
    genesis_ms = args.genesis_timestamp * 1000 if args.genesis_timestamp is not None else None
    cluster = Cluster(
        ClusterConfig(
            slot_ms=args.slot_ms, manual_slots=args.manual_slots, genesis_unix_ms=genesis_ms
        )
    )
    program_id = Pubkey.from_string(args.program_id)
    try:
        programs = {parse_address(a): Path(p) for a, p in args.bpf_program}
    except AccountFileError as exc:
        raise ClusterError(f"--bpf-program: {exc}") from exc
    # `--bpf-program` at the Drift id is the same as `--program`: the binary, not the model.
    program = (
        args.program
        or programs.pop(program_id, None)
        or (Path(os.environ[PROGRAM_ENV]) if os.environ.get(PROGRAM_ENV) else None)
    )
    if program is not None:
        cluster.load_program(program_id, program)
    elif models is not None:
        for model in models(program_id):
            cluster.register_model(model)
    for address, path in programs.items():
        cluster.load_program(address, path)
    return cluster


def load_accounts(cluster: Cluster, args: argparse.Namespace) -> int:
    """`--account` / `--account-dir` files, written after the genesis (they win)."""
    try:
        loaded = [load_account_arg(a, Path(p)) for a, p in args.account]
        for directory in args.account_dir:
            loaded += [read_account_file(f) for f in account_dir_files(directory)]
    except AccountFileError as exc:
        raise ClusterError(str(exc)) from exc
    for address, account in loaded:
        cluster.set_account(address, account)
    return len(loaded)


async def serve(args: argparse.Namespace, models: ModelFactory | None = None) -> None:
    cluster = build_cluster(args, models if models is not None else drift_models(args.profile))
    keypairs = {} if args.no_genesis else load_genesis(cluster, args)
    accounts = load_accounts(cluster, args)
    server = LocalnetServer(cluster, host=args.host, rpc_port=args.port, ws_port=args.ws_port)
    await server.start()
    program_id = Pubkey.from_string(args.program_id)
    if cluster.has_real_program(program_id):
        drift = f"real program at {program_id}"
    elif program_id in cluster.models:
        drift = f"Python model at {program_id}"
    else:
        drift = "not deployed"
    print(f"RPC URL:       {server.rpc_url}", flush=True)
    print(f"WebSocket URL: {server.ws_url}", flush=True)
    print(f"Drift:         {drift}", flush=True)
    if args.bpf_program or accounts:
        print(f"Loaded:        {len(args.bpf_program)} programs, {accounts} accounts", flush=True)
    clock = "manual" if args.manual_slots else f"{args.slot_ms} ms"
    for label, path in sorted(keypairs.items()):
        print(f"{'Keypair ' + label + ':':<24}{path}", flush=True)
    print(f"Slots:         {clock}; Ctrl-C to stop", flush=True)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError):
            loop.add_signal_handler(sig, stop.set)
    try:
        await stop.wait()
    finally:
        await server.stop()
        print("localnet stopped", flush=True)


def main(argv: Sequence[str] | None = None, models: ModelFactory | None = None) -> int:
    """Entry point; `models` supplies Python models (the keeper passes its Drift model)."""
    args = build_parser().parse_args(argv)
    try:
        asyncio.run(serve(args, models))
    except (ClusterError, ConfigError) as exc:
        print(f"localnet: {exc}", file=sys.stderr)
        return 2
    except OSError as exc:
        print(f"localnet: cannot listen: {exc}", file=sys.stderr)
        return 2
    return 0
