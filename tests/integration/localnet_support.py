"""Helpers shared by the localnet integration tests (clients only, no cluster internals)."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from solana.rpc.async_api import AsyncClient
from solana.rpc.commitment import Confirmed
from solana.rpc.types import TxOpts
from solders.hash import Hash
from solders.instruction import Instruction
from solders.keypair import Keypair
from solders.message import Message
from solders.pubkey import Pubkey
from solders.signature import Signature
from solders.system_program import CreateAccountParams, create_account
from solders.transaction import VersionedTransaction
from spl.token.constants import TOKEN_PROGRAM_ID
from spl.token.instructions import (
    InitializeMintParams,
    MintToParams,
    create_associated_token_account,
    get_associated_token_address,
    initialize_mint,
    mint_to,
)

from keeper.core.profile import (
    DRIFT_V2_84,
    PROFILES,
    Capability,
    ProgramProfile,
    SettleCapBase,
    get_profile,
)
from localnet.embedded import EmbeddedLocalnet
from localnet.genesis import GenesisSpec, MarketSpec, StakerSpec

GENESIS_UNIX_MS = 1_750_000_000_000


@dataclass
class Localnet:
    """URLs plus small helpers; tests talk to the cluster only through these URLs."""

    rpc_url: str
    ws_url: str
    client: AsyncClient
    #: A real validator (LOCALNET_EXTERNAL_RPC_URL): it has no cheatcodes, so a test
    #: that needs one is skipped there, with the cheatcode named.
    external: bool = False

    async def raw(self, method: str, params: list[Any] | None = None) -> dict[str, Any]:
        """A raw JSON-RPC call (for cheatcodes and error objects)."""
        body = {"jsonrpc": "2.0", "id": 1, "method": method, "params": params or []}
        async with httpx.AsyncClient() as http:
            response = await http.post(self.rpc_url, json=body)
        result: dict[str, Any] = response.json()
        return result

    async def cheat(self, method: str, params: list[Any] | None = None) -> Any:
        if self.external and method.startswith("localnet_"):
            pytest.skip(f"needs the localnet cheatcode {method}; a validator has none")
        reply = await self.raw(method, params)
        assert "error" not in reply, reply
        return reply["result"]

    async def blockhash(self) -> Hash:
        return (await self.client.get_latest_blockhash()).value.blockhash

    async def funded(self, lamports: int = 10_000_000_000) -> Keypair:
        kp = Keypair()
        sig = (await self.client.request_airdrop(kp.pubkey(), lamports)).value
        await self.client.confirm_transaction(sig, Confirmed, sleep_seconds=0.01)
        return kp

    async def tx(
        self,
        ixs: list[Instruction],
        payer: Keypair,
        *signers: Keypair,
        blockhash: Hash | None = None,
    ) -> VersionedTransaction:
        bh = blockhash or await self.blockhash()
        message = Message.new_with_blockhash(ixs, payer.pubkey(), bh)
        return VersionedTransaction(message, [payer, *signers])

    async def send(self, tx: VersionedTransaction, skip_preflight: bool = False) -> Signature:
        opts = TxOpts(skip_preflight=skip_preflight, preflight_commitment=Confirmed)
        sig = (await self.client.send_transaction(tx, opts=opts)).value
        await self.client.confirm_transaction(sig, Confirmed, sleep_seconds=0.01)
        return sig

    async def balance(self, address: Pubkey) -> int:
        return (await self.client.get_balance(address)).value


async def create_mint(net: Localnet, payer: Keypair, decimals: int = 6) -> Pubkey:
    """A fresh SPL mint with `payer` as mint authority, via real transactions."""
    mint = Keypair()
    rent = (await net.client.get_minimum_balance_for_rent_exemption(82)).value
    ixs = [
        create_account(
            CreateAccountParams(
                from_pubkey=payer.pubkey(),
                to_pubkey=mint.pubkey(),
                lamports=rent,
                space=82,
                owner=TOKEN_PROGRAM_ID,
            )
        ),
        initialize_mint(
            InitializeMintParams(
                decimals=decimals,
                program_id=TOKEN_PROGRAM_ID,
                mint=mint.pubkey(),
                mint_authority=payer.pubkey(),
                freeze_authority=None,
            )
        ),
    ]
    await net.send(await net.tx(ixs, payer, mint))
    return mint.pubkey()


async def token_account(
    net: Localnet, payer: Keypair, owner: Pubkey, mint: Pubkey, amount: int = 0
) -> Pubkey:
    """`owner`'s associated token account for `mint`, minted `amount` by `payer`."""
    ata = get_associated_token_address(owner, mint)
    ixs = [create_associated_token_account(payer.pubkey(), owner, mint)]
    if amount:
        ixs.append(
            mint_to(
                MintToParams(
                    program_id=TOKEN_PROGRAM_ID,
                    mint=mint,
                    dest=ata,
                    mint_authority=payer.pubkey(),
                    amount=amount,
                )
            )
        )
    await net.send(await net.tx(ixs, payer))
    return ata


