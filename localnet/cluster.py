"""The local cluster: one LiteSVM bank that behaves like a single-node validator.

`Cluster` owns the bank (LiteSVM), the slot/time line, the blockhash queue, the status
cache and the transaction history, and tells listeners (the PubSub server) about new
slots, changed accounts and landed transactions. It is synchronous and single-threaded:
the RPC server calls it from the event loop, and the optional slot ticker is an asyncio
task on that same loop, so no locks are needed and every request sees one consistent
bank.

Every commitment level reads the same (newest) bank; what differs is which slots and
transactions count as confirmed and finalized, which `localnet.ledger.Ledger` tracks
with a test validator's lag (none in manual-slot mode). Every account of the bank is
indexed by owner (`localnet.ledger` has no accounts: LiteSVM cannot list them, so the
cluster records every write), which is what getProgramAccounts scans.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import logging
import time
from collections import OrderedDict, deque
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

from solders.account import Account
from solders.address_lookup_table_account import AddressLookupTable
from solders.clock import Clock
from solders.compute_budget import set_compute_unit_limit
from solders.hash import Hash
from solders.keypair import Keypair
from solders.litesvm import LiteSVM
from solders.message import Message, MessageV0
from solders.pubkey import Pubkey
from solders.signature import Signature
from solders.system_program import TransferParams, transfer
from solders.transaction import VersionedTransaction
from solders.transaction_status import (
    TransactionErrorFieldless,
    TransactionErrorType,
)

from keeper.core import (
    ADDRESS_LOOKUP_TABLE_PROGRAM_ID,
    ASSOCIATED_TOKEN_PROGRAM_ID,
    SPL_TOKEN_PROGRAM_ID,
    SYSTEM_PROGRAM_ID,
    TOKEN_2022_PROGRAM_ID,
    DecodeError,
    RawAccount,
    decode_mint,
    decode_token_account,
)
from localnet.execution import SPONSOR, ExecutionResult, Executor, LoadedMessage
from localnet.ledger import (
    TEST_VALIDATOR_CONFIRMED_DEPTH,
    TEST_VALIDATOR_FINALIZED_DEPTH,
    Ledger,
)
from localnet.model import ProgramModel
from localnet.timekeeping import MAX_PROCESSING_AGE, BlockhashRegistry, SlotTimeline, TimePoint

_NATIVE_LOADER = Pubkey.from_string("NativeLoader1111111111111111111111111111111")

TOKEN_PROGRAMS = (SPL_TOKEN_PROGRAM_ID, TOKEN_2022_PROGRAM_ID)
_U64_MAX = 2**64 - 1
_SYSVAR_OWNER = Pubkey.from_string("Sysvar1111111111111111111111111111111111111")
#: Entries of the SlotHashes sysvar: how long a deactivating lookup table still lends.
_SLOT_HASHES_LEN = 512
_FAUCET_LAMPORTS = 10**18
#: The stake a test validator's bootstrap node gets: the only, so all, stake.
VALIDATOR_STAKE_LAMPORTS = 500_000_000_000
NATIVE_MINT = Pubkey.from_string("So11111111111111111111111111111111111111112")
NATIVE_MINT_2022 = Pubkey.from_string("9pan9bMn5HatX4EJdBwg9VgCa7Uz5HL8N1m5D3NdXejP")
#: Accounts LiteSVM makes by itself (programs, sysvars): probed once for the owner index.
_BUILTIN_ADDRESSES = tuple(
    Pubkey.from_string(a)
    for a in (
        "11111111111111111111111111111111",
        "Vote111111111111111111111111111111111111111",
        "Stake11111111111111111111111111111111111111",
        "Config1111111111111111111111111111111111111",
        "ComputeBudget111111111111111111111111111111",
        "AddressLookupTab1e1111111111111111111111111",
        "BPFLoader2111111111111111111111111111111111",
        "BPFLoaderUpgradeab1e11111111111111111111111",
        "BPFLoader1111111111111111111111111111111111",
        "LoaderV411111111111111111111111111111111111",
        "KeccakSecp256k11111111111111111111111111111",
        "Ed25519SigVerify111111111111111111111111111",
        "Secp256r1SigVerify1111111111111111111111111",
        "ZkE1Gama1Proof11111111111111111111111111111",
        "TokenkegQfeZyiNwAJbNbGKPFXCWuBvf9Ss623VQ5DA",
        "TokenzQdBNbLqP5VEhdkAS6EPFLC1PHnBqCXEpPxuEb",
        "ATokenGPvbdGVxr1b2hvZbsiqW5xWH25efTNsLJA8knL",
        "Memo1UhkJRfHyvLMcVucJwxXeuD728EqVDDwQDxFMNo",
        "MemoSq4gqABAXKb96qnH8TysNcWxMyWCqXgDLGmfcHr",
        "SysvarC1ock11111111111111111111111111111111",
        "SysvarRent111111111111111111111111111111111",
        "SysvarS1otHashes111111111111111111111111111",
        "SysvarStakeHistory1111111111111111111111111",
        "SysvarEpochSchedu1e111111111111111111111111",
        "SysvarRecentB1ockHashes11111111111111111111",
        "SysvarFees111111111111111111111111111111111",
        "SysvarS1otHistory11111111111111111111111111",
        "SysvarEpochRewards1111111111111111111111111",
        "SysvarLastRestartS1ot1111111111111111111111",
    )
)


_log = logging.getLogger(__name__)


class ClusterError(Exception):
    """A request the cluster cannot honour (bad cheatcode argument, missing account…)."""


@dataclass(frozen=True)
class ClusterConfig:
    """How the cluster keeps time and charges fees."""

    slot_ms: int = 400
    #: Slots advance only through `advance_slots` / time travel (deterministic tests).
    manual_slots: bool = False
    #: Cluster time at slot 0, in ms since the Unix epoch; None = the wall clock at start.
    genesis_unix_ms: int | None = None
    lamports_per_signature: int = 5000
    #: Landed transactions kept for getTransaction / getSignatureStatuses.
    history_capacity: int = 200_000
    #: Seeds the genesis hash, faucet key and blockhashes; same seed, same cluster.
    seed: bytes = b"drift-if-localnet"
    #: Slots between processed and confirmed / finalized; None = a test validator's (1 and
    #: 31) when slots tick, 0 with manual slots (a landed transaction is final at once).
    confirmed_depth: int | None = None
    finalized_depth: int | None = None
    #: Sent transactions execute at the end of the current slot, as a leader's block is
    #: visible only once frozen (a client polling its status at once sees null, and the
    #: next blockhash is new); None = so when slots tick, at once with manual slots.
    land_at_slot_end: bool | None = None

    def lands_at_slot_end(self) -> bool:
        """Whether sendTransaction defers execution to the slot's end (default resolved)."""
        if self.land_at_slot_end is not None:
            return self.land_at_slot_end
        return not self.manual_slots

    def depths(self) -> tuple[int, int]:
        """(confirmed, finalized) depths with the defaults resolved."""
        ticking = not self.manual_slots
        confirmed = self.confirmed_depth
        if confirmed is None:
            confirmed = TEST_VALIDATOR_CONFIRMED_DEPTH if ticking else 0
        finalized = self.finalized_depth
        if finalized is None:
            finalized = max(confirmed, TEST_VALIDATOR_FINALIZED_DEPTH if ticking else 0)
        return confirmed, finalized


