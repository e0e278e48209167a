#!/usr/bin/env bash
# The installed form, as a user gets it: build the wheel, install it (not editable) into
# a fresh virtual environment, and run every entry point from outside the checkout.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-python3}
work=$(mktemp -d)
trap 'kill "${localnet_pid:-}" 2>/dev/null || true; rm -rf "$work"' EXIT
"$PY" -m venv "$work/venv"
"$work/venv/bin/python" -m pip install --quiet --upgrade pip >/dev/null
"$work/venv/bin/python" -m pip wheel --quiet --no-deps -w "$work/dist" . 2>"$work/build.log" \
  || { cat "$work/build.log"; exit 1; }
if grep -qi "deprecat" "$work/build.log"; then
  echo "check_install: the wheel build warns:"; cat "$work/build.log"; exit 1
fi
"$work/venv/bin/python" -m pip install --quiet "$work"/dist/*.whl
bin="$work/venv/bin"
cd "$work"   # nothing of the checkout is importable from here
"$bin/drift-if" --help >/dev/null
"$bin/drift-if" profiles >/dev/null
"$bin/drift-if" inspect b_two --step 8 >/dev/null
port=$("$bin/python" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
"$bin/drift-if-localnet" --port "$port" --ws-port 0 --keypairs-dir "$work/keys" >"$work/localnet.log" 2>&1 &
localnet_pid=$!
"$bin/python" - "$port" <<'PY'
import json, sys, time, urllib.request
url = f"http://127.0.0.1:{sys.argv[1]}"
body = json.dumps({"jsonrpc": "2.0", "id": 1, "method": "getHealth"}).encode()
deadline = time.monotonic() + 60
while True:
    try:
        req = urllib.request.Request(url, body, {"Content-Type": "application/json"})
        answer = json.load(urllib.request.urlopen(req, timeout=2))
        if answer.get("result") == "ok":
            break
    except OSError:
        pass
    if time.monotonic() > deadline:
        sys.exit("check_install: drift-if-localnet did not answer getHealth within 60 s")
    time.sleep(0.2)
PY
echo "check_install: wheel installs; drift-if --help, profiles, inspect and drift-if-localnet (getHealth) work"
