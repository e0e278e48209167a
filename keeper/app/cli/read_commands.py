"""The read-only cluster commands: `markets` (an overview) and `status` (a staker's view).

Both read through the light reader and the lazily loaded codec (the first RPC call
leaves before AnchorPy is imported) and never sign.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import click

from keeper.app.cli.connect import (
    Cluster,
    LazyCodec,
    authority_of,
    open_reader,
    read_state,
    resolve_cluster,
    resolve_markets,
)
from keeper.app.cli.options import PUBKEY, Options, cluster_options, markets_option
from keeper.app.cli.output import Output
from keeper.cluster.redact import redact_url
from keeper.core.fmt import (
    format_amount,
    format_duration,
    format_ratio_ppm,
    format_utc,
    opens_in,
)
from keeper.core.snapshot import Snapshot
from keeper.core.status import MarketStatus, StakeStatus, snapshot_status

if TYPE_CHECKING:
    from keeper.cluster.http_reader import HttpAccountSource

#: how many recent transactions on an IF vault the yield estimate reads at most
YIELD_TRANSACTIONS = 10
SECONDS_PER_YEAR = 365 * 86_400


def _run(opts: Options, needs_signer: bool, body: Any) -> int:
    cluster = resolve_cluster(opts, needs_signer=needs_signer, default_profile="drift-mainnet")

    async def main() -> int:
        reader = open_reader(cluster, opts)
        try:
            result: int = await body(cluster, reader, LazyCodec(cluster.profile))
            return result
        finally:
            await reader.close()

    return asyncio.run(main())


def _share_price(m: MarketStatus) -> str:
    return format_amount(m.share_price, 6)


def market_rows(markets: Sequence[MarketStatus], now_ts: int) -> list[list[str]]:
    rows = []
    for m in markets:
        d = m.decimals
        settle = (
            ("due now" if m.next_settle_ts <= now_ts else format_utc(m.next_settle_ts))
            if m.settle_enabled
            else "disabled"
        )
        rows.append(
            [
                str(m.market_index),
                m.symbol,
                format_amount(m.if_vault_amount, d),
                f"{m.total_shares:,}",
                _share_price(m),
                format_amount(m.revenue_pool_amount, d),
                format_ratio_ppm(m.utilization),
                format_ratio_ppm(m.withdraw_utilization_limit),
                "open" if m.withdrawals_open else "closed: " + "; ".join(m.withdraw_blockers),
                settle,
                format_duration(m.unstaking_period_seconds),
            ]
        )
    return rows


MARKET_HEADERS = [
    "market",
    "symbol",
    "IF vault",
    "total shares",
    "share price",
    "revenue pool",
    "util",
    "withdraw limit",
    "withdrawals",
    "next settle",
    "cooldown",
]


def markets_table(out: Output, markets: Sequence[MarketStatus], now_ts: int) -> None:
    out.table(MARKET_HEADERS, market_rows(markets, now_ts), right=[2, 3, 4, 5, 6, 7])


@click.command("markets", help="Every spot market's insurance fund at a glance.")
@cluster_options
def markets_cmd(**kwargs: Any) -> int:
    opts = Options.from_kwargs(kwargs)
    out = Output(json=opts.json)

    async def body(cluster: Cluster, reader: HttpAccountSource, codec: LazyCodec) -> int:
        from keeper.app.session import read_snapshot

        state = await read_state(reader, codec)
        indexes = tuple(range(state.number_of_spot_markets))
        statuses: list[MarketStatus] = []
        slot = now = 0
        for start in range(0, len(indexes), 30):  # 3 accounts per market, 100 per call
            snap = await read_snapshot(
                reader, codec, codec.program_id, {}, indexes[start : start + 30], ()
            )
            statuses += snapshot_status(snap, cluster.profile)[0]
            slot, now = snap.slot, snap.now_ts
        if opts.json:
            out.document(
                {
                    "cluster": redact_url(cluster.url),
                    "slot": slot,
                    "unixTimestamp": now,
                    "profile": cluster.profile.name,
                    "markets": [m.to_json() for m in statuses],
                }
            )
            return 0
        out.line(f"{redact_url(cluster.url)}  slot {slot}  {format_utc(now)}")
        markets_table(out, statuses, now)
        return 0

    return _run(opts, False, body)


# -- status ------------------------------------------------------------------------------


@dataclass(frozen=True)
class YieldEstimate:
    """Stakers' APR from the settles seen in a window (simple, not compounded)."""

    apr_ppm: int | None
    settles: int
    window_seconds: int
    note: str

    def to_json(self) -> dict[str, Any]:
        return {
            "aprPpm": self.apr_ppm,
            "settles": self.settles,
            "windowSeconds": self.window_seconds,
            "method": YIELD_METHOD,
            "note": self.note,
        }


