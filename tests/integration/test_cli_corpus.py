"""A corpus of bad input, each run as a user runs it: `drift-if` in a subprocess.

Every argument kind, every config and keypair file shape, unreachable, silent and
non-Solana endpoints, and the wrong program on a real (embedded) cluster. For each:
no traceback, the documented exit code (2 usage, 1 refused/failed), nothing sent
(the cluster's transaction count does not move), and no secret in the output (no
byte of a keypair file, no API key of a URL).
"""

from __future__ import annotations

import json
import os
import random
import shutil
import socket
import subprocess
import sys
import threading
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path

import httpx
import pytest
from localnet_support import SUITE_PROFILE
from solders.keypair import Keypair

from keeper.app.cli import main
from localnet.embedded import EmbeddedLocalnet

START_TS = 1_767_225_600
ROOT = Path(__file__).resolve().parents[2]
API_KEY = "TOPSECRETAPIKEY0123456789"
DRIFT_IF = [sys.executable, "-m", "keeper.app.cli"]


@dataclass(frozen=True)
class Case:
    name: str
    argv: tuple[str, ...]
    code: int
    #: a fragment the error must contain (the sentence that helps)
    says: str = ""


@dataclass
class World:
    net: EmbeddedLocalnet
    home: Path
    files: dict[str, Path]
    secrets: list[str]
    silent_url: str
    html_url: str
    busy_port: int


def _silent_server() -> tuple[socket.socket, str]:
    """Accepts connections and never answers."""
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    sock.listen(64)
    port = sock.getsockname()[1]
    return sock, f"http://127.0.0.1:{port}/?api-key={API_KEY}"


class _Html(BaseHTTPRequestHandler):
    def do_POST(self) -> None:
        body = b"<html>not a Solana node</html>"
        self.send_response(200)
        self.send_header("Content-Type", "text/html")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *_args: object) -> None:
        pass


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    tmp = tmp_path_factory.mktemp("corpus")
    rng = random.Random(7)
    secret = bytes(Keypair.from_seed(bytes(rng.randrange(256) for _ in range(32))))
    files: dict[str, Path] = {}

    def put(name: str, data: bytes | str) -> Path:
        path = tmp / name
        path.write_bytes(data if isinstance(data, bytes) else data.encode())
        files[name] = path
        return path

    put("random.bin", bytes(rng.randrange(128, 256) for _ in range(64)))
    put("random64.bin", secret)  # the raw secret bytes, not JSON
    put("short.json", json.dumps(list(secret[:32])))
    put("long.json", json.dumps([*secret, 1]))
    put("notbytes.json", json.dumps([*secret[:63], 300]))
    put("object.json", json.dumps({"secret": list(secret)}))
    put("mismatch.json", json.dumps(list(secret[:32]) + list(bytes(Keypair())[32:])))
    put("empty.txt", "")
    put("nofunds.json", json.dumps(list(secret)))
    put("cfg-random.yml", bytes(rng.randrange(128, 256) for _ in range(200)))
    put("cfg-badurl.yml", "json_rpc_url: ftp://example.invalid\n")
    put("cfg-badcommitment.yml", "commitment: sometimes\n")
    put("cfg-noyaml.yml", "this is not yaml at all\n")
    put("cfg-missingkey.yml", f"keypair_path: {tmp / 'absent.json'}\n")
    put("keeper.toml", '[cluster]\nurl = "http://127.0.0.1:1"\n')
    (tmp / "adir").mkdir()
    files["adir"] = tmp / "adir"
    home = tmp / "home"
    home.mkdir()
    secrets = [
        API_KEY,
        json.dumps(list(secret))[1:40],
        ", ".join(map(str, secret[:8])),
        "can't decode byte",  # a UnicodeDecodeError quotes the file's byte
    ]
    silent, silent_url = _silent_server()
    html = HTTPServer(("127.0.0.1", 0), _Html)
    threading.Thread(target=html.serve_forever, daemon=True).start()
    busy = socket.socket()
    busy.bind(("127.0.0.1", 0))
    busy.listen(1)
    with EmbeddedLocalnet(SUITE_PROFILE, tmp / "keys", start_ts=START_TS) as net:
        assert main(["stake", "100", "-u", net.url, "-k", str(net.keys["alice"]), "-y"]) == 0
        keeper_cfg = put(
            "keeper-live.toml",
            f'[cluster]\nurl = "{net.url}"\nws_url = "{net.ws_url}"\n'
            f'[keeper]\nkeypair = "{net.keys["alice"]}"\n',
        )
        files["keeper-live.toml"] = keeper_cfg
        yield World(
            net,
            home,
            files,
            secrets,
            silent_url,
            f"http://127.0.0.1:{html.server_address[1]}",
            busy.getsockname()[1],
        )
    html.shutdown()
    silent.close()
    busy.close()


