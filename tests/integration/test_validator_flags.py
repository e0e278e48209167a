"""`--bpf-program`, `--account` and `--account-dir`: solana-test-validator's arguments and
files, so `python -m localnet.genesis DIR` exports boot the localnet the same way."""

from __future__ import annotations

import asyncio
import base64
import json
import os
import signal
import sys
from pathlib import Path

import httpx
import pytest
import zstandard
from solders.account import Account
from solders.instruction import AccountMeta, Instruction
from solders.keypair import Keypair
from solders.message import Message
from solders.pubkey import Pubkey
from solders.transaction import VersionedTransaction

from keeper.core import DRIFT_MAINNET
from localnet.account_files import AccountFileError, account_file_json, read_account_file
from localnet.app import build_cluster, build_parser, load_accounts
from localnet.cluster import Cluster, ClusterConfig, ClusterError
from localnet.genesis import GenesisSpec, build_genesis
from localnet.genesis import main as genesis_main

ROOT = Path(__file__).resolve().parents[2]
MEMO_V2 = Pubkey.from_string("MemoSq4gqABAXKb96qnH8TysNcWxMyWCqXgDLGmfcHr")


def _cluster(argv: list[str]) -> Cluster:
    args = build_parser().parse_args(["--manual-slots", "--no-genesis", *argv])
    cluster = build_cluster(args)
    load_accounts(cluster, args)
    return cluster


def _memo_so(tmp_path: Path) -> Path:
    """A real SBF binary: the Memo program LiteSVM ships (loader v2: the account is the ELF)."""
    memo = Cluster(ClusterConfig(manual_slots=True)).get_account(MEMO_V2)
    assert memo is not None and bytes(memo.data[:4]) == b"\x7fELF"
    path = tmp_path / "memo.so"
    path.write_bytes(bytes(memo.data))
    return path


def test_genesis_export_loads_with_account_flags_like_the_genesis(tmp_path: Path) -> None:
    assert genesis_main([str(tmp_path)]) == 0
    files = sorted((tmp_path / "accounts").glob("*.json"))
    expected = build_genesis(GenesisSpec(), DRIFT_MAINNET).accounts
    assert len(files) == len(expected) >= 10
    by_flag = _cluster([arg for f in files for arg in ("--account", "-", str(f))])
    by_dir = _cluster(["--account-dir", str(tmp_path / "accounts")])
    for address, acc in expected.items():
        want = Account(acc.lamports, acc.data, acc.owner, acc.executable, acc.rent_epoch)
        assert by_flag.get_account(address) == want
        assert by_dir.get_account(address) == want


def test_account_flag_address_overrides_and_data_encodings(tmp_path: Path) -> None:
    owner = Keypair().pubkey()
    account = Account(123_456, b"\x01\x02" * 50, owner, False, 2**64 - 1)
    doc = account_file_json(Keypair().pubkey(), account)
    plain = tmp_path / "plain.json"
    plain.write_text(json.dumps(doc))
    packed = zstandard.ZstdCompressor().compress(bytes(account.data))
    doc["account"]["data"] = [base64.b64encode(packed).decode(), "base64+zstd"]
    zstd = tmp_path / "zstd.json"
    zstd.write_text(json.dumps(doc))
    elsewhere = Keypair().pubkey()
    cluster = _cluster(["--account", str(elsewhere), str(plain), "--account", "-", str(zstd)])
    assert cluster.get_account(elsewhere) == account
    assert cluster.get_account(Pubkey.from_string(doc["pubkey"])) == account
    assert read_account_file(zstd)[1] == account

    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps({"pubkey": str(owner), "account": {"lamports": 1}}))
    with pytest.raises(ClusterError, match="not an account file"):
        _cluster(["--account", "-", str(bad)])
    with pytest.raises(AccountFileError, match="cannot read"):
        read_account_file(tmp_path / "missing.json")


def test_bpf_program_runs_a_binary_at_an_address_or_keypair(tmp_path: Path) -> None:
    so = _memo_so(tmp_path)
    by_address = Keypair().pubkey()
    program_kp = Keypair()
    keypair_file = tmp_path / "program-keypair.json"
    keypair_file.write_text(json.dumps(list(bytes(program_kp))))
    cluster = _cluster(
        ["--bpf-program", str(by_address), str(so), "--bpf-program", str(keypair_file), str(so)]
    )
    payer = Keypair()
    cluster.airdrop(payer.pubkey(), 10**9)
    for program_id in (by_address, program_kp.pubkey()):
        assert cluster.has_real_program(program_id)
        ix = Instruction(program_id, b"hello", [AccountMeta(payer.pubkey(), True, False)])
        message = Message.new_with_blockhash([ix], payer.pubkey(), cluster.latest_blockhash()[0])
        outcome = cluster.send_transaction(VersionedTransaction(message, [payer]))
        assert outcome.err is None
        assert any('Memo (len 5): "hello"' in line for line in outcome.result.logs)
    with pytest.raises(ClusterError, match="neither an address nor a keypair"):
        _cluster(["--bpf-program", "not-a-key", str(so)])


def test_bpf_program_at_the_drift_id_replaces_the_model(tmp_path: Path) -> None:
    args = build_parser().parse_args(
        ["--manual-slots", "--bpf-program", str(DRIFT_MAINNET.program_id), str(_memo_so(tmp_path))]
    )
    cluster = build_cluster(args, models=lambda pid: pytest.fail("the model must not load"))
    assert cluster.has_real_program(DRIFT_MAINNET.program_id)
    assert DRIFT_MAINNET.program_id not in cluster.models


@pytest.mark.asyncio(loop_scope="session")
async def test_cli_takes_the_flags(tmp_path: Path) -> None:
    target = Keypair().pubkey()
    path = tmp_path / "acc.json"
    path.write_text(json.dumps(account_file_json(target, Account(777, b"abc", target))))
    env = {**os.environ, "PYTHONPATH": f"{ROOT}{os.pathsep}{os.environ.get('PYTHONPATH', '')}"}
    env.pop("DRIFT_PROGRAM_SO", None)
    memo_id = Keypair().pubkey()
    proc = await asyncio.create_subprocess_exec(
        *(sys.executable, "-m", "localnet", "--port", "0", "--no-genesis", "--manual-slots"),
        *("--account", "-", str(path), "--bpf-program", str(memo_id), str(_memo_so(tmp_path))),
        stdout=asyncio.subprocess.PIPE,
        env=env,
        cwd=ROOT,
    )
    assert proc.stdout is not None
    try:
        lines: dict[str, str] = {}
        while "Slots" not in lines:
            line = (await asyncio.wait_for(proc.stdout.readline(), timeout=30)).decode()
            assert line, "the localnet exited"
            key, _, value = line.partition(":")
            lines[key] = value.strip()
        assert lines["Loaded"] == "1 programs, 1 accounts"
        async with httpx.AsyncClient() as http:
            for address, owner in ((target, str(target)), (memo_id, None)):
                body = {
                    "jsonrpc": "2.0",
                    "id": 1,
                    "method": "getAccountInfo",
                    "params": [str(address)],
                }
                value = (await http.post(lines["RPC URL"], json=body)).json()["result"]["value"]
                assert value is not None
                if owner is not None:
                    assert value["lamports"] == 777 and value["owner"] == owner
                else:
                    assert value["executable"] is True
    finally:
        proc.send_signal(signal.SIGINT)
        assert await asyncio.wait_for(proc.wait(), timeout=10) == 0
