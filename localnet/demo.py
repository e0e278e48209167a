"""The main job's demo: one keeper, two wallets, two markets, on a Drift localnet.

Every step is the real `drift-if` CLI talking JSON-RPC to a local cluster that runs
the Drift IF instructions (the Python model, or a real binary via DRIFT_PROGRAM_SO);
between steps the demo moves the cluster's clock with the time-travel cheatcode and,
for a while, lends out most of the USDC market's deposits (account cheatcodes) so
utilization rises above the keeper's limit. Each keeper pass prints what it sent,
why, and what waits until when: a timeline of the keeper's decisions.
"""

from __future__ import annotations

import base64
import sys
import tempfile
from pathlib import Path

from keeper.app import main as drift_if
from keeper.core import DRIFT_MAINNET, DriftAddresses, format_duration
from keeper.program import AccountCodec, load_idl
from localnet.embedded import EmbeddedLocalnet
from localnet.genesis import GenesisSpec, MarketSpec, StakerSpec

START_TS = 1_767_225_600  # 2026-01-01T00:00:00Z
DAY = 86_400
USDC, SOL = 10**6, 10**9
SPEC = GenesisSpec(
    markets=(MarketSpec(0, "USDC", 6), MarketSpec(1, "SOL", 9)),
    stakers=(
        StakerSpec("alice", token_amounts=((0, 10_000 * USDC), (1, 100 * SOL))),
        StakerSpec("bob", token_amounts=((0, 10_000 * USDC), (1, 100 * SOL))),
    ),
    created_ts=START_TS,
)
#: the program's scaled-balance precision: balance = tokens × 10^(19 − decimals) / interest
BALANCE_DIGITS = 19


def run(net: EmbeddedLocalnet, who: str, *argv: str, expect_failure: bool = False) -> None:
    shown = " ".join(argv)
    print(f"\n$ drift-if {shown} -k {who}.json", flush=True)
    # -y: the demo's output is not a terminal, and it means to send
    sends = argv[0] not in ("status", "markets")
    code = drift_if([*argv, "-u", net.url, "-k", str(net.keys[who]), *(["-y"] if sends else [])])
    if (code != 0) != expect_failure:
        raise SystemExit(f"demo step failed: drift-if {shown} exited {code}")


def travel(net: EmbeddedLocalnet, seconds: int, why: str) -> None:
    net.travel(seconds)
    print(f"\n# time travel +{format_duration(seconds)}: {why}", flush=True)


def keeper_pass(config: Path) -> None:
    print(f"\n$ drift-if keeper --config {config.name} --once", flush=True)
    if drift_if(["keeper", "--config", str(config), "--once", "--log-level", "warning"]) != 0:
        raise SystemExit("demo step failed: the keeper pass reported errors")