def _cases(w: World) -> list[Case]:
    u = w.net.url
    alice = str(w.net.keys["alice"])
    f = {k: str(v) for k, v in w.files.items()}
    on = ("-u", u, "-k", alice)
    return [
        # -- usage errors (2): caught while parsing, before any file or RPC ------------
        Case("url scheme", ("status", "-u", "ftp://x"), 2, "neither an http(s) URL"),
        Case("url port", ("status", "-u", "http://127.0.0.1:99999"), 2, "port"),
        Case("url moniker", ("status", "-u", "mainnet"), 2, "moniker"),
        Case("authority", ("status", "--authority", "notakey", *on), 2, "base58"),
        Case("program id", ("status", "--program-id", "xyz", *on), 2, "base58"),
        Case("profile", ("status", "--profile", "nope", *on), 2, "unknown program profile"),
        Case("profile both", ("status", "--profile", "drift-mainnet", "--profile-file", f["empty.txt"], *on), 2, "not both"),
        Case("rps 0", ("status", "--rps", "0", *on), 2, "--rps"),
        Case("timeout 0", ("status", "--timeout", "0", *on), 2, "--timeout"),
        Case("market -1", ("status", "--market", "-1", *on), 2, "0..65535"),
        Case("market 70000", ("status", "--market", "70000", *on), 2, "0..65535"),
        Case("market junk", ("stake", "1", "--market", "\x01", *on, "-y"), 2, "market"),
        Case("priority -1", ("stake", "1", "--priority-fee", "-1", *on, "-y"), 2, "auto"),
        Case("priority word", ("stake", "1", "--priority-fee", "fast", *on, "-y"), 2, "auto"),
        Case("max priority", ("stake", "1", "--max-priority-fee", "-3", *on, "-y"), 2, "max-priority-fee"),
        Case("cu 0", ("stake", "1", "--compute-units", "0", *on, "-y"), 2, "compute-units"),
        Case("cu huge", ("stake", "1", "--compute-units", "2000000", *on, "-y"), 2, "compute-units"),
        Case("stake negative", ("stake", "-5", *on, "-y"), 2, "positive"),
        Case("stake comma", ("stake", "1,5", *on, "-y"), 2, "use . as the decimal point"),
        Case("stake arabic", ("stake", "١٢", *on, "-y"), 2, "ASCII"),
        Case("stake fullwidth", ("stake", "５", *on, "-y"), 2, "ASCII"),
        Case("stake zero", ("stake", "0", *on, "-y"), 2, "zero"),
        Case("stake exponent", ("stake", "1e3", *on, "-y"), 2, "not an amount"),
        Case("stake precision", ("stake", "1.0000001", *on, "-y"), 2, "more than 6 decimal places"),
        Case("stake missing", ("stake", *on, "-y"), 2, "AMOUNT"),
        Case("unstake neither", ("unstake", *on, "-y"), 2, "--all"),
        Case("unstake both", ("unstake", "5", "--all", *on, "-y"), 2, "--all"),
        Case("settle both", ("settle", "--market", "0", "--all", *on, "-y"), 2, "not both"),
        Case("no terminal", ("stake", "1", *on), 2, "-y/--yes"),
        Case("unknown command", ("bogus",), 2, "No such command"),
        Case("unknown option", ("status", "--bogus", *on), 2, "--bogus"),
        Case("metrics port range", ("keeper", "--config", f["keeper.toml"], "--metrics-port", "70000"), 2, "metrics-port"),
        Case("inspect missing", ("inspect", "/nonexistent.json"), 2, "no trace file"),
        Case("inspect random", ("inspect", f["random.bin"]), 2, "cannot read trace"),
        Case("inspect dir", ("inspect", f["adir"]), 2, "not a trace file"),
        Case("inspect step", ("inspect", "a_single", "--step", "-1"), 2, "--step"),
        # -- files (1): keypair and config shapes -----------------------------------------
        Case("key random", ("status", "-u", u, "-k", f["random.bin"]), 1, "not a JSON text file"),
        Case("key raw secret", ("stake", "1", "-u", u, "-k", f["random64.bin"], "-y"), 1, "keypair file"),
        Case("key short", ("status", "-u", u, "-k", f["short.json"]), 1, "array of 64 bytes"),
        Case("key long", ("status", "-u", u, "-k", f["long.json"]), 1, "array of 64 bytes"),
        Case("key not bytes", ("status", "-u", u, "-k", f["notbytes.json"]), 1, "not bytes"),
        Case("key object", ("status", "-u", u, "-k", f["object.json"]), 1, "array of 64 bytes"),
        Case("key mismatch", ("status", "-u", u, "-k", f["mismatch.json"]), 1, "keypair file"),
        Case("key empty", ("status", "-u", u, "-k", f["empty.txt"]), 1, "not JSON"),
        Case("key dir", ("status", "-u", u, "-k", f["adir"]), 1, "keypair file"),
        Case("key missing", ("status", "-u", u, "-k", "/nonexistent/id.json"), 1, "does not exist"),
        Case("fee payer random", ("stake", "1", *on, "--fee-payer", f["random.bin"], "-y"), 1, "not a JSON text file"),
        Case("config random", ("status", "-C", f["cfg-random.yml"]), 1, "not a UTF-8 text"),
        Case("config missing", ("status", "-C", "/nonexistent.yml"), 1, "does not exist"),
        Case("config dir", ("status", "-C", f["adir"]), 1, "cannot read config file"),
        Case("config url", ("status", "-C", f["cfg-badurl.yml"]), 1, "json_rpc_url in"),
        Case("config commitment", ("status", "-C", f["cfg-badcommitment.yml"]), 1, "commitment"),
        Case("config not yaml", ("status", "-C", f["cfg-noyaml.yml"]), 1, "key: value"),
        Case("config no key", ("stake", "1", "-u", u, "-C", f["cfg-missingkey.yml"], "-y"), 1, "no keypair"),
        Case("keeper config", ("keeper", "--config", f["empty.txt"] + ".absent", "--once"), 1, "cannot read keeper config"),
        # -- endpoints (1) ------------------------------------------------------------------
        Case("unreachable", ("status", "-u", "http://127.0.0.1:1", "-k", alice), 1, "could not reach"),
        Case("silent", ("status", "-u", w.silent_url, "-k", alice, "--timeout", "0.5"), 1, "did not answer within 0.5 s"),
        Case("silent send", ("stake", "1", "-u", w.silent_url, "-k", alice, "--timeout", "0.5", "-y"), 1, "did not answer"),
        Case("not solana", ("status", "-u", w.html_url, "-k", alice), 1, "not JSON"),
        Case("wrong program", ("status", "--program-id", str(Keypair().pubkey()), *on), 1, "right program"),
        Case("wrong program send", ("stake", "1", "--program-id", str(Keypair().pubkey()), *on, "-y"), 1, "right program"),
        Case("no such market", ("stake", "1", "--market", "9", *on, "-y"), 1, "spot market 9 does not exist"),
        Case("no such symbol", ("status", "--market", "NOPE", *on), 1, "no market is named 'NOPE'"),
        # -- refusals before signing (1) --------------------------------------------------
        Case("above wallet", ("stake", "100000000", *on, "-y"), 1, "less than the"),
        Case("above stake", ("unstake", "500", *on, "-y"), 1, "more than the stake is worth"),
        Case("withdraw no request", ("withdraw", *on, "-y"), 1, "no pending unstake request"),
        Case("cancel no request", ("cancel", *on, "-y"), 1, "NoIFWithdrawRequestInProgress"),
        Case("settle early", ("settle", *on, "-y"), 1, "the settle opens at"),
        Case("fee payer empty", ("stake", "1", *on, "--fee-payer", f["nofunds.json"], "-y"), 1, "has no SOL; fund it with at least"),
        Case("signer no token account", ("stake", "1", "-u", u, "-k", f["nofunds.json"], "-y"), 1, "no token account"),
        Case("cu too low", ("stake", "1", *on, "--compute-units", "1000", "-y"), 1, "compute units"),
        Case("metrics port busy", ("keeper", "--config", f["keeper-live.toml"], "--metrics-port", str(w.busy_port)), 1, "cannot serve metrics"),
    ]


