"""Keep secrets out of logs and error messages.

RPC providers put API keys in query strings (`?api-key=`), in path segments
(`/<token>/`) or in user-info (`user:pass@`). Every URL this package prints or logs
goes through `redact_url`; every log event goes through `redact_processor`.
"""

from __future__ import annotations

import re
from collections.abc import MutableMapping
from typing import Any

#: A query key that carries a credential: api-key, api_key, apikey, x-api-key, token,
#: key, access_token, auth, secret, password, signature, ... (matched anywhere in the key).
_SECRET_QUERY_KEY = re.compile(r"key|token|auth|secret|pass|sig|cred|session", re.I)
#: Path segments hosted RPC providers use that are not secrets. Every other segment of a
#: remote URL may be a credential (`/v2/<key>`, `/<token>/`, `/api-key/<key>`) and is
#: masked: a log line without an endpoint's path is a small price for never leaking one.
_PUBLIC_SEGMENT = re.compile(
    r"(v\d+(\.\d+)*|solana|sol|rpc|api|ws|wss|http|https|json-?rpc|mainnet(-beta)?|devnet|"
    r"testnet|localnet|api-?key|token|key|public|health)",
    re.I,
)
_LOOPBACK_HOSTS = ("localhost", "127.0.0.1", "::1", "[::1]")
_URL_IN_TEXT = re.compile(r"(?:https?|wss?)://[^\s'\"<>]+")
MASK = "***"


def _is_loopback(host: str) -> bool:
    return host.lower() in _LOOPBACK_HOSTS or host.startswith("127.")


def redact_url(url: str) -> str:
    """The URL with every credential masked; never raises (it runs inside error handlers).

    Handles query credentials, user-info (`user:pass@`) and secret path segments of
    hosted providers. Loopback URLs keep their paths (a local node has no secret).
    """
    try:
        return _redact_url(url)
    except Exception:  # a redactor that raises would turn a logged fault into a crash
        return MASK


def _redact_url(url: str) -> str:
    # Split by hand: urlsplit raises on ports like "8899:" and would re-encode the query.
    scheme, sep, rest = url.partition("://")
    if not sep or not scheme.isalpha():
        return url
    rest, hash_, fragment = rest.partition("#")
    rest, qmark, query = rest.partition("?")
    authority, slash, path = rest.partition("/")
    _userinfo, at, hostport = authority.rpartition("@")
    if hostport.startswith("["):
        host = hostport[: hostport.find("]") + 1]
    else:
        host = hostport.split(":", 1)[0]
    out = f"{scheme}://{MASK + '@' if at else ''}{hostport}"
    if slash:
        segments = path.split("/")
        if not _is_loopback(host):
            segments = [s if not s or _PUBLIC_SEGMENT.fullmatch(s) else MASK for s in segments]
        out += "/" + "/".join(segments)
    if qmark:
        pairs = []
        for item in query.split("&"):
            key, eq, _value = item.partition("=")
            pairs.append(f"{key}={MASK}" if eq and _SECRET_QUERY_KEY.search(key) else item)
        out += "?" + "&".join(pairs)
    if hash_:
        out += "#" + (MASK if fragment else "")
    return out


def redact_text(text: str) -> str:
    """Redact every URL inside free text (exception messages, log lines); never raises."""
    try:
        return _URL_IN_TEXT.sub(lambda m: redact_url(m.group(0)), text)
    except Exception:  # pragma: no cover - re.sub on a str does not fail; belt and braces
        return MASK


def redact_processor(
    _logger: Any, _method: str, event: MutableMapping[str, Any]
) -> MutableMapping[str, Any]:
    """structlog processor: redact URLs in every string value; drop keypair material."""
    for key, value in list(event.items()):
        if key in ("keypair", "secret_key", "secret", "private_key"):
            event[key] = MASK
        elif isinstance(value, str):
            event[key] = redact_text(value)
    return event