#: The profile of the binary DRIFT_PROGRAM_SO names (the golden traces' build unless
#: DRIFT_PROGRAM_PROFILE says otherwise): what the real program can and cannot do.
PROGRAM_PROFILE_ENV = "DRIFT_PROGRAM_PROFILE"


#: Run the CLI and keeper suites under another profile's rules and model (CI runs them
#: under `velocity` too); with DRIFT_PROGRAM_SO, DRIFT_PROGRAM_PROFILE names the default.
SUITE_PROFILE_ENV = "DRIFT_IF_SUITE_PROFILE"


def suite_profile() -> ProgramProfile:
    """The profile the CLI and keeper suites run under (default drift-mainnet)."""
    name = os.environ.get(SUITE_PROFILE_ENV) or (
        os.environ.get(PROGRAM_PROFILE_ENV) if os.environ.get("DRIFT_PROGRAM_SO") else None
    )
    return get_profile(name or "drift-mainnet")


SUITE_PROFILE = suite_profile()
if SUITE_PROFILE.name != "drift-mainnet":
    # the CLI (`--profile`) and the keeper's config read it, in-process and in subprocesses
    os.environ.setdefault("DRIFT_IF_PROFILE", SUITE_PROFILE.name)


def first_settle_seeds_cap(profile: ProgramProfile) -> bool:
    """Whether the first settle after stakers appear books nothing and only records the
    NAV its APR cap is based on (Velocity's `min(NAV, last settle NAV)` with a 0 start)."""
    return profile.settle_cap_base is SettleCapBase.MIN_NAV_AND_LAST_SETTLE


def binary_profile() -> ProgramProfile | None:
    """The profile of the real binary under test (None: the model runs)."""
    if not os.environ.get("DRIFT_PROGRAM_SO"):
        return None
    return get_profile(os.environ.get(PROGRAM_PROFILE_ENV, DRIFT_V2_84.name))


def profile_with(capability: Capability) -> ProgramProfile:
    """A profile whose build has `capability`; with a real binary, the binary's own
    (the test is skipped, saying why, when that build lacks it)."""
    real = binary_profile()
    if real is not None:
        why = real.refusal(capability)
        if why is not None:
            pytest.skip(f"DRIFT_PROGRAM_SO is {real.name}: {why}")
        return real
    return next(p for p in PROFILES.values() if p.refusal(capability) is None)


def profile_without(capability: Capability) -> ProgramProfile:
    """A profile whose build lacks `capability` (the binary's own with a real one)."""
    real = binary_profile()
    if real is not None:
        if real.refusal(capability) is None:
            pytest.skip(f"DRIFT_PROGRAM_SO is {real.name}, which has {capability.value}")
        return real
    return next(p for p in PROFILES.values() if p.refusal(capability) is not None)


#: A localnet with a Token-2022 market: USDC (0) and a PYUSD-like market (1), alice funded.
TOKEN_2022_START_TS = 1_767_225_600
TOKEN_2022_SPEC = GenesisSpec(
    markets=(MarketSpec(0, "USDC", 6), MarketSpec(1, "PYUSD", 6, token_2022=True)),
    stakers=(StakerSpec("alice", token_amounts=((1, 5_000_000_000),)),),
    created_ts=TOKEN_2022_START_TS,
)


def token_2022_localnet(profile: ProgramProfile, keys_dir: Path) -> EmbeddedLocalnet:
    """The Token-2022 localnet under `profile` (enter it with `with`)."""
    return EmbeddedLocalnet(profile, keys_dir, start_ts=TOKEN_2022_START_TS, spec=TOKEN_2022_SPEC)
