"""The staker's report, item by item, against a Drift localnet (in-process `main`)."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from localnet_support import SUITE_PROFILE, first_settle_seeds_cap

from keeper.app.cli import main
from keeper.core.fmt import format_amount_plain
from localnet.embedded import EmbeddedLocalnet

START_TS = 1_767_225_600
CAMEL = re.compile(r"^[a-z][a-zA-Z0-9]*$")
#: maps keyed by data, not by field name (addresses, market indexes)
DATA_KEYED = {"walletTokenAccounts", "walletBalances"}


@pytest.fixture(scope="module")
def net(tmp_path_factory: pytest.TempPathFactory) -> Iterator[EmbeddedLocalnet]:
    with EmbeddedLocalnet(SUITE_PROFILE, tmp_path_factory.mktemp("keys"), start_ts=START_TS) as n:
        yield n


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, Any, str]:
    code = main(list(argv))
    out = capsys.readouterr()
    doc = json.loads(out.out) if out.out.strip().startswith(("{", "[")) else None
    return code, doc, out.out + out.err


def on(net: EmbeddedLocalnet, who: str) -> tuple[str, ...]:
    return ("-u", net.url, "-k", str(net.keys[who]))


def camel_everywhere(doc: Any, path: str = "") -> list[str]:
    bad: list[str] = []
    if isinstance(doc, dict):
        for key, value in doc.items():
            if not CAMEL.match(key):
                bad.append(f"{path}.{key}")
            if key not in DATA_KEYED:
                bad += camel_everywhere(value, f"{path}.{key}")
    elif isinstance(doc, list):
        for i, item in enumerate(doc):
            bad += camel_everywhere(item, f"{path}[{i}]")
    return bad


def test_status_uses_the_solana_cli_config_keypair(
    net: EmbeddedLocalnet,
    capsys: pytest.CaptureFixture[str],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    assert run(capsys, "stake", "100", *on(net, "alice"), "-y")[0] == 0
    config = tmp_path / ".config" / "solana" / "cli" / "config.yml"
    config.parent.mkdir(parents=True)
    config.write_text(f"json_rpc_url: {net.url}\nkeypair_path: {net.keys['alice']}\n")
    monkeypatch.setenv("HOME", str(tmp_path))
    code, doc, text = run(capsys, "status", "--json")  # no -u, no -k: the config's
    assert code == 0, text
    assert doc["stakes"] and doc["stakes"][0]["shares"] == 100_000_000
    code, _doc, text = run(capsys, "status")
    assert code == 0 and "you " in text and "100,000,000" in text


def test_a_typed_full_value_unstakes_every_share_and_one_amount_is_shown(
    net: EmbeddedLocalnet, capsys: pytest.CaptureFixture[str]
) -> None:
    assert run(capsys, "stake", "3000", *on(net, "bob"), "-y")[0] == 0
    assert run(capsys, "deposit-revenue", "700", *on(net, "bob"), "-y")[0] == 0
    code, doc, text = run(capsys, "settle", "--all", *on(net, "bob"), "-y", "--json")
    assert code == 0 and doc["markets"] == [] and doc["skipped"][0]["market"] == 0, text
    assert "the settle opens at" in doc["skipped"][0]["reason"]
    net.travel(3600)
    if first_settle_seeds_cap(SUITE_PROFILE):
        code, doc, text = run(capsys, "settle", "--all", *on(net, "bob"), "-y", "--json")
        assert code == 0 and doc["figures"]["amount"] == 0, text
        net.travel(3600)
    code, doc, text = run(capsys, "settle", "--all", *on(net, "bob"), "-y", "--json")
    assert code == 0, text
    assert [m["market"] for m in doc["markets"]] == [0] and doc["figures"]["amount"] > 0
    code, status, _ = run(capsys, "status", *on(net, "bob"), "--json")
    stake = status["stakes"][0]
    market = status["markets"][0]
    assert market["symbol"] == "USDC" and market["sharePrice"] > 1_000_000
    # the settle shows up in the yield estimate, with its method and window
    estimate = market["yieldEstimate"]
    assert estimate["settles"] >= 1 and estimate["aprPpm"] > 0 and "method" in estimate
    # --all, dry run: one token amount, the value the program freezes
    code, _doc, text = run(capsys, "unstake", "--all", *on(net, "bob"), "--dry-run")
    amounts = set(re.findall(r"(\d[\d,]*\.\d{6}) USDC", text))
    assert code == 0 and len(amounts) == 1, text
    # typing the value status shows requests every share: no dust left behind
    typed = format_amount_plain(stake["valueAmount"], 6)
    code, doc, text = run(capsys, "unstake", typed, *on(net, "bob"), "-y", "--json")
    assert code == 0, text
    assert doc["figures"]["sharesRequested"] == stake["shares"]
    code, after, _ = run(capsys, "status", *on(net, "bob"), "--json")
    bob = after["stakes"][0]
    assert bob["requestShares"] == bob["shares"]
    assert bob["positionValue"] == min(bob["requestValue"], bob["requestValueNow"])
    assert bob["maturesTs"] > after["unixTimestamp"] and not bob["withdrawable"]
    assert "cooldown" in bob["withdrawBlockers"]
    # the cancel reports what it forfeits in tokens as well as shares
    code, doc, text = run(capsys, "cancel", *on(net, "bob"), "--dry-run", "--json")
    assert code == 0, text
    assert set(doc["figures"]) == {"sharesForfeited", "valueForfeited"}


def test_the_slot_reported_is_the_landing_slot(
    net: EmbeddedLocalnet, capsys: pytest.CaptureFixture[str]
) -> None:
    net.travel(600)  # moves the cluster's slot on
    code, doc, text = run(capsys, "stake", "1", *on(net, "alice"), "-y", "--json")
    assert code == 0, text
    landed = httpx.post(
        net.url,
        json={
            "jsonrpc": "2.0",
            "id": 1,
            "method": "getTransaction",
            "params": [doc["signature"], {"encoding": "json", "maxSupportedTransactionVersion": 0}],
        },
    ).json()["result"]
    assert doc["slot"] == landed["slot"] > 0
    fees = doc["fees"]
    assert fees["computeUnitLimit"] >= fees["unitsSimulated"] > 0
    assert fees["totalLamports"] == fees["signatureFeeLamports"] + fees["priorityFeeLamports"]


def test_markets_symbols_and_one_json_style(
    net: EmbeddedLocalnet, capsys: pytest.CaptureFixture[str]
) -> None:
    code, markets, text = run(capsys, "markets", "-u", net.url, "--json")
    assert code == 0, text
    assert [(m["marketIndex"], m["symbol"]) for m in markets["markets"]] == [(0, "USDC")]
    code, by_symbol, text = run(capsys, "status", "--market", "usdc", *on(net, "alice"), "--json")
    assert code == 0 and by_symbol["markets"][0]["marketIndex"] == 0, text
    code, profiles, _ = run(capsys, "profiles", "--json")
    mainnet = next(p for p in profiles if p["name"] == "drift-mainnet")
    # the same unit (ppm) as status's withdrawUtilizationLimit
    assert mainnet["withdrawUtilizationLimit"] == by_symbol["markets"][0]["withdrawUtilizationLimit"]
    code, dry, _ = run(capsys, "stake", "1", *on(net, "alice"), "--dry-run", "--json")
    for doc in (markets, by_symbol, profiles, dry):
        assert camel_everywhere(doc) == []


def _on_a_terminal(argv: list[str], answer: bytes) -> tuple[int, str]:
    """Run drift-if on a pseudo-terminal, answering its question."""
    import os
    import pty
    import sys

    pid, fd = pty.fork()
    if pid == 0:  # pragma: no cover - the child
        os.execv(sys.executable, [sys.executable, "-m", "keeper.app.cli", *argv])
    out, answered = b"", False
    while True:
        try:
            chunk = os.read(fd, 4096)
        except OSError:
            break
        if not chunk:
            break
        out += chunk
        if b"[y/N]" in out and not answered:
            os.write(fd, answer + b"\n")
            answered = True
    _pid, status = os.waitpid(pid, 0)
    os.close(fd)
    return os.waitstatus_to_exitcode(status), out.decode(errors="replace")


def test_a_terminal_is_asked_and_no_means_nothing_sent(net: EmbeddedLocalnet) -> None:
    def count() -> int:
        doc = httpx.post(net.url, json={"jsonrpc": "2.0", "id": 1, "method": "getTransactionCount"})
        return int(doc.json()["result"])

    before = count()
    code, text = _on_a_terminal(["stake", "5", *on(net, "alice")], b"n")
    assert code == 1 and "Send this transaction? [y/N]" in text and "nothing sent" in text
    assert "stake 5.000000 USDC" in text and "fees" in text  # the summary came first
    assert count() == before
    code, text = _on_a_terminal(["stake", "5", *on(net, "alice")], b"y")
    assert code == 0 and "confirmed in slot" in text
    assert count() == before + 1


def test_a_fee_payer_pays_and_a_fixed_priority_fee_is_priced(
    net: EmbeddedLocalnet, capsys: pytest.CaptureFixture[str]
) -> None:
    def lamports(who: str) -> int:
        from keeper.app.solana_config import load_keypair

        key = str(load_keypair(net.keys[who]).pubkey())
        doc = httpx.post(
            net.url, json={"jsonrpc": "2.0", "id": 1, "method": "getBalance", "params": [key]}
        ).json()
        return int(doc["result"]["value"])

    alice, bob = lamports("alice"), lamports("bob")
    code, doc, text = run(
        capsys,
        "stake", "2", *on(net, "alice"), "-y", "--json",
        "--fee-payer", str(net.keys["bob"]), "--priority-fee", "1000",
    )  # fmt: skip
    assert code == 0, text
    fees = doc["fees"]
    assert fees["computeUnitPriceMicroLamports"] == 1000
    assert fees["priorityFeeLamports"] == -(-1000 * fees["computeUnitLimit"] // 1_000_000)
    assert fees["signatureFeeLamports"] == 2 * 5000  # the signer and the fee payer
    assert lamports("alice") == alice  # the staker's SOL is untouched
    assert bob - lamports("bob") == fees["signatureFeeLamports"] + fees["priorityFeeLamports"]
