"""Byte offsets of account fields, computed from the IDL's type definitions.

AnchorPy decodes Drift accounts, but its encoder cannot copy solders 0.26 `Pubkey`s,
so views are encoded by writing each field at the offset this module derives from the
same IDL. Zero-copy Drift accounts are packed without implicit padding, which is what
makes IDL-packed offsets equal to the program's (SpotMarket 776 bytes, market index at
684).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from keeper.core.errors import ConfigError

PRIMITIVE_SIZES = {
    "bool": 1,
    "u8": 1,
    "i8": 1,
    "u16": 2,
    "i16": 2,
    "u32": 4,
    "i32": 4,
    "f32": 4,
    "u64": 8,
    "i64": 8,
    "f64": 8,
    "u128": 16,
    "i128": 16,
    "publicKey": 32,
}


@dataclass(frozen=True)
class FieldSlot:
    offset: int
    size: int
    kind: str  # primitive name, "enum" or "bytes"

    @property
    def signed(self) -> bool:
        return self.kind.startswith("i")


class IdlLayout:
    """Flattened field offsets (including the 8-byte discriminator) per account."""

    def __init__(self, raw_idl: dict[str, Any], accounts: tuple[str, ...]) -> None:
        self._types = {t["name"]: t["type"] for t in raw_idl.get("types", [])}
        self._types.update({a["name"]: a["type"] for a in raw_idl.get("accounts", [])})
        self.slots: dict[str, dict[str, FieldSlot]] = {}
        self.sizes: dict[str, int] = {}
        for name in accounts:
            slots: dict[str, FieldSlot] = {}
            size = self._walk_struct(self._types[name], "", 8, slots)
            self.slots[name] = slots
            self.sizes[name] = size + 8

    def _size_of(self, ty: Any) -> int:
        return self._walk(ty, "", 0, {})

    def _walk_struct(
        self, typedef: dict[str, Any], prefix: str, offset: int, out: dict[str, FieldSlot]
    ) -> int:
        if typedef.get("kind") != "struct":
            raise ConfigError(f"IDL layout: {prefix or 'account'} is not a struct")
        start = offset
        for fld in typedef["fields"]:
            path = f"{prefix}{fld['name']}"
            offset += self._walk(fld["type"], path, offset, out)
        return offset - start

    def _walk(self, ty: Any, path: str, offset: int, out: dict[str, FieldSlot]) -> int:
        if isinstance(ty, str):
            if ty not in PRIMITIVE_SIZES:
                raise ConfigError(f"IDL layout: variable-size type {ty!r} at {path}")
            if path:
                out[path] = FieldSlot(offset, PRIMITIVE_SIZES[ty], ty)
            return PRIMITIVE_SIZES[ty]
        if "array" in ty:
            inner, count = ty["array"]
            size = self._size_of(inner) * int(count)
            if path:
                out[path] = FieldSlot(offset, size, "bytes")
            return size
        if "defined" in ty:
            typedef = self._types[ty["defined"]]
            if typedef["kind"] == "enum":
                if any(v.get("fields") for v in typedef["variants"]):
                    raise ConfigError(f"IDL layout: enum with fields at {path}")
                if path:
                    out[path] = FieldSlot(offset, 1, "enum")
                return 1
            return self._walk_struct(typedef, f"{path}.", offset, out)
        raise ConfigError(f"IDL layout: unsupported type {ty!r} at {path}")

    def read(self, account: str, data: bytes, path: str) -> int | bytes:
        slot = self.slots[account][path]
        chunk = data[slot.offset : slot.offset + slot.size]
        if slot.kind in ("publicKey", "bytes"):
            return chunk
        return int.from_bytes(chunk, "little", signed=slot.signed)

    def write(self, account: str, data: bytearray, path: str, value: int | bytes) -> None:
        slot = self.slots[account][path]
        if isinstance(value, bytes):
            if len(value) != slot.size:
                raise ValueError(f"{account}.{path}: {len(value)} bytes, slot holds {slot.size}")
            chunk = value
        else:
            try:
                chunk = int(value).to_bytes(slot.size, "little", signed=slot.signed)
            except OverflowError:
                raise ValueError(f"{account}.{path}: {value} does not fit {slot.kind}") from None
        data[slot.offset : slot.offset + slot.size] = chunk
