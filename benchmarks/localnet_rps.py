"""Requests per second the localnet RPC server sustains on one core, over loopback.

Usage: PYTHONPATH=. python benchmarks/localnet_rps.py [--seconds 3] [--connections 8]

The server runs in its own process pinned to one CPU; the load generator runs in another
process on another CPU (when there is one) with keep-alive HTTP/1.1 connections and a
minimal client, so the figure is the server's, not httpx's. Each workload is measured
over HTTP and, as its baseline in the same run, in-process (RpcHandler.handle() called
directly: JSON-RPC + LiteSVM, no network):
  - getAccountInfo (one account), getLatestBlockhash;
  - getMultipleAccounts of 100 accounts;
  - getProgramAccounts with a memcmp + dataSize filter over 100 000 accounts of one
    program (100 match);
  - sendTransaction + confirmation (a System transfer, then getSignatureStatuses until
    it is there; one operation = both calls; manual slots, so it lands at once).
Also printed: the HTTP layer returning a canned JSON body (the ceiling the HTTP framing
allows on this machine) and raw LiteSVM get_account calls (the SVM's own ceiling).
Bounded: about 2 × (workloads + 1) × seconds + set-up (~10 s) in total.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import multiprocessing as mp
import os
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import base64
import itertools
from collections.abc import Iterator

from solders.account import Account
from solders.keypair import Keypair
from solders.message import Message
from solders.pubkey import Pubkey
from solders.system_program import TransferParams, transfer
from solders.transaction import VersionedTransaction

from localnet.cluster import Cluster, ClusterConfig
from localnet.rpc import RpcHandler
from localnet.server import LocalnetServer, _read_request, _response

ACCOUNT = Keypair.from_seed(bytes(32)).pubkey()
PAYER = Keypair.from_seed(bytes([1] * 32))
PROGRAM = Keypair.from_seed(bytes([2] * 32)).pubkey()
SCANNED = 100_000
#: Accounts of PROGRAM whose first 8 bytes are this value match the benchmark's filter.
MATCH = 7
MANY = [Pubkey.from_bytes(bytes([9]) + i.to_bytes(4, "little") + bytes(27)) for i in range(100)]
#: Distinct signed transfers prepared per run (more than a run can send).
TRANSFERS = 30_000

#: One operation: the requests a client makes in turn (a confirmation polls until seen).
Operation = list[bytes]


def _pin(cpu: int) -> None:
    cpus = sorted(os.sched_getaffinity(0))
    os.sched_setaffinity(0, {cpus[cpu % len(cpus)]})


def _cluster() -> Cluster:
    """Manual slots (deterministic blockhash), so clients can sign for it beforehand."""
    cluster = Cluster(ClusterConfig(manual_slots=True))
    cluster.airdrop(ACCOUNT, 10**9)
    cluster.airdrop(PAYER.pubkey(), 10**15)
    for address in MANY:
        cluster.set_account(address, Account(10**6, bytes(200), PROGRAM))
    for i in range(SCANNED):
        data = (i % 1000).to_bytes(8, "little") + bytes(157)
        address = Pubkey.from_bytes(bytes([8]) + i.to_bytes(4, "little") + bytes(27))
        cluster.set_account(address, Account(10**6, data, PROGRAM))
    return cluster


def _rpc(method: str, params: list[object]) -> bytes:
    return json.dumps({"jsonrpc": "2.0", "id": 1, "method": method, "params": params}).encode()


def _transfers(count: int) -> list[Operation]:
    """sendTransaction + getSignatureStatuses pairs of distinct transfers."""
    blockhash = Cluster(ClusterConfig(manual_slots=True)).latest_blockhash()[0]
    ops = []
    for i in range(count):
        ix = transfer(TransferParams(from_pubkey=PAYER.pubkey(), to_pubkey=ACCOUNT, lamports=1 + i))
        tx = VersionedTransaction(
            Message.new_with_blockhash([ix], PAYER.pubkey(), blockhash), [PAYER]
        )
        send = _rpc(
            "sendTransaction", [base64.b64encode(bytes(tx)).decode(), {"encoding": "base64"}]
        )
        ops.append([send, _rpc("getSignatureStatuses", [[str(tx.signatures[0])]])])
    return ops


def _checked(body: bytes) -> bytes:
    """A benchmark must not measure error answers: stop on the first one."""
    if body.startswith(b'{"jsonrpc":"2.0","error"'):
        raise RuntimeError(f"the workload got an error: {body[:300]!r}")
    return body


def _confirmed(body: bytes) -> bool:
    """A getSignatureStatuses answer that shows the transaction (else poll again)."""
    return b'"value":[null]' not in _checked(body)


def _serve(kind: str, ready: mp.Queue[float], stop: mp.Event) -> None:  # type: ignore[type-arg]
    """Serve until `stop`; report the port, then the CPU seconds spent serving load."""
    _pin(0)
    asyncio.run(_serve_until(kind, ready, stop))


async def _serve_until(kind: str, ready: mp.Queue[float], stop: mp.Event) -> None:  # type: ignore[type-arg]
    body = json.dumps({"jsonrpc": "2.0", "result": {"context": {"slot": 0}}, "id": 1}).encode()

    async def echo(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while await _read_request(reader) is not None:
                writer.write(_response(200, body, "application/json", True))
                await writer.drain()
        except (ConnectionError, asyncio.IncompleteReadError):
            pass
        writer.close()

    server = LocalnetServer(_cluster(), rpc_port=0, ws_port=0) if kind == "localnet" else None
    if server is not None:
        await server.start()
        port = server.rpc_port
    else:
        echo_server = await asyncio.start_server(echo, "127.0.0.1", 0)
        port = echo_server.sockets[0].getsockname()[1]
    cpu = time.process_time()
    ready.put(port)
    while not stop.is_set():
        await asyncio.sleep(0.05)
    ready.put(time.process_time() - cpu)
    if server is not None:
        await server.stop()
    else:
        echo_server.close()


async def _load(
    port: int,
    workload: str,
    seconds: float,
    connections: int,
    out: mp.Queue[int],  # type: ignore[type-arg]
) -> int:
    ops = _operations(workload)
    out.put(-1)  # prepared: the measured time starts now
    deadline = time.perf_counter() + seconds
    count = 0

    def framed(payload: bytes) -> bytes:
        head = (
            "POST / HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
            f"Content-Length: {len(payload)}\r\n\r\n"
        )
        return head.encode() + payload

    async def worker() -> None:
        nonlocal count
        reader, writer = await asyncio.open_connection("127.0.0.1", port)

        async def call(payload: bytes) -> bytes:
            writer.write(framed(payload))
            length = 0
            while (line := await reader.readline()) not in (b"\r\n", b""):
                if line.lower().startswith(b"content-length:"):
                    length = int(line.split(b":")[1])
            return await reader.readexactly(length)

        for op in ops:
            if time.perf_counter() >= deadline:
                break
            *calls, last = op
            for payload in calls:
                _checked(await call(payload))
            if len(op) > 1:  # a confirmation: poll until the status is there
                while not _confirmed(await call(last)):
                    pass
            else:
                _checked(await call(last))
            count += 1
        writer.close()

    await asyncio.gather(*(worker() for _ in range(connections)))
    return count


def _operations(workload: str) -> Iterator[Operation]:
    """The operations of a workload; shared by every connection of a run."""
    if workload == "sendTransaction + confirmation":
        return iter(_transfers(TRANSFERS))
    return itertools.repeat([WORKLOADS[workload]])


def _client(port: int, workload: str, seconds: float, connections: int, out: mp.Queue[int]) -> None:  # type: ignore[type-arg]
    _pin(1)
    out.put(asyncio.run(_load(port, workload, seconds, connections, out)))


def measure(kind: str, workload: str, seconds: float, connections: int) -> tuple[float, float]:
    """(requests/s, share of its CPU the server was busy)."""
    ctx = mp.get_context("spawn")
    ready: mp.Queue[float] = ctx.Queue()
    result: mp.Queue[int] = ctx.Queue()
    stop = ctx.Event()
    server = ctx.Process(target=_serve, args=(kind, ready, stop))
    server.start()
    try:
        port = int(ready.get(timeout=30))
        client = ctx.Process(target=_client, args=(port, workload, seconds, connections, result))
        client.start()
        assert result.get(timeout=120) == -1  # the client has prepared its requests
        start = time.perf_counter()
        count = result.get(timeout=seconds + 60)
        elapsed = time.perf_counter() - start
        client.join()
    finally:
        stop.set()
    busy = ready.get(timeout=10)
    server.join(timeout=10)
    return count / max(elapsed, seconds), min(1.0, busy / elapsed)


def in_process(workload: str, seconds: float) -> float:
    """Operations/s calling the JSON-RPC handler directly (the baseline without network)."""
    handler = RpcHandler(_cluster())
    ops = _operations(workload)
    n, deadline = 0, time.perf_counter() + seconds
    while time.perf_counter() < deadline:
        for op in itertools.islice(ops, 20):
            *calls, last = op
            for payload in calls:
                _checked(handler.handle(payload))
            while len(op) > 1 and not _confirmed(handler.handle(last)):
                pass
            if len(op) == 1:
                _checked(handler.handle(last))
            n += 1
    return n / seconds


def raw_svm(seconds: float) -> float:
    cluster = _cluster()
    n, deadline = 0, time.perf_counter() + seconds
    while time.perf_counter() < deadline:
        for _ in range(1000):
            cluster.svm.get_account(ACCOUNT)
        n += 1000
    return n / seconds


WORKLOADS: dict[str, bytes] = {
    "getAccountInfo": _rpc("getAccountInfo", [str(ACCOUNT), {"encoding": "base64"}]),
    "getLatestBlockhash": _rpc("getLatestBlockhash", []),
    "getMultipleAccounts (100)": _rpc(
        "getMultipleAccounts", [[str(a) for a in MANY], {"encoding": "base64"}]
    ),
    f"getProgramAccounts, filter over {SCANNED:,}": _rpc(
        "getProgramAccounts",
        [
            str(PROGRAM),
            {
                "encoding": "base64",
                "filters": [
                    {"dataSize": 165},
                    {
                        "memcmp": {
                            "offset": 0,
                            "bytes": base64.b64encode(MATCH.to_bytes(8, "little")).decode(),
                            "encoding": "base64",
                        }
                    },
                ],
            },
        ],
    ),
    "sendTransaction + confirmation": b"",
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seconds", type=float, default=3.0)
    parser.add_argument("--connections", type=int, default=8)
    args = parser.parse_args()
    print(
        "localnet RPC throughput, server pinned to 1 CPU, "
        f"{args.connections} keep-alive connections, {args.seconds:.0f} s each "
        f"(CPUs available: {len(os.sched_getaffinity(0))})"
    )
    n, c = args.seconds, args.connections
    echo, echo_busy = measure("echo", "getLatestBlockhash", n, c)
    rows: list[tuple[str, float, float, float]] = []
    for workload in WORKLOADS:
        http, busy = measure("localnet", workload, n, c)
        rows.append((workload, http, busy, in_process(workload, n)))
    width = max(len(name) for name, *_ in rows)
    print(f"  {'workload':<{width}}  {'HTTP op/s':>10}  {'in-process op/s':>15}  HTTP/in-process")
    for name, http, busy, local in rows:
        print(
            f"  {name:<{width}}  {http:>10,.0f}  {local:>15,.0f}  {http / local:>6.0%}"
            f"  (server CPU busy {busy:.0%})"
        )
    print(f"  HTTP framing alone (canned JSON body): {echo:,.0f} req/s (busy {echo_busy:.0%})")
    print(f"  raw LiteSVM get_account: {raw_svm(n / 3):,.0f} calls/s")
    print("A server CPU well under 100% means the load generator, not the server, was the limit.")


if __name__ == "__main__":
    main()
