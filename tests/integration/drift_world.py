"""A Drift localnet driven over RPC only, for tests that build situations and send.

Situations are written with the localnet's cheatcodes (localnet_setAccount for Drift
and token accounts, localnet_timeTravel for the clock), so they hold against the
model and a real binary alike (DRIFT_PROGRAM_SO). Every instruction goes out as a
signed transaction through solana-py, paid for by a fee payer that appears in no
instruction, so "nothing changed" means: every other account is byte-identical and
the fee payer paid exactly the signature fees.
"""

from __future__ import annotations

import base64
import dataclasses
import time
from dataclasses import dataclass, field
from typing import Any

import httpx
from solana.rpc.api import Client
from solana.rpc.commitment import Confirmed
from solana.rpc.types import TxOpts
from solders.instruction import AccountMeta, Instruction
from solders.keypair import Keypair
from solders.message import Message
from solders.pubkey import Pubkey
from solders.transaction import VersionedTransaction

from keeper.cluster.sender import custom_error_code
from keeper.core.addresses import DriftAddresses
from keeper.core.programs import SPL_TOKEN_PROGRAM_ID, SYSTEM_PROGRAM_ID
from keeper.core.spl_token import decode_token_account, encode_token_account
from keeper.core.views import (
    InsuranceFundStake,
    RawAccount,
    SpotMarket,
    State,
    TokenAccount,
    UserStats,
)
from keeper.program.codec import AccountCodec
from keeper.program.idl import load_idl
from keeper.program.instructions import DriftInstructions, MarketKeys
from localnet.embedded import EmbeddedLocalnet
from localnet.genesis import GenesisSpec, MarketSpec, StakerSpec, rent_exempt_lamports

START_TS = 1_767_225_600
LAMPORTS_PER_SIGNATURE = 5_000
#: markets of 6, 8 and 9 decimals (USDC-, BTC- and SOL-like)
SPEC = GenesisSpec(
    markets=(MarketSpec(0, "USDC", 6), MarketSpec(1, "WBTC", 8), MarketSpec(2, "SOL", 9)),
    stakers=(StakerSpec("alice"),),
    created_ts=START_TS,
)


@dataclass(frozen=True)
class Staker:
    """A staker written by cheatcode: wallet, user stats, a stake and a token account
    per market (the stake's and token account's address by market index)."""

    kp: Keypair
    stats: Pubkey
    stakes: dict[int, Pubkey]
    tokens: dict[int, Pubkey]

    @property
    def me(self) -> Pubkey:
        return self.kp.pubkey()


@dataclass
class Outcome:
    err: Any
    logs: list[str]
    #: the custom error code of the failing instruction (None: success or no code)
    code: int | None
    fee_paid: int
    changed: list[str] = field(default_factory=list)
    #: accounts whose lamports or owner changed (created or closed included)
    moved: list[str] = field(default_factory=list)