def set_borrowed(net: EmbeddedLocalnet, market_index: int, lent: int, borrowed_ppm: int) -> None:
    """Cheatcodes: lenders deposit `lent` base units into the spot market and borrowers
    take `borrowed_ppm` of all its deposits; the vault holds what is not lent out."""
    codec = AccountCodec(load_idl(DRIFT_MAINNET.idl_path), DRIFT_MAINNET.program_id)
    layout = codec.idl.layout
    pdas = DriftAddresses(DRIFT_MAINNET.program_id)
    address = pdas.spot_market(market_index)
    info = net.cheat("getAccountInfo", [str(address), {"encoding": "base64"}])["value"]
    data = bytearray(base64.b64decode(info["data"][0]))
    decimals = int(layout.read("SpotMarket", data, "decimals"))  # type: ignore[arg-type]
    scale = 10 ** (BALANCE_DIGITS - decimals)

    def field(name: str) -> int:
        return int(layout.read("SpotMarket", data, name))  # type: ignore[arg-type]

    dep_interest, bor_interest = field("cumulativeDepositInterest"), field("cumulativeBorrowInterest")
    deposits = field("depositBalance") * dep_interest // scale + lent
    borrowed_before = field("borrowBalance") * bor_interest // scale
    borrowed = deposits * borrowed_ppm // 1_000_000
    layout.write("SpotMarket", data, "depositBalance", deposits * scale // dep_interest)
    layout.write("SpotMarket", data, "borrowBalance", -(-borrowed * scale // bor_interest))
    encoded = base64.b64encode(bytes(data)).decode()
    net.cheat("localnet_setAccount", [str(address), {"data": [encoded, "base64"]}])
    vault = pdas.spot_market_vault(market_index)
    balance = net.cheat("getTokenAccountBalance", [str(vault)])["value"]
    moved = lent - (borrowed - borrowed_before)
    net.cheat("localnet_setTokenAccountBalance", [str(vault), int(balance["amount"]) + moved])


def write_config(net: EmbeddedLocalnet, path: Path) -> None:
    path.write_text(
        f'[cluster]\nurl = "{net.url}"\nws_url = "{net.ws_url}"\n\n'
        f'[keeper]\nfee_payer = "{net.keys["keeper"]}"\n'
        "max_utilization_percent = 80   # withdraw only while utilization and its TWAP ≤ 80%\n\n"
        f'[[wallets]]\nname = "alice"\nkeypair = "{net.keys["alice"]}"\nmarkets = [\n'
        '  { market = 0, policy = "cap", cap_base_units = 600000000 },  # ≤ 600 USDC staked\n'
        '  { market = 1, policy = "exit" },                              # leave the SOL fund\n'
        "]\n\n"
        f'[[wallets]]\nname = "bob"\nkeypair = "{net.keys["bob"]}"\nmarkets = [\n'
        '  { market = 0, policy = "take-profit", min_request_base_units = 1000000 },\n'
        '  { market = 1, policy = "hold" },\n'
        "]\n"
    )


def demo(keys_dir: Path) -> None:
    with EmbeddedLocalnet(DRIFT_MAINNET, keys_dir, start_ts=START_TS, spec=SPEC) as net:
        program = "the real Drift program" if net.real_program else "the Drift IF model"
        print(
            f"# localnet at {net.url} running {program}; genesis: USDC market 0, SOL market 1, "
            "alice, bob and the keeper's fee payer"
        )
        config = keys_dir / "keeper.toml"
        write_config(net, config)
        print(f"# one keeper for two wallets over two markets; it settles both markets\n{config.read_text()}")
        if drift_if(["keeper", "check", "--config", str(config)]) != 0:
            raise SystemExit("demo step failed: keeper check")
        run(net, "alice", "stake", "1000")
        run(net, "alice", "stake", "10", "--market", "1")
        run(net, "bob", "stake", "3000")
        run(net, "bob", "stake", "20", "--market", "1")
        run(net, "bob", "deposit-revenue", "2000")
        run(net, "bob", "deposit-revenue", "5", "--market", "1")

        print("\n# 00:00 — alice's policies ask for requests at once; both settles wait for the hour")
        keeper_pass(config)
        travel(net, 3600, "the next settle is allowed on the hour")
        print("# both settles land in one transaction; bob's gains then pass his minimum")
        keeper_pass(config)
        run(net, "alice", "withdraw", expect_failure=True)

        set_borrowed(net, 0, lent=10_000 * USDC, borrowed_ppm=850_000)
        print(
            "\n# lenders deposit 10,000 USDC into market 0 and borrowers take 85% of its deposits: "
            "the program's own limit (90%) would allow a withdrawal, the keeper's 80% does not"
        )
        travel(net, 13 * DAY - 3600, "alice's 13-day cooldown")
        keeper_pass(config)

        set_borrowed(net, 0, lent=0, borrowed_ppm=100_000)
        print("\n# borrowers repay down to 10%: utilization drops at once, its 24-hour TWAP does not")
        keeper_pass(config)
        travel(net, DAY, "a day: the next settle updates the TWAP")
        keeper_pass(config)
        run(net, "alice", "status", "--market", "0", "--market", "1")
        run(net, "bob", "status", "--market", "0", "--market", "1")


def main() -> int:
    with tempfile.TemporaryDirectory(prefix="drift-if-demo-") as tmp:
        demo(Path(tmp))
    print("\ndemo complete", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