YIELD_METHOD = (
    f"the last {YIELD_TRANSACTIONS} transactions on the IF vault: for each settle "
    "(InsuranceFundRecord event), the stakers' part amount × userIfFactor / totalIfFactor "
    "over the vault before it, summed and scaled to a year by the window from the oldest "
    "settle seen to now"
)


async def estimate_yield(
    reader: HttpAccountSource, codec: LazyCodec, market_index: int, vault: Any, now_ts: int
) -> YieldEstimate:
    from keeper.core.errors import KeeperError
    from keeper.program.events import EventCodec

    try:
        sigs = await reader.call(
            "getSignaturesForAddress", [str(vault), {"limit": YIELD_TRANSACTIONS}]
        )
        events = EventCodec(codec.get().idl)
        returns: list[tuple[int, int, int]] = []  # (ts, staker gain, vault before)
        for entry in sigs:
            if entry.get("err") is not None:
                continue
            tx = await reader.call(
                "getTransaction",
                [entry["signature"], {"encoding": "json", "maxSupportedTransactionVersion": 0}],
            )
            logs = ((tx or {}).get("meta") or {}).get("logMessages") or []
            for ev in events.decode_logs(logs):
                data = ev["data"]
                if ev["name"] != "InsuranceFundRecord" or data["spotMarketIndex"] != market_index:
                    continue
                if not data["amount"] or not data["totalIfFactor"]:
                    continue
                gain = data["amount"] * data["userIfFactor"] // data["totalIfFactor"]
                returns.append((data["ts"], gain, data["insuranceVaultAmountBefore"]))
    except (KeeperError, KeyError, TypeError, ValueError) as exc:
        return YieldEstimate(None, 0, 0, f"unavailable ({str(exc)[:120]})")
    returns = [r for r in returns if r[2] > 0]
    if not returns:
        return YieldEstimate(None, 0, 0, "no settle in the recent transactions")
    window = max(1, now_ts - min(ts for ts, _g, _v in returns))
    ppm = sum(g * 1_000_000 // v for _ts, g, v in returns)
    return YieldEstimate(ppm * SECONDS_PER_YEAR // window, len(returns), window, "")


def stake_rows(
    stakes: Sequence[StakeStatus],
    labels: dict[str, str],
    markets: dict[int, MarketStatus],
    wallets: dict[tuple[str, int], int],
) -> list[list[str]]:
    """One row per stake; its first columns (staker, market, shares) keep their shape."""
    rows = []
    for s in stakes:
        d = markets[s.market_index].decimals
        who = labels.get(str(s.authority), str(s.authority)[:8] + "…")
        wallet = wallets.get((str(s.authority), s.market_index))
        rows.append(
            [
                who,
                str(s.market_index),
                f"{s.shares:,}",
                format_amount(s.position_value, d),
                format_amount(s.cost_basis, d),
                ("+" if s.gain_loss > 0 else "") + format_amount(s.gain_loss, d),
                "-" if wallet is None else format_amount(wallet, d),
                f"{s.request_shares:,} sh" if s.request_shares else "-",
            ]
        )
    return rows


STAKE_HEADERS = [
    "staker",
    "market",
    "shares",
    "value",
    "cost basis",
    "gain/loss",
    "wallet",
    "pending request",
]


def stake_details(s: StakeStatus, m: MarketStatus, now_ts: int) -> list[tuple[str, str]]:
    d, sym = m.decimals, m.symbol
    lines: list[tuple[str, str]] = []
    if s.request_shares:
        lines += [
            ("pending request", f"{s.request_shares:,} shares"),
            ("frozen value", f"{format_amount(s.request_value, d)} {sym}"),
            ("value now", f"{format_amount(s.request_value_now, d)} {sym} (paid: the lower)"),
            ("requested at", format_utc(s.request_ts)),
            ("matures at", opens_in(s.matures_ts, now_ts)),
        ]
        if s.withdrawable:
            lines.append(("withdraw", "possible now"))
        else:
            lines.append(("withdraw", "not now: " + "; ".join(s.withdraw_blockers)))
    else:
        lines.append(("withdraw", "no pending request (request one with `drift-if unstake`)"))
    return lines


@click.command("status", help="Insurance fund markets and a staker's stakes in them.")
@markets_option
@click.option("--authority", type=PUBKEY, help="Whose stakes to show (default: the keypair's).")
@click.option("--no-yield", is_flag=True, help="Skip the yield estimate (saves RPC calls).")
@cluster_options
def status_cmd(
    markets: tuple[int | str, ...], authority: str | None, no_yield: bool, **kwargs: Any
) -> int:
    opts = Options.from_kwargs(kwargs)
    out = Output(json=opts.json)

    async def body(cluster: Cluster, reader: HttpAccountSource, codec: LazyCodec) -> int:
        from keeper.app.session import read_snapshot

        who = authority_of(cluster, authority)
        indexes = await resolve_markets(reader, codec, markets or (0,))
        snap = await read_snapshot(
            reader, codec, codec.program_id, {}, indexes, (who,) if who else ()
        )
        statuses, stakes = snapshot_status(snap, cluster.profile)
        by_index = {m.market_index: m for m in statuses}
        wallets = _wallets(snap, who)
        yields = {}
        if not no_yield:
            for m in snap.markets:
                yields[m.market_index] = await estimate_yield(
                    reader, codec, m.market_index, m.market.insurance_fund.vault, snap.now_ts
                )
        if opts.json:
            out.document(_status_json(cluster, snap, statuses, stakes, wallets, yields, who))
            return 0
        out.line(
            f"{redact_url(cluster.url)}  slot {snap.slot}  {format_utc(snap.now_ts)}  "
            f"(profile {cluster.profile.name})"
        )
        out.line()
        markets_table(out, statuses, snap.now_ts)
        for index, y in yields.items():
            apr = "unknown" if y.apr_ppm is None else format_ratio_ppm(y.apr_ppm)
            window = f"{y.settles} settles over {format_duration(y.window_seconds)}"
            out.line(
                f"market {index} yield estimate: {apr} APR"
                + (f" ({window})" if y.settles else f" ({y.note})")
            )
        if yields:
            out.line(f"  method: {YIELD_METHOD}")
        if who is None:
            out.line()
            out.line(cluster.keypair_note)
            return 0
        out.line()
        mine = cluster.keypair is not None and cluster.keypair.pubkey() == who
        labels = {str(who): "you" if mine else str(who)[:8] + "…"}
        if not stakes:
            out.line(f"{who} has no stake in these markets")
            return 0
        wallet_map = {(str(who), i): a for i, a in wallets.items()}
        out.table(STAKE_HEADERS, stake_rows(stakes, labels, by_index, wallet_map), [2, 3, 4, 5, 6])
        for s in stakes:
            out.line(f"\nmarket {s.market_index} ({by_index[s.market_index].symbol}):")
            out.pairs(stake_details(s, by_index[s.market_index], snap.now_ts))
        return 0

    return _run(opts, False, body)


def _wallets(snap: Snapshot, who: Any) -> dict[int, int]:
    """Market index → the authority's token balance in that market's mint."""
    out: dict[int, int] = {}
    for m in snap.markets:
        for w in snap.wallets:
            if w.mint == m.market.mint and w.owner == who:
                out[m.market_index] = w.amount
    return out


def _status_json(
    cluster: Cluster,
    snap: Snapshot,
    statuses: Sequence[MarketStatus],
    stakes: Sequence[StakeStatus],
    wallets: dict[int, int],
    yields: dict[int, YieldEstimate],
    who: Any,
) -> dict[str, Any]:
    return {
        "cluster": redact_url(cluster.url),
        "slot": snap.slot,
        "unixTimestamp": snap.now_ts,
        "profile": cluster.profile.name,
        "authority": str(who) if who else None,
        "markets": [
            m.to_json()
            | {
                "yieldEstimate": yields[m.market_index].to_json()
                if m.market_index in yields
                else None
            }
            for m in statuses
        ],
        "stakes": [s.to_json() for s in stakes],
        "walletTokenAccounts": {str(w.address): w.amount for w in snap.wallets},
        "walletBalances": {str(i): a for i, a in wallets.items()},
    }


COMMANDS = (markets_cmd, status_cmd)