@dataclass(frozen=True)
class TokenBalance:
    """A token account's balance in a transaction's pre/post token balances."""

    account_index: int
    mint: Pubkey
    owner: Pubkey
    program_id: Pubkey
    amount: int
    decimals: int


@dataclass(frozen=True)
class TxRecord:
    """A transaction that landed in a block (successfully or not)."""

    signature: Signature
    slot: int
    block_time: int
    transaction: VersionedTransaction = field(repr=False)
    loaded: LoadedMessage = field(repr=False)
    result: ExecutionResult = field(repr=False)
    pre_token_balances: tuple[TokenBalance, ...] = field(default=(), repr=False)
    post_token_balances: tuple[TokenBalance, ...] = field(default=(), repr=False)

    @property
    def err(self) -> TransactionErrorType | None:
        return self.result.err


@dataclass(frozen=True)
class TxOutcome:
    """What happened to a submitted or simulated transaction."""

    signature: Signature
    result: ExecutionResult
    #: The record if the transaction landed and was committed.
    record: TxRecord | None = None
    loaded: LoadedMessage | None = None

    @property
    def err(self) -> TransactionErrorType | None:
        return self.result.err


class ClusterListener(Protocol):
    """Receives what a validator's PubSub service is told about."""

    def on_slot(self, slot: int, parent: int) -> None: ...

    def on_accounts(self, slot: int, changed: list[tuple[Pubkey, Account | None]]) -> None: ...

    def on_transaction(self, record: TxRecord) -> None: ...


@dataclass(frozen=True)
class EpochInfo:
    absolute_slot: int
    block_height: int
    epoch: int
    slot_index: int
    slots_in_epoch: int
    transaction_count: int
    unix_timestamp: int


