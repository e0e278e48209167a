from __future__ import annotations

import json
from pathlib import Path

import pytest
from solders.keypair import Keypair

from keeper.app.solana_config import load_cli_config, load_keypair, resolve_url, websocket_url_for
from keeper.cluster.redact import redact_processor, redact_text, redact_url
from keeper.core.errors import ConfigError


def test_monikers_and_urls() -> None:
    assert resolve_url("m") == "https://api.mainnet-beta.solana.com"
    assert resolve_url("localhost") == "http://127.0.0.1:8899"
    assert resolve_url("https://rpc.example.com/x") == "https://rpc.example.com/x"
    with pytest.raises(ConfigError, match="neither an http"):
        resolve_url("ftp://nope")
    assert websocket_url_for("http://127.0.0.1:8899") == "ws://127.0.0.1:8900"
    assert (
        websocket_url_for("https://rpc.example.com/?api-key=1")
        == "wss://rpc.example.com/?api-key=1"
    )


@pytest.mark.parametrize(
    ("url", "secret"),
    [
        (
            "https://mainnet.helius-rpc.com/?api-key=0b1c2d3e-4f50-6172-8394-a5b6c7d8e9f0",
            "0b1c2d3e",
        ),
        (
            "https://solemn-x.solana-mainnet.quiknode.pro/4f8a9b0c1d2e3f4a5b6c7d8e9f0a1b2c/",
            "4f8a9b0c1d2e",
        ),
        ("https://user:hunter2@rpc.example.com/", "hunter2"),
        ("wss://rpc.example.com/ws?token=abcdef123456", "abcdef123456"),
    ],
)
def test_redaction_removes_keys(url: str, secret: str) -> None:
    assert secret not in redact_url(url)
    assert secret not in redact_text(f"request to {url} failed: 429")
    event = redact_processor(None, "info", {"event": "rpc", "url": url, "keypair": "[1,2,3]"})
    assert secret not in str(event) and "[1,2,3]" not in str(event)


def test_redaction_keeps_plain_urls() -> None:
    assert redact_url("http://127.0.0.1:8899") == "http://127.0.0.1:8899"
    assert redact_url("https://api.devnet.solana.com") == "https://api.devnet.solana.com"


def test_cli_config(tmp_path: Path) -> None:
    cfg = tmp_path / "config.yml"
    cfg.write_text(
        "---\njson_rpc_url: \"http://127.0.0.1:8899\"\nwebsocket_url: ''\n"
        'keypair_path: /tmp/id.json\naddress_labels:\n  "1111": System Program\ncommitment: confirmed\n'
    )
    c = load_cli_config(cfg)
    assert c.json_rpc_url == "http://127.0.0.1:8899" and c.keypair_path == "/tmp/id.json"
    cfg.write_text("commitment: max\n")
    with pytest.raises(ConfigError, match="commitment"):
        load_cli_config(cfg)
    with pytest.raises(ConfigError, match="does not exist"):
        load_cli_config(tmp_path / "none.yml")


def test_keypair_files(tmp_path: Path) -> None:
    kp = Keypair()
    good = tmp_path / "id.json"
    good.write_text(json.dumps(list(bytes(kp))))
    assert load_keypair(good).pubkey() == kp.pubkey()
    cases = {
        "missing.json": (None, "does not exist"),
        "text.json": ("hello", "is not JSON"),
        "short.json": (json.dumps([1, 2, 3]), "array of 64 bytes, found 3"),
        "range.json": (json.dumps([300] * 64), "not bytes"),
        "mismatch.json": (
            json.dumps(list(bytes(kp))[:32] + list(bytes(Keypair()))[32:]),
            "does not match|not a valid",
        ),
    }
    for name, (content, message) in cases.items():
        path = tmp_path / name
        if content is not None:
            path.write_text(content)
        with pytest.raises(ConfigError, match=message) as info:
            load_keypair(path)
        assert str(list(bytes(kp))[:8])[1:-1] not in str(info.value)