class World:
    """One localnet of one profile, reset to its genesis markets between situations."""

    def __init__(self, net: EmbeddedLocalnet) -> None:
        self.net = net
        self.profile = net.profile
        self.client = Client(net.url, commitment=Confirmed)
        self._http = httpx.Client()  # one connection: a fresh one per call costs ~20 ms
        self.codec = AccountCodec(load_idl(self.profile.idl_path), self.profile.program_id)
        self.a = DriftAddresses(self.profile.program_id)
        self.b = DriftInstructions(self.profile)
        self.program_id = self.profile.program_id
        self.fee_payer = Keypair()
        self.fund_wallet(self.fee_payer.pubkey(), 1_000_000_000_000)
        self.mints = dict(net.genesis.mints)
        self._baseline = [
            self.a.state(),
            *(self.a.spot_market(i) for i in self.mints),
            *(self.a.spot_market_vault(i) for i in self.mints),
            *(self.a.insurance_fund_vault(i) for i in self.mints),
        ]
        self._genesis = {k: self.raw(k) for k in self._baseline}
        self.keypairs: dict[Pubkey, Keypair] = {}

    # -- reading and writing accounts -------------------------------------------------

    def cheat(self, method: str, params: list[Any]) -> Any:
        body = {"jsonrpc": "2.0", "id": 1, "method": method, "params": params}
        reply = self._http.post(self.net.url, json=body).json()
        assert "error" not in reply, f"{method}: {reply['error']}"
        return reply["result"]

    def raw(self, address: Pubkey) -> RawAccount | None:
        info = self.cheat("getAccountInfo", [str(address), {"encoding": "base64"}])["value"]
        if info is None:
            return None
        return RawAccount(
            address,
            Pubkey.from_string(info["owner"]),
            info["lamports"],
            base64.b64decode(info["data"][0]),
            info["executable"],
            0,
        )

    def put(self, address: Pubkey, owner: Pubkey, data: bytes, lamports: int | None = None) -> None:
        lam = rent_exempt_lamports(len(data)) if lamports is None else lamports
        self.cheat(
            "localnet_setAccount",
            [
                str(address),
                {"lamports": lam, "data": base64.b64encode(data).decode(), "owner": str(owner)},
            ],
        )

    def put_raw(self, acc: RawAccount) -> None:
        self.put(acc.address, acc.owner, acc.data, acc.lamports)

    def fund_wallet(self, address: Pubkey, lamports: int = 10_000_000_000) -> None:
        self.put(address, SYSTEM_PROGRAM_ID, b"", lamports)

    def reset(self) -> None:
        """Markets, vaults and State back to genesis (stakers are fresh per situation)."""
        for acc in self._genesis.values():
            assert acc is not None
            self.put_raw(acc)

    def now(self) -> int:
        clock: dict[str, Any] = self.cheat("localnet_getClock", [])
        return int(clock["unixTimestamp"])

    def travel(self, seconds: int) -> None:
        self.cheat("localnet_timeTravel", [{"seconds": seconds}])

    def market(self, index: int) -> SpotMarket:
        raw = self.raw(self.a.spot_market(index))
        assert raw is not None
        return self.codec.decode_spot_market(raw)

    def state(self) -> State:
        raw = self.raw(self.a.state())
        assert raw is not None
        return self.codec.decode_state(raw)

    def write(self, view: SpotMarket | State | InsuranceFundStake | UserStats) -> None:
        self.put(view.address, self.program_id, self.codec.encode(view))

    def set_market(self, index: int, **changes: int) -> SpotMarket:
        market = dataclasses.replace(self.market(index), **changes)
        self.write(market)
        return market

    def set_fund(self, index: int, **changes: int) -> SpotMarket:
        market = self.market(index)
        fund = dataclasses.replace(market.insurance_fund, **changes)
        market = dataclasses.replace(market, insurance_fund=fund)
        self.write(market)
        return market

    def set_state(self, **changes: int) -> None:
        self.write(dataclasses.replace(self.state(), **changes))

    def token(self, address: Pubkey) -> TokenAccount:
        raw = self.raw(address)
        assert raw is not None
        return decode_token_account(raw)

    def set_balance(self, address: Pubkey, amount: int) -> None:
        self.cheat("localnet_setTokenAccountBalance", [str(address), amount])

    def token_account(
        self, owner: Pubkey, mint: Pubkey, amount: int, address: Pubkey | None = None
    ) -> Pubkey:
        address = address or Keypair().pubkey()
        view = TokenAccount(
            address, SPL_TOKEN_PROGRAM_ID, mint, owner, amount, None, 1, None, 0, None, bytes(165)
        )
        self.put(address, SPL_TOKEN_PROGRAM_ID, encode_token_account(view))
        return address

    def blob(self, owner: Pubkey, data: bytes) -> Pubkey:
        """An account of `owner` holding `data` (for Anchor's deserialization checks)."""
        address = Keypair().pubkey()
        self.put(address, owner, data)
        return address

    # -- stakers ----------------------------------------------------------------------

    def staker(self, markets: tuple[int, ...] = (0,), tokens: int = 10**15) -> Staker:
        kp = Keypair()
        self.keypairs[kp.pubkey()] = kp
        me = kp.pubkey()
        self.fund_wallet(me)
        now = self.now()
        stats = self.a.user_stats(me)
        self.write(self.codec.new_user_stats(stats, me, now))
        stakes, wallets = {}, {}
        for i in markets:
            stakes[i] = self.a.insurance_fund_stake(me, i)
            self.write(self.codec.new_stake(stakes[i], me, i, now))
            wallets[i] = self.token_account(me, self.mints[i], tokens)
        return Staker(kp, stats, stakes, wallets)

    def stake(self, staker: Staker, index: int) -> InsuranceFundStake:
        raw = self.raw(staker.stakes[index])
        assert raw is not None
        return self.codec.decode_stake(raw)

    def set_stake(self, staker: Staker, index: int, **changes: int) -> InsuranceFundStake:
        stake = dataclasses.replace(self.stake(staker, index), **changes)
        self.write(stake)
        return stake

    def holding(
        self,
        staker: Staker,
        index: int,
        shares: int,
        *,
        total: int | None = None,
        vault: int | None = None,
        **stake_changes: int,
    ) -> None:
        """`staker` holds `shares` of market `index`'s fund of `total` shares over a
        vault of `vault` tokens (defaults: all the shares, one token per share)."""
        total = shares if total is None else total
        vault = total if vault is None else vault
        self.set_fund(index, total_shares=total, user_shares=total)
        self.set_balance(self.a.insurance_fund_vault(index), vault)
        basis = min(shares, 2**63 - 1)
        self.set_stake(staker, index, **{"if_shares": shares, "cost_basis": basis, **stake_changes})

    def keys(self, index: int) -> MarketKeys:
        return MarketKeys.from_market(self.market(index))

    # -- sending ----------------------------------------------------------------------

    def send(
        self, ix: Instruction, *, watch: tuple[Pubkey, ...] = (), travel: bool = True
    ) -> Outcome:
        """Send `ix` in its own transaction; report its error and what changed.

        `travel` first moves one slot (a fresh blockhash); without it the caller has."""
        if travel:
            self.cheat("localnet_timeTravel", [{"slots": 1}])
        payer = self.fee_payer.pubkey()
        watched = sorted({m.pubkey for m in ix.accounts} | set(watch), key=str)
        watched = [a for a in watched if a != payer]
        before = [self.raw(a) for a in watched]
        payer_before = self.client.get_balance(payer).value
        bh = self.client.get_latest_blockhash().value.blockhash
        message = Message.new_with_blockhash([ix], payer, bh)
        n = message.header.num_required_signatures
        signers = [self.fee_payer, *(self.keypairs[k] for k in message.account_keys[1:n])]
        tx = VersionedTransaction(message, signers)
        sig = self.client.send_raw_transaction(bytes(tx), TxOpts(skip_preflight=True)).value
        for _ in range(500):
            got = self.client.get_transaction(
                sig, commitment=Confirmed, max_supported_transaction_version=0
            )
            if got.value is not None and got.value.transaction.meta is not None:
                break
            time.sleep(0.001)
        else:
            raise AssertionError("transaction not confirmed")
        meta = got.value.transaction.meta
        after = [self.raw(a) for a in watched]
        changed = [str(a) for a, x, y in zip(watched, before, after, strict=True) if x != y]
        moved = [
            str(a)
            for a, x, y in zip(watched, before, after, strict=True)
            if (x is None) != (y is None)
            or (x is not None and y is not None and (x.lamports, x.owner) != (y.lamports, y.owner))
        ]
        fee = payer_before - self.client.get_balance(payer).value
        code = custom_error_code(meta.err)
        return Outcome(meta.err, list(meta.log_messages or []), code, fee, changed, moved)

    @staticmethod
    def signatures(ix: Instruction) -> int:
        return 1 + len({m.pubkey for m in ix.accounts if m.is_signer})


def with_meta(
    ix: Instruction,
    role_index: int,
    *,
    pubkey: Pubkey | None = None,
    signer: bool | None = None,
    writable: bool | None = None,
) -> Instruction:
    """`ix` with the meta at `role_index` changed."""
    metas = list(ix.accounts)
    m = metas[role_index]
    metas[role_index] = AccountMeta(
        pubkey or m.pubkey,
        m.is_signer if signer is None else signer,
        m.is_writable if writable is None else writable,
    )
    return Instruction(ix.program_id, ix.data, metas)
