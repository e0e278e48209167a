"""Drift events: `Program data:` log lines ⇄ dicts shaped like the traces' `events`.

Decoding goes through AnchorPy's event coder; encoding (which the localnet model needs
to write the same log lines as the program) writes the IDL's Borsh fields directly,
since AnchorPy's builder cannot copy solders 0.26 Pubkeys.
"""

from __future__ import annotations

import base64
import hashlib
from collections.abc import Iterable
from typing import Any

from anchorpy_core.idl import IdlTypeDefined, IdlTypeSimple
from solders.pubkey import Pubkey

from keeper.core.errors import DecodeError
from keeper.core.fmt import camel_case
from keeper.program.idl import CODER_EVENTS, DriftIdl
from keeper.program.layout import PRIMITIVE_SIZES

PROGRAM_DATA = "Program data: "


def event_discriminator(name: str) -> bytes:
    return hashlib.sha256(f"event:{name}".encode()).digest()[:8]


class EventCodec:
    def __init__(self, idl: DriftIdl) -> None:
        self._coder = idl.coder.events
        raw_events = {e.name: e for e in idl.idl.events or []}
        self._fields: dict[str, list[tuple[str, Any]]] = {}
        self._enums: dict[str, list[str]] = {}
        for name in CODER_EVENTS:
            event = raw_events[name]
            self._fields[name] = [(f.name, f.ty) for f in event.fields]
        for t in idl.idl.types:
            variants = getattr(t.ty, "variants", None)
            if variants is not None:
                self._enums[t.name] = [v.name for v in variants]

    def decode_line(self, line: str) -> dict[str, Any] | None:
        """A `Program data:` line → {"name", "data"}; None for other lines or events."""
        if not line.startswith(PROGRAM_DATA):
            return None
        try:
            raw = base64.b64decode(line[len(PROGRAM_DATA) :], validate=True)
        except ValueError as exc:
            raise DecodeError(f"malformed Program data line: {exc}") from exc
        if raw[:8] not in {event_discriminator(n) for n in CODER_EVENTS}:
            return None
        event = self._coder.parse(raw)
        return {
            "name": event.name,
            "data": {camel_case(k): _plain(v) for k, v in vars(event.data).items()},
        }

    def decode_logs(self, logs: Iterable[str]) -> list[dict[str, Any]]:
        return [e for e in (self.decode_line(line) for line in logs) if e is not None]

    def encode(self, event: dict[str, Any]) -> bytes:
        name, data = event["name"], event["data"]
        if name not in self._fields:
            raise DecodeError(f"cannot encode event {name!r}")
        out = bytearray(event_discriminator(name))
        for field_name, ty in self._fields[name]:
            value = data[field_name]
            if isinstance(ty, IdlTypeDefined):
                out.append(self._enums[str(ty)].index(value))
            elif ty == IdlTypeSimple.PublicKey:
                out += bytes(Pubkey.from_string(value) if isinstance(value, str) else value)
            else:
                prim = str(ty).rsplit(".", 1)[-1].lower()
                if prim not in PRIMITIVE_SIZES:
                    raise DecodeError(f"{name}.{field_name}: unsupported type {ty}")
                out += int(value).to_bytes(
                    PRIMITIVE_SIZES[prim], "little", signed=prim.startswith("i")
                )
        return bytes(out)

    def encode_line(self, event: dict[str, Any]) -> str:
        return PROGRAM_DATA + base64.b64encode(self.encode(event)).decode()


def _plain(value: Any) -> Any:
    if isinstance(value, Pubkey):
        return str(value)
    if isinstance(value, int):
        return value
    name = type(value).__name__
    return name  # fieldless enum variant