class Cluster:
    """A single-node Solana cluster on LiteSVM. See the module docstring."""

    def __init__(self, config: ClusterConfig | None = None) -> None:
        self.config = config or ClusterConfig()
        cfg = self.config
        self.svm = (
            LiteSVM()
            .with_sigverify(False)  # verified here, before the bank, like the TPU does
            .with_blockhash_check(False)  # the blockhash queue lives here (150-slot validity)
            .with_transaction_history(0)  # the status cache lives here too
        )
        self.executor = Executor(self.svm, cfg.lamports_per_signature)
        self.genesis_hash = Hash(hashlib.sha256(cfg.seed + b"/genesis").digest())
        self.faucet = Keypair.from_seed(hashlib.sha256(cfg.seed + b"/faucet").digest())
        #: The node's vote account (the identity is the faucet key, as the RPC tells).
        self.vote_account = Keypair.from_seed(hashlib.sha256(cfg.seed + b"/vote").digest())
        self.ledger = Ledger(*cfg.depths())
        #: Where the node's services listen, once a server has bound them (getClusterNodes).
        self.advertised: dict[str, str] = {}
        start_ms = (
            cfg.genesis_unix_ms if cfg.genesis_unix_ms is not None else int(time.time() * 1000)
        )
        self.timeline = SlotTimeline(TimePoint(0, start_ms), cfg.slot_ms)
        self.blockhashes = BlockhashRegistry(self.genesis_hash, 0, MAX_PROCESSING_AGE)
        self._history: OrderedDict[Signature, TxRecord] = OrderedDict()
        self._known: set[Pubkey] = set()
        #: owner → {address: the account's data as last written (None: read the bank)}
        self._by_owner: dict[Pubkey, dict[Pubkey, bytes | None]] = {}
        self._owner_of: dict[Pubkey, Pubkey] = {}
        self._listeners: list[ClusterListener] = []
        self._programs: dict[Pubkey, Path] = {}
        self.transaction_count = 0
        self._airdrops = 0
        self._paused = cfg.manual_slots
        self._ticker: asyncio.Task[None] | None = None
        #: Sent transactions waiting for the banking stage, in arrival order.
        self._in_flight: deque[VersionedTransaction] = deque()
        self.svm.set_account(
            self.faucet.pubkey(), Account(_FAUCET_LAMPORTS, b"", SYSTEM_PROGRAM_ID)
        )
        self._sync_sysvars()
        self._install_native_mints()
        for address in (*_BUILTIN_ADDRESSES, self.faucet.pubkey()):
            self._index(address, self.executor.get(address))
        self.ledger.on_slot(self.slot, self.timeline.now.unix_ms, 0)

    def _install_native_mints(self) -> None:
        """The wrapped-SOL mints a validator's genesis has (decimals 9, no authority)."""
        data = bytes(4 + 32 + 8) + bytes([9, 1]) + bytes(4 + 32)
        for mint, program in (
            (NATIVE_MINT, SPL_TOKEN_PROGRAM_ID),
            (NATIVE_MINT_2022, TOKEN_2022_PROGRAM_ID),
        ):
            if self.executor.get(program) is None:
                continue
            self.svm.set_account(mint, Account(self.minimum_balance(len(data)), data, program))
            self._index(mint, self.executor.get(mint))

    # -- programs -------------------------------------------------------------------

    def load_program(self, program_id: Pubkey, path: Path) -> None:
        """Deploy a real program binary; its instructions then run in the SVM."""
        if program_id in self.executor.models:
            raise ClusterError(f"{program_id} is already served by a Python model")
        if not path.is_file():
            raise ClusterError(f"program binary {path} does not exist")
        self.svm.add_program_from_file(program_id, path)
        self._programs[program_id] = path
        self._index(program_id, self.executor.get(program_id))

    def register_model(self, model: ProgramModel) -> None:
        """Serve a program id with a Python model (unless the real binary is loaded)."""
        pid = model.program_id
        if pid in self._programs:
            raise ClusterError(f"{pid} runs the real program from {self._programs[pid]}")
        self.executor.models[pid] = model
        # A deployed program has an executable account at its id; clients check for it.
        # The model's stands in for one (LiteSVM takes an executable account only from
        # the native loader without a real binary behind it).
        if self.svm.get_account(pid) is None:
            self.svm.set_account(pid, Account(1, b"", _NATIVE_LOADER, True))

    def has_real_program(self, program_id: Pubkey) -> bool:
        return program_id in self._programs

    @property
    def models(self) -> dict[Pubkey, ProgramModel]:
        return dict(self.executor.models)

    # -- listeners ------------------------------------------------------------------

    def add_listener(self, listener: ClusterListener) -> None:
        self._listeners.append(listener)

    def remove_listener(self, listener: ClusterListener) -> None:
        with contextlib.suppress(ValueError):
            self._listeners.remove(listener)

    # -- time -----------------------------------------------------------------------

    @property
    def slot(self) -> int:
        return self.timeline.now.slot

    @property
    def block_height(self) -> int:
        return self.timeline.now.slot

    @property
    def total_stake(self) -> int:
        """The node's (synthetic) activated stake: all of the cluster's stake."""
        return VALIDATOR_STAKE_LAMPORTS

    @property
    def unix_timestamp(self) -> int:
        return self.timeline.now.unix_timestamp

    def clock(self) -> Clock:
        return self.svm.get_clock()

    def block_time(self, slot: int) -> int | None:
        ms = self.timeline.unix_ms_at(slot)
        return None if ms is None else ms // 1000

    def epoch_info(self, slot: int | None = None) -> EpochInfo:
        """Epoch facts at `slot` (default: the bank's slot); the counts are the bank's."""
        slot = self.slot if slot is None else slot
        schedule = self.svm.get_epoch_schedule()
        epoch, index = schedule.get_epoch_and_slot_index(slot)
        return EpochInfo(
            absolute_slot=slot,
            block_height=slot,
            epoch=epoch,
            slot_index=index,
            slots_in_epoch=schedule.get_slots_in_epoch(epoch),
            transaction_count=self.transaction_count,
            unix_timestamp=self.unix_timestamp,
        )

    def _sync_sysvars(self) -> None:
        now = self.timeline.now
        schedule = self.svm.get_epoch_schedule()
        epoch = schedule.get_epoch(now.slot)
        first = schedule.get_first_slot_in_epoch(epoch)
        epoch_start_ms = self.timeline.unix_ms_at(first)
        epoch_start = (
            epoch_start_ms if epoch_start_ms is not None else self.timeline.genesis.unix_ms
        ) // 1000
        self.svm.set_clock(
            Clock(
                now.slot,
                epoch_start,
                epoch,
                schedule.get_leader_schedule_epoch(now.slot),
                now.unix_timestamp,
            )
        )
        self.svm.set_slot_hashes(self.blockhashes.recent())

    def _advance(
        self, slots: int, unix_ms: int | None = None, *, allow_backwards: bool = False
    ) -> None:
        self.land_in_flight()  # the slot ends: the transactions sent during it land in it
        parent = self.slot
        self.timeline.advance(slots, unix_ms, allow_backwards=allow_backwards)
        self.blockhashes.advance_to(self.slot)
        # Durable nonces derive from LiteSVM's own blockhash; move it with the slots.
        self.svm.expire_blockhash()
        self._sync_sysvars()
        self.ledger.on_slot(self.slot, self.timeline.now.unix_ms, self.transaction_count)
        for listener in list(self._listeners):
            listener.on_slot(self.slot, parent)

    def advance_slots(self, slots: int = 1) -> EpochInfo:
        """Make `slots` new blocks, each `slot_ms` later than the last."""
        if slots < 1:
            raise ClusterError("slots only move forward: advance by at least 1")
        self._advance(slots)
        return self.epoch_info()

    def time_travel(
        self,
        *,
        absolute_slot: int | None = None,
        absolute_timestamp: int | None = None,
        slots: int | None = None,
        seconds: int | None = None,
    ) -> EpochInfo:
        """Jump forward to a slot or a unix time, or by a number of slots or seconds.

        Moving by time also moves slots (at the slot rate, at least one) and moving by
        slots also moves time, so the Clock sysvar stays coherent; going back is refused
        because a validator can never go back.
        """
        given = [v for v in (absolute_slot, absolute_timestamp, slots, seconds) if v is not None]
        both_absolute = absolute_slot is not None and absolute_timestamp is not None
        if len(given) != 1 and not (both_absolute and len(given) == 2):
            raise ClusterError(
                "time travel takes one of absoluteSlot, absoluteTimestamp, slots, seconds "
                "(or absoluteSlot with absoluteTimestamp)"
            )
        now = self.timeline.now
        if both_absolute:
            assert absolute_slot is not None and absolute_timestamp is not None
            if absolute_slot <= now.slot or absolute_timestamp * 1000 <= now.unix_ms:
                raise ClusterError(
                    f"cannot travel back or stay: slot {absolute_slot} / timestamp "
                    f"{absolute_timestamp} vs current {now.slot} / {now.unix_timestamp}"
                )
            self._advance(absolute_slot - now.slot, absolute_timestamp * 1000)
        elif absolute_slot is not None:
            if absolute_slot <= now.slot:
                raise ClusterError(
                    f"cannot travel back or stay: slot {absolute_slot} ≤ current {now.slot}"
                )
            self._advance(absolute_slot - now.slot)
        elif slots is not None:
            if slots < 1:
                raise ClusterError("slots must be at least 1 (time only moves forward)")
            self._advance(slots)
        else:
            if absolute_timestamp is not None:
                target_ms = absolute_timestamp * 1000
            else:
                assert seconds is not None
                if seconds < 1:
                    raise ClusterError("seconds must be at least 1 (time only moves forward)")
                target_ms = now.unix_ms + seconds * 1000
            if target_ms <= now.unix_ms:
                raise ClusterError(
                    f"cannot travel back or stay: timestamp {target_ms // 1000} ≤ current "
                    f"{now.unix_timestamp}"
                )
            delta_slots = max(1, (target_ms - now.unix_ms) // self.config.slot_ms)
            self._advance(delta_slots, target_ms)
        return self.epoch_info()

    def warp_clock(self, unix_timestamp: int) -> EpochInfo:
        """Set the Clock's unix_timestamp to any value, backwards included; slots advance by one.

        A validator's clock never goes back; recorded traces sometimes set it back to
        replay a scenario, and this is the only way to follow them.
        """
        self._advance(1, unix_timestamp * 1000, allow_backwards=True)
        return self.epoch_info()

    # -- the slot ticker --------------------------------------------------------------

    @property
    def clock_paused(self) -> bool:
        return self._paused

    def pause_clock(self) -> None:
        self.land_in_flight()
        self._paused = True

    def resume_clock(self) -> None:
        self._paused = False

    def start_ticking(self) -> None:
        """Start the task that makes a block every `slot_ms` (while not paused)."""
        if self._ticker is None or self._ticker.done():
            self._ticker = asyncio.get_running_loop().create_task(self._tick_forever())

    async def stop_ticking(self) -> None:
        if self._ticker is not None:
            self._ticker.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._ticker
            self._ticker = None

    async def _tick_forever(self) -> None:
        loop = asyncio.get_running_loop()
        period = self.config.slot_ms / 1000
        deadline = loop.time()
        while True:
            deadline += period
            await asyncio.sleep(max(0.0, deadline - loop.time()))
            if loop.time() - deadline > 10 * period:
                deadline = loop.time()  # the loop was blocked; do not burst-catch-up
            if not self._paused:
                try:
                    self._advance(1)
                except Exception:  # a bug must not stop the chain: log it, keep making blocks
                    _log.exception("making the block of slot %d failed", self.slot + 1)

    # -- blockhashes ------------------------------------------------------------------

    def latest_blockhash(self) -> tuple[Hash, int]:
        """The newest blockhash and the last block height at which it is valid."""
        h = self.blockhashes.latest
        last_valid = self.blockhashes.last_valid_block_height(h)
        assert last_valid is not None
        return h, last_valid

    def is_blockhash_valid(self, blockhash: Hash) -> bool:
        return self.blockhashes.is_valid(blockhash)

    # -- accounts -----------------------------------------------------------------------

    def get_account(self, address: Pubkey) -> Account | None:
        return self.executor.get(address)

    def known_addresses(self) -> Iterator[Pubkey]:
        """Every address a transaction or cheatcode ever touched (for scans)."""
        return iter(list(self._known))

    def accounts_owned_by(
        self, owner: Pubkey, where: Callable[[bytes], bool] | None = None
    ) -> list[tuple[Pubkey, Account]]:
        """Every account of the bank that `owner` owns whose data passes `where`, by address.

        The owner index keeps a copy of each account's data as last written, so a
        filtered scan of 100k accounts tests the filter on the copies, then reads from
        the bank (and tests again) only the accounts that passed, and sorts only those.
        """
        owned = self._by_owner.get(owner, {})
        if where is None:
            candidates = list(owned)
        else:
            candidates = [a for a, seen in owned.items() if seen is None or where(seen)]
        candidates.sort(key=bytes)
        found = []
        for address in candidates:
            acc = self.executor.get(address)
            if acc is None or acc.owner != owner:
                continue
            if where is not None and not where(bytes(acc.data)):
                continue
            found.append((address, acc))
        return found

    def all_accounts(self) -> Iterator[tuple[Pubkey, Account]]:
        """Every account of the bank (for getSupply and getLargestAccounts)."""
        for owned in list(self._by_owner.values()):
            for address in list(owned):
                acc = self.executor.get(address)
                if acc is not None:
                    yield address, acc

    def _index(self, address: Pubkey, account: Account | None) -> None:
        """Keep the owner index (and its copy of the data) in step with one account write."""
        if address == SPONSOR:
            return
        old = self._owner_of.get(address)
        new = account.owner if account is not None else None
        if old is not None and old != new:
            owned = self._by_owner[old]
            owned.pop(address, None)
            if not owned:
                del self._by_owner[old]
            del self._owner_of[address]
        if account is not None and new is not None:
            # Programs (large, never filtered on) and sysvars (LiteSVM rewrites them
            # itself) keep no copy: scans always read them from the bank.
            copy = None if account.executable or new == _SYSVAR_OWNER else bytes(account.data)
            self._by_owner.setdefault(new, {})[address] = copy
            self._owner_of[address] = new

    def minimum_balance(self, data_len: int) -> int:
        return self.svm.minimum_balance_for_rent_exemption(data_len)

    def set_account(self, address: Pubkey, account: Account) -> None:
        """Overwrite an account (cheatcode); subscribers are told as for any write."""
        before = self.executor.get(address)
        self.svm.set_account(address, account)
        self._known.add(address)
        after = self.executor.get(address)
        self._index(address, after)
        if before != after:
            self._notify_accounts([(address, after)])

    def set_token_amount(self, address: Pubkey, amount: int) -> Account:
        """Set the balance of an existing token account (cheatcode)."""
        acc = self.get_account(address)
        if acc is None:
            raise ClusterError(f"{address} does not exist")
        try:
            decode_token_account(RawAccount(address, acc.owner, acc.lamports, bytes(acc.data)))
        except DecodeError as exc:
            raise ClusterError(str(exc)) from exc
        if not 0 <= amount < 1 << 64:
            raise ClusterError(f"token amount {amount} is not a u64")
        data = bytearray(acc.data)
        data[64:72] = amount.to_bytes(8, "little")
        new = Account(acc.lamports, bytes(data), acc.owner, acc.executable, acc.rent_epoch)
        self.set_account(address, new)
        return new

    def set_token_account(
        self, owner: Pubkey, mint: Pubkey, amount: int, token_program: Pubkey | None = None
    ) -> Pubkey:
        """Create or update `owner`'s associated token account for `mint` (cheatcode)."""
        mint_acc = self.get_account(mint)
        if mint_acc is None:
            raise ClusterError(f"mint {mint} does not exist")
        program = token_program or mint_acc.owner
        if program not in TOKEN_PROGRAMS or mint_acc.owner != program:
            raise ClusterError(f"{mint} is not a mint of token program {program}")
        ata = Pubkey.find_program_address(
            [bytes(owner), bytes(program), bytes(mint)], ASSOCIATED_TOKEN_PROGRAM_ID
        )[0]
        if self.get_account(ata) is not None:
            self.set_token_amount(ata, amount)
            return ata
        if not 0 <= amount < 1 << 64:
            raise ClusterError(f"token amount {amount} is not a u64")
        data = (
            bytes(mint)
            + bytes(owner)
            + amount.to_bytes(8, "little")
            + bytes(36)
            + b"\x01"
            + bytes(12)
            + bytes(8)
            + bytes(36)
        )
        if program == TOKEN_2022_PROGRAM_ID:
            # AccountType::Account, then the ImmutableOwner extension ATAs carry (type 7, len 0).
            data += b"\x02" + (7).to_bytes(2, "little") + bytes(2)
        self.set_account(ata, Account(self.minimum_balance(len(data)), data, program))
        return ata

    def airdrop(self, address: Pubkey, lamports: int) -> TxOutcome:
        """A faucet transfer, executed at once (cheatcodes, in-process callers)."""
        return self.send_transaction(self.airdrop_transaction(address, lamports))

    def airdrop_transaction(self, address: Pubkey, lamports: int) -> VersionedTransaction:
        """The faucet's transaction for an airdrop, as a validator's faucet signs it.

        The faucet signs a lone System transfer, so the airdrop's logs and instructions
        are a validator's. The same airdrop twice within one blockhash would be the same
        transaction (a validator drops the second as already processed); here the
        repeat gets a trailing compute-unit-limit instruction that makes it distinct.
        """
        if lamports <= 0:
            raise ClusterError("airdrop amount must be positive")
        ixs = [
            transfer(
                TransferParams(
                    from_pubkey=self.faucet.pubkey(), to_pubkey=address, lamports=lamports
                )
            )
        ]
        while True:
            message = Message.new_with_blockhash(ixs, self.faucet.pubkey(), self.blockhashes.latest)
            tx = VersionedTransaction(message, [self.faucet])
            signature = tx.signatures[0]
            if signature not in self._history and all(
                signature != t.signatures[0] for t in self._in_flight
            ):
                return tx
            self._airdrops += 1
            ixs = [ixs[0], set_compute_unit_limit(200_000 + self._airdrops % 1_000_000)]

    # -- transactions ---------------------------------------------------------------------

    def load_message(self, tx: VersionedTransaction) -> LoadedMessage | TransactionErrorType:
        """Resolve lookup tables and work out which keys sign and which are writable."""
        msg = tx.message
        static = list(msg.account_keys)
        header = msg.header
        n_signed = header.num_required_signatures
        writable = [
            (i < n_signed - header.num_readonly_signed_accounts)
            if i < n_signed
            else (i < len(static) - header.num_readonly_unsigned_accounts)
            for i in range(len(static))
        ]
        signer = [i < n_signed for i in range(len(static))]
        loaded_w: list[Pubkey] = []
        loaded_r: list[Pubkey] = []
        if isinstance(msg, MessageV0):
            for lookup in msg.address_table_lookups:
                addresses = self._active_lookup_addresses(lookup.account_key)
                if not isinstance(addresses, list):
                    return addresses
                try:
                    loaded_w += [addresses[i] for i in bytes(lookup.writable_indexes)]
                    loaded_r += [addresses[i] for i in bytes(lookup.readonly_indexes)]
                except IndexError:
                    return TransactionErrorFieldless.InvalidAddressLookupTableIndex
        keys = static + loaded_w + loaded_r
        writable += [True] * len(loaded_w) + [False] * len(loaded_r)
        signer += [False] * (len(loaded_w) + len(loaded_r))
        # The runtime demotes invoked programs to read-only.
        invoked = {ix.program_id_index for ix in msg.instructions}
        writable = [w and i not in invoked for i, w in enumerate(writable)]
        return LoadedMessage(
            msg, tuple(keys), tuple(writable), tuple(signer), tuple(loaded_w), tuple(loaded_r)
        )

    def _active_lookup_addresses(
        self, address: Pubkey
    ) -> list[Pubkey] | TransactionErrorFieldless:
        """The addresses a lookup table lends now, by the runtime's rules.

        A table that is missing, not the ALT program's, or deactivated longer ago than
        SlotHashes reaches (512 slots; no slot is skipped here) is not found; addresses
        appended in the current slot are lent only from the next slot on.
        """
        table = self.get_account(address)
        if table is None or table.owner != ADDRESS_LOOKUP_TABLE_PROGRAM_ID:
            return TransactionErrorFieldless.AddressLookupTableNotFound
        try:
            parsed = AddressLookupTable.deserialize(bytes(table.data))
        except Exception:
            return TransactionErrorFieldless.InvalidAddressLookupTableData
        meta, slot = parsed.meta, self.slot
        if meta.deactivation_slot != _U64_MAX and slot - meta.deactivation_slot > _SLOT_HASHES_LEN:
            return TransactionErrorFieldless.AddressLookupTableNotFound
        addresses = list(parsed.addresses)
        if slot <= meta.last_extended_slot:
            addresses = addresses[: meta.last_extended_slot_start_index]
        return addresses

    def check_transaction(
        self, tx: VersionedTransaction, *, sig_verify: bool = True
    ) -> TransactionErrorType | None:
        """The checks before the bank: signatures, blockhash age, status cache."""
        if sig_verify and not all(tx.verify_with_results()):
            return TransactionErrorFieldless.SignatureFailure
        blockhash = tx.message.recent_blockhash
        if not self.blockhashes.is_valid(blockhash) and not self._valid_durable_nonce(tx):
            return TransactionErrorFieldless.BlockhashNotFound
        if tx.signatures[0] in self._history:
            return TransactionErrorFieldless.AlreadyProcessed
        return None

    def _valid_durable_nonce(self, tx: VersionedTransaction) -> bool:
        if not tx.uses_durable_nonce():
            return False
        msg = tx.message
        first = msg.instructions[0]
        nonce_index = bytes(first.accounts)[0]
        nonce = self.get_account(msg.account_keys[nonce_index])
        if nonce is None or nonce.owner != SYSTEM_PROGRAM_ID or len(nonce.data) < 72:
            return False
        return bytes(nonce.data[40:72]) == bytes(msg.recent_blockhash)

    def _admit(self, tx: VersionedTransaction, *, sig_verify: bool) -> LoadedMessage | TxOutcome:
        """Checks before execution (signatures, blockhash, duplicates, accounts); a
        refused transaction comes back as its outcome."""
        err = self.check_transaction(tx, sig_verify=sig_verify)
        if err is None:
            loaded = self.load_message(tx)
            if isinstance(loaded, LoadedMessage):
                return loaded
            err = loaded
        return TxOutcome(tx.signatures[0], ExecutionResult(err, False))

    def send_transaction(self, tx: VersionedTransaction, *, sig_verify: bool = True) -> TxOutcome:
        """Process a transaction in the current block, as the leader would."""
        loaded = self._admit(tx, sig_verify=sig_verify)
        if isinstance(loaded, TxOutcome):
            return loaded
        signature = tx.signatures[0]
        result = self.executor.execute(tx, loaded, self.clock(), commit=True)
        if not result.landed:
            return TxOutcome(signature, result, None, loaded)
        record = TxRecord(
            signature,
            self.slot,
            self.unix_timestamp,
            tx,
            loaded,
            result,
            self._token_balances(loaded, result.pre),
            self._token_balances(loaded, result.post),
        )
        self._history[signature] = record
        self.ledger.record(record.slot, signature)
        while len(self._history) > self.config.history_capacity:
            _, dropped = self._history.popitem(last=False)
            self.ledger.forget_through(dropped.slot)
        self.transaction_count += 1
        self._known.update(loaded.keys)
        self._known.discard(SPONSOR)
        for k, post in zip(loaded.keys, result.post, strict=True):
            self._index(k, post)
        changed = [
            (k, post)
            for k, pre, post in zip(loaded.keys, result.pre, result.post, strict=True)
            if pre != post
        ]
        if changed:
            self._notify_accounts(changed)
        for listener in list(self._listeners):
            listener.on_transaction(record)
        return TxOutcome(signature, result, record, loaded)

    def submit_transaction(self, tx: VersionedTransaction) -> None:
        """What sendTransaction does after preflight: hand the transaction to the leader.

        While slots tick (and `land_at_slot_end`), it executes when the current slot
        ends, in arrival order: on a validator a transaction shows at `processed` once
        the block holding it is frozen, so a client that polls at once sees null and the
        blockhash it asks for next is a new one. Otherwise (manual slots, paused clock,
        no ticker) it executes at once.
        """
        ticking = self._ticker is not None and not self._ticker.done() and not self._paused
        if ticking and self.config.lands_at_slot_end():
            self._in_flight.append(tx)
        else:
            self.send_transaction(tx)

    def land_in_flight(self) -> int:
        """Execute the sent transactions waiting for the slot's end; returns how many."""
        landed = len(self._in_flight)
        while self._in_flight:
            self.send_transaction(self._in_flight.popleft())
        return landed

    def simulate_transaction(
        self, tx: VersionedTransaction, *, sig_verify: bool = False, replace_blockhash: bool = False
    ) -> TxOutcome:
        """Execute against the current bank and throw the result away."""
        if replace_blockhash:
            msg = tx.message
            if isinstance(msg, MessageV0):
                msg = MessageV0(
                    msg.header,
                    list(msg.account_keys),
                    self.blockhashes.latest,
                    list(msg.instructions),
                    list(msg.address_table_lookups),
                )
            else:
                msg = Message.new_with_compiled_instructions(
                    msg.header.num_required_signatures,
                    msg.header.num_readonly_signed_accounts,
                    msg.header.num_readonly_unsigned_accounts,
                    list(msg.account_keys),
                    self.blockhashes.latest,
                    list(msg.instructions),
                )
            tx = VersionedTransaction.populate(msg, list(tx.signatures))
        loaded = self._admit(tx, sig_verify=sig_verify)
        if isinstance(loaded, TxOutcome):
            return loaded
        signature = tx.signatures[0]
        result = self.executor.execute(tx, loaded, self.clock(), commit=False)
        return TxOutcome(signature, result, None, loaded)

    def fee_for_message(self, message: Message | MessageV0) -> int | None:
        """The fee the message would pay now; None if its blockhash is no longer valid."""
        if not self.blockhashes.is_valid(message.recent_blockhash):
            return None
        tx = VersionedTransaction.populate(
            message, [Signature.default()] * message.header.num_required_signatures
        )
        loaded = self.load_message(tx)
        if not isinstance(loaded, LoadedMessage):
            return None
        return self.executor.fee(loaded)

    def transaction(self, signature: Signature) -> TxRecord | None:
        return self._history.get(signature)

    def recent_transactions(self) -> Iterable[TxRecord]:
        """Newest first."""
        return reversed(list(self._history.values()))

    # -- internals ----------------------------------------------------------------------

    def _notify_accounts(self, changed: list[tuple[Pubkey, Account | None]]) -> None:
        for listener in list(self._listeners):
            listener.on_accounts(self.slot, changed)

    def _token_balances(
        self, loaded: LoadedMessage, accounts: tuple[Account | None, ...]
    ) -> tuple[TokenBalance, ...]:
        balances = []
        decimals: dict[Pubkey, int | None] = {}
        for index, (address, acc) in enumerate(zip(loaded.keys, accounts, strict=True)):
            if acc is None or acc.owner not in TOKEN_PROGRAMS or len(acc.data) < 165:
                continue
            try:
                view = decode_token_account(
                    RawAccount(address, acc.owner, acc.lamports, bytes(acc.data))
                )
            except DecodeError:
                continue
            if view.mint not in decimals:
                decimals[view.mint] = self._decimals(view.mint)
            dec = decimals[view.mint]
            if dec is None:
                continue
            balances.append(TokenBalance(index, view.mint, view.owner, acc.owner, view.amount, dec))
        return tuple(balances)

    def _decimals(self, mint: Pubkey) -> int | None:
        acc = self.get_account(mint)
        if acc is None:
            return None
        try:
            return decode_mint(RawAccount(mint, acc.owner, acc.lamports, bytes(acc.data))).decimals
        except DecodeError:
            return None