def _run(w: World, case: Case) -> tuple[Case, subprocess.CompletedProcess[str]]:
    env = {
        **os.environ,
        "HOME": str(w.home),
        "PYTHONPATH": str(ROOT),
        "COLUMNS": "200",
    }
    env.pop("DRIFT_PROGRAM_SO", None)
    proc = subprocess.run(
        [*DRIFT_IF, *case.argv], capture_output=True, text=True, env=env, cwd=ROOT, timeout=60
    )
    return case, proc


def _transaction_count(net: EmbeddedLocalnet) -> int:
    doc = httpx.post(
        net.url, json={"jsonrpc": "2.0", "id": 1, "method": "getTransactionCount"}
    ).json()
    return int(doc["result"])


def test_bad_input_corpus(world: World) -> None:
    cases = _cases(world)
    before = _transaction_count(world.net)
    with ThreadPoolExecutor(4) as pool:
        results = list(pool.map(lambda c: _run(world, c), cases))
    failures = []
    for case, proc in results:
        text = proc.stdout + proc.stderr
        problems = []
        if "Traceback" in text:
            problems.append("a traceback")
        if proc.returncode != case.code:
            problems.append(f"exit {proc.returncode}, not {case.code}")
        if case.says and case.says not in text:
            problems.append(f"no {case.says!r}")
        leaked = [s for s in world.secrets if s in text]
        if leaked:
            problems.append(f"leaks {leaked}")
        if problems:
            failures.append(f"{case.name}: {', '.join(problems)}\n    {text.strip()[:400]}")
    assert not failures, "\n".join(failures)
    assert _transaction_count(world.net) == before, "a bad input sent a transaction"
    assert len(cases) >= 70


