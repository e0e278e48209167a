"""Keep secrets out of logs and error messages.

RPC providers put API keys in query strings (`?api-key=`), in path segments
(`/<token>/`) or in user-info (`user:pass@`). Every URL this package prints or logs
goes through `redact_url`; every log event goes through `redact_processor`.
"""

from __future__ import annotations

import re
from collections.abc import MutableMapping
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

_SECRET_QUERY_KEYS = re.compile(
    r"(api[-_]?key|apikey|key|token|auth|secret|access[-_]?token|x-token)", re.I
)
# A path segment that looks like a credential: long and mostly alphanumeric.
_SECRET_SEGMENT = re.compile(r"^[A-Za-z0-9_\-]{16,}$")
_URL_IN_TEXT = re.compile(r"(?:https?|wss?)://[^\s'\"<>]+")
MASK = "***"


def redact_url(url: str) -> str:
    try:
        parts = urlsplit(url)
    except ValueError:
        return MASK
    if not parts.scheme or not parts.netloc:
        return url
    host = parts.hostname or ""
    if parts.port:
        host = f"{host}:{parts.port}"
    if parts.username or parts.password:
        host = f"{MASK}@{host}"
    segments = [
        MASK if _SECRET_SEGMENT.match(seg) and not seg.isalpha() else seg
        for seg in parts.path.split("/")
    ]
    query = urlencode(
        [
            (k, MASK if _SECRET_QUERY_KEYS.fullmatch(k) else v)
            for k, v in parse_qsl(parts.query, keep_blank_values=True)
        ],
        safe="*",
    )
    return urlunsplit((parts.scheme, host, "/".join(segments), query, ""))


def redact_text(text: str) -> str:
    """Redact every URL inside free text (exception messages, log lines)."""
    return _URL_IN_TEXT.sub(lambda m: redact_url(m.group(0)), text)


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

