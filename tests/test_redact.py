"""Redaction, table-driven: every common provider form of a secret is masked, nothing raises."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from keeper.cluster.redact import (
    MASK,
    redact_processor,
    redact_text,
    redact_url,
)

SECRET = "Zq8SECRETk3y"

#: (provider form, URL with SECRET in it)
SECRET_FORMS = [
    ("query api-key (Helius)", f"https://mainnet.helius-rpc.com/?api-key={SECRET}"),
    ("query api_key", f"https://rpc.example.com/?api_key={SECRET}"),
    ("query apikey", f"https://rpc.example.com/?apikey={SECRET}&commitment=confirmed"),
    ("query x-api-key", f"https://rpc.example.com/?x-api-key={SECRET}"),
    ("query token", f"wss://rpc.example.com/ws?token={SECRET}"),
    ("query key", f"https://rpc.example.com/?key={SECRET}"),
    ("query access_token", f"https://rpc.example.com/?access_token={SECRET}"),
    ("query key, second position", f"https://rpc.example.com/?a=1&apiKey={SECRET}"),
    ("path token (QuickNode)", f"https://name.solana-mainnet.quiknode.pro/{SECRET}/"),
    ("path key after version (Alchemy)", f"https://solana-mainnet.g.alchemy.com/v2/{SECRET}"),
    ("letters-only path key", "https://rpc.example.com/v2/SECRETPATHKEY"),
    ("short path token", "https://rpc.example.com/abc123"),
    ("path after api-key (Syndica)", f"https://solana-mainnet.api.syndica.io/api-key/{SECRET}"),
    ("path token (Triton)", f"https://name.rpcpool.com/{SECRET}"),
    ("path key after chain (Ankr)", f"https://rpc.ankr.com/solana/{SECRET}"),
    ("basic auth password", f"https://user:{SECRET}@rpc.example.com/"),
    ("basic auth user only", f"https://{SECRET}@rpc.example.com/"),
    ("fragment", f"https://rpc.example.com/#{SECRET}"),
    ("port and path", f"https://rpc.example.com:8443/{SECRET}"),
]


@pytest.mark.parametrize(("form", "url"), SECRET_FORMS, ids=[f for f, _ in SECRET_FORMS])
def test_secret_forms_are_masked(form: str, url: str) -> None:
    secret = "SECRETPATHKEY" if "SECRETPATHKEY" in url else "abc123" if "abc123" in url else SECRET
    redacted = redact_url(url)
    assert secret not in redacted and MASK in redacted, form
    assert secret not in redact_text(f"POST {url} failed: 429 Too Many Requests"), form
    event = redact_processor(None, "info", {"event": "rpc error", "url": url, "error": f"at {url}"})
    assert secret not in str(event), form


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1:8899",
        "http://localhost:8899/",
        "https://api.devnet.solana.com",
        "https://api.mainnet-beta.solana.com/",
        "ws://127.0.0.1:8900",
        "https://rpc.example.com/?commitment=confirmed",
    ],
)
def test_plain_urls_are_unchanged(url: str) -> None:
    assert redact_url(url) == url


def test_the_daemon_crash_url_does_not_raise() -> None:
    """`http://127.0.0.1:8899: …` (an error message) once raised inside the log processor."""
    text = "http://127.0.0.1:8899: [Errno 111] Connection refused"
    assert redact_text(text) == text
    assert redact_url("http://127.0.0.1:8899:") == "http://127.0.0.1:8899:"
    assert redact_processor(None, "error", {"event": "pass failed", "error": text})["error"] == text


@given(st.text())
def test_redaction_never_raises(text: str) -> None:
    redact_text(text)
    redact_url(text)
    redact_url("https://" + text)
    redact_processor(None, "info", {"event": text, "url": "http://" + text})


def test_keypair_fields_are_dropped() -> None:
    event = redact_processor(None, "info", {"event": "x", "keypair": "[1,2,3]", "secret_key": "k"})
    assert event["keypair"] == MASK and event["secret_key"] == MASK