def test_json_errors_are_one_document_on_stderr(world: World) -> None:
    for argv, code in (
        (("status", "-u", "http://127.0.0.1:1", "--json"), 1),
        (("stake", "1,5", "-u", world.net.url, "-k", str(world.net.keys["alice"]), "--json", "-y"), 2),
        (("settle", "-u", world.net.url, "-k", str(world.net.keys["alice"]), "--json", "-y"), 1),
    ):
        _case, proc = _run(world, Case("json", argv, code))
        assert proc.returncode == code and proc.stdout == ""
        error = json.loads(proc.stderr)["error"]
        assert error["exitCode"] == code and error["message"]
        assert error["kind"] == ("usage" if code == 2 else error["kind"])
    assert json.loads(proc.stderr)["error"]["program"]["name"] == "RevenueSettingsCannotSettleToIF"


def test_a_closed_pipe_prints_no_traceback(world: World) -> None:
    if shutil.which("head") is None:
        pytest.skip("no head(1)")
    env = {**os.environ, "PYTHONPATH": str(ROOT), "HOME": str(world.home)}
    cmd = " ".join([sys.executable, "-m", "keeper.app.cli", "inspect", "b_two", "|", "head", "-1"])
    proc = subprocess.run(cmd, shell=True, capture_output=True, text=True, env=env, cwd=ROOT)
    assert proc.stdout.strip() and "Traceback" not in proc.stderr and proc.stderr == ""
