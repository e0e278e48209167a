"""Cold start of `drift-if`: `--help`, and `status` up to its first RPC call.

Usage: python benchmarks/cli_cold_start.py [--runs 7]

Each figure is the median wall time of fresh interpreter processes, printed next to
`python -c pass` measured in the same run (the interpreter's own start on this
machine), so the CLI's own share is the difference. For `status`, a loopback HTTP
server records when the first JSON-RPC request arrives and answers it with an error
(the CLI then exits 1); the time is spawn → first request, the part a staker waits
for before anything can happen on the network. The budget is 300 ms for both.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path
from typing import ClassVar

ROOT = Path(__file__).resolve().parents[1]
BUDGET_MS = 300.0


class _FirstCall(BaseHTTPRequestHandler):
    arrived: ClassVar[list[float]] = []

    def do_POST(self) -> None:
        _FirstCall.arrived.append(time.perf_counter())
        self.rfile.read(int(self.headers.get("Content-Length", 0)))
        body = b'{"jsonrpc":"2.0","id":1,"error":{"code":-32601,"message":"benchmark"}}'
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *_args: object) -> None:
        pass


def _env(home: str) -> dict[str, str]:
    env = {**os.environ, "HOME": home, "PYTHONPATH": str(ROOT)}
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    return env


def _wall(argv: list[str], env: dict[str, str]) -> float:
    start = time.perf_counter()
    subprocess.run(argv, env=env, capture_output=True, check=False)
    return (time.perf_counter() - start) * 1000


def _to_first_call(argv: list[str], env: dict[str, str]) -> float:
    _FirstCall.arrived.clear()
    start = time.perf_counter()
    subprocess.run(argv, env=env, capture_output=True, check=False, timeout=60)
    if not _FirstCall.arrived:
        raise SystemExit(f"no RPC call arrived from {' '.join(argv)}")
    return (_FirstCall.arrived[0] - start) * 1000


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=7)
    args = parser.parse_args()
    server = HTTPServer(("127.0.0.1", 0), _FirstCall)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    url = f"http://127.0.0.1:{server.server_address[1]}"
    py = sys.executable
    cli = [py, "-m", "keeper.app.cli"]
    with tempfile.TemporaryDirectory() as home:
        env = _env(home)
        # one warm-up each: the .pyc files are written once, as after an install
        _wall([py, "-c", "pass"], env)
        _wall([*cli, "--help"], env)
        _to_first_call([*cli, "status", "-u", url], env)
        rows = {
            "python -c pass": [_wall([py, "-c", "pass"], env) for _ in range(args.runs)],
            "drift-if --help": [_wall([*cli, "--help"], env) for _ in range(args.runs)],
            "drift-if status (to first RPC call)": [
                _to_first_call([*cli, "status", "-u", url], env) for _ in range(args.runs)
            ],
        }
    server.shutdown()
    base = statistics.median(rows["python -c pass"])
    print(f"median of {args.runs} runs, budget {BUDGET_MS:.0f} ms")
    worst = 0.0
    for name, times in rows.items():
        med = statistics.median(times)
        extra = "" if name.startswith("python") else f"  (+{med - base:.0f} ms over python)"
        print(f"  {name:38s} {med:7.1f} ms{extra}")
        if not name.startswith("python"):
            worst = max(worst, med)
    print("within budget" if worst <= BUDGET_MS else "OVER BUDGET")
    return 0 if worst <= BUDGET_MS else 1


if __name__ == "__main__":
    raise SystemExit(main())
