"""Requests per second the localnet RPC server sustains on one core, over loopback.

Usage: PYTHONPATH=. python benchmarks/localnet_rps.py [--seconds 3] [--connections 8]

The server runs in its own process pinned to one CPU; the load generator runs in another
process on another CPU (when there is one) with keep-alive HTTP/1.1 connections and a
minimal client, so the figure is the server's, not httpx's. Printed next to it:
  - baseline: the same HTTP framing returning a canned JSON body (the ceiling the HTTP
    layer allows on this machine);
  - in-process: RpcHandler.handle() called directly (JSON-RPC + LiteSVM, no network);
  - raw LiteSVM get_account calls (the SVM's own ceiling).
Bounded: about 4 × seconds + 2 s in total.
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

from solders.keypair import Keypair

from localnet.cluster import Cluster, ClusterConfig
from localnet.rpc import RpcHandler
from localnet.server import LocalnetServer, _read_request, _response

ACCOUNT = Keypair.from_seed(bytes(32)).pubkey()


def _pin(cpu: int) -> None:
    cpus = sorted(os.sched_getaffinity(0))
    os.sched_setaffinity(0, {cpus[cpu % len(cpus)]})


def _cluster() -> Cluster:
    cluster = Cluster(ClusterConfig(manual_slots=True))
    cluster.airdrop(ACCOUNT, 10**9)
    return cluster


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


async def _load(port: int, payload: bytes, seconds: float, connections: int) -> int:
    request = (
        f"POST / HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
        f"Content-Length: {len(payload)}\r\n\r\n"
    ).encode() + payload
    deadline = time.perf_counter() + seconds
    count = 0

    async def worker() -> None:
        nonlocal count
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        while time.perf_counter() < deadline:
            writer.write(request)
            length = 0
            while (line := await reader.readline()) not in (b"\r\n", b""):
                if line.lower().startswith(b"content-length:"):
                    length = int(line.split(b":")[1])
            await reader.readexactly(length)
            count += 1
        writer.close()

    await asyncio.gather(*(worker() for _ in range(connections)))
    return count


def _client(
    port: int, payload: bytes, seconds: float, connections: int, out: mp.Queue[int]
) -> None:  # type: ignore[type-arg]
    _pin(1)
    out.put(asyncio.run(_load(port, payload, seconds, connections)))


def measure(kind: str, payload: bytes, seconds: float, connections: int) -> tuple[float, float]:
    """(requests/s, share of its CPU the server was busy)."""
    ctx = mp.get_context("spawn")
    ready: mp.Queue[float] = ctx.Queue()
    result: mp.Queue[int] = ctx.Queue()
    stop = ctx.Event()
    server = ctx.Process(target=_serve, args=(kind, ready, stop))
    server.start()
    try:
        port = int(ready.get(timeout=30))
        client = ctx.Process(target=_client, args=(port, payload, seconds, connections, result))
        start = time.perf_counter()
        client.start()
        count = result.get(timeout=seconds + 30)
        elapsed = time.perf_counter() - start
        client.join()
    finally:
        stop.set()
    busy = ready.get(timeout=10)
    server.join(timeout=10)
    return count / max(elapsed, seconds), min(1.0, busy / elapsed)


def in_process(payload: bytes, seconds: float) -> float:
    handler = RpcHandler(_cluster())
    n, deadline = 0, time.perf_counter() + seconds
    while time.perf_counter() < deadline:
        for _ in range(100):
            handler.handle(payload)
        n += 100
    return n / seconds


def raw_svm(seconds: float) -> float:
    cluster = _cluster()
    n, deadline = 0, time.perf_counter() + seconds
    while time.perf_counter() < deadline:
        for _ in range(1000):
            cluster.svm.get_account(ACCOUNT)
        n += 1000
    return n / seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seconds", type=float, default=3.0)
    parser.add_argument("--connections", type=int, default=8)
    args = parser.parse_args()
    get_account = json.dumps(
        {
            "jsonrpc": "2.0",
            "id": 1,
            "method": "getAccountInfo",
            "params": [str(ACCOUNT), {"encoding": "base64"}],
        }
    ).encode()
    blockhash = json.dumps({"jsonrpc": "2.0", "id": 1, "method": "getLatestBlockhash"}).encode()
    print(
        "localnet RPC throughput, server pinned to 1 CPU, "
        f"{args.connections} keep-alive connections, {args.seconds:.0f} s each "
        f"(CPUs available: {len(os.sched_getaffinity(0))})"
    )
    n, c = args.seconds, args.connections
    rows: list[tuple[str, float, float | None]] = [
        ("HTTP baseline (canned JSON body)", *measure("echo", blockhash, n, c)),
        ("getAccountInfo over HTTP", *measure("localnet", get_account, n, c)),
        ("getLatestBlockhash over HTTP", *measure("localnet", blockhash, n, c)),
        ("getAccountInfo in-process (no network)", in_process(get_account, n / 3), None),
        ("getLatestBlockhash in-process (no network)", in_process(blockhash, n / 3), None),
        ("raw LiteSVM get_account", raw_svm(n / 3), None),
    ]
    width = max(len(name) for name, _, _ in rows)
    for name, rate, busy in rows:
        load = f"  (server CPU busy {busy:.0%})" if busy is not None else ""
        print(f"  {name:<{width}}  {rate:>12,.0f} req/s{load}")
    print("A server CPU well under 100% means the load generator, not the server, was the limit.")


if __name__ == "__main__":
    main()
