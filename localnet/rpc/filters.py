"""Account filters of getProgramAccounts and programSubscribe: read and matched.

A filter is `dataSize` (exact length) or `memcmp` (bytes at an offset); an account is
shown when every filter matches, as on a validator.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from localnet.encoding import EncodingError, decode_bytes
from localnet.rpc.errors import invalid_params
from localnet.rpc.params import int_param


@dataclass(frozen=True)
class AccountFilter:
    """One getProgramAccounts / programSubscribe filter."""

    data_size: int | None = None
    memcmp_offset: int = 0
    memcmp_bytes: bytes | None = None

    def matches(self, data: bytes) -> bool:
        if self.data_size is not None:
            return len(data) == self.data_size
        assert self.memcmp_bytes is not None
        end = self.memcmp_offset + len(self.memcmp_bytes)
        return data[self.memcmp_offset : end] == self.memcmp_bytes


def data_matcher(filters: list[AccountFilter]) -> Callable[[bytes], bool] | None:
    """One predicate for all filters (None when there are none), for scans of 100k
    accounts: the size test first, then each memcmp, without a call per filter."""
    if not filters:
        return None
    sizes = {f.data_size for f in filters if f.data_size is not None}
    size = sizes.pop() if len(sizes) == 1 else (-1 if sizes else None)
    memcmps = tuple(
        (f.memcmp_offset, f.memcmp_offset + len(f.memcmp_bytes), f.memcmp_bytes)
        for f in filters
        if f.memcmp_bytes is not None
    )

    def matches(data: bytes) -> bool:
        if size is not None and len(data) != size:
            return False
        for start, end, expected in memcmps:  # noqa: SIM110 (no generator per account)
            if data[start:end] != expected:
                return False
        return True

    return matches


def parse_filters(raw: Any) -> list[AccountFilter]:
    if raw is None:
        return []
    if not isinstance(raw, list) or len(raw) > 4:
        raise invalid_params("Invalid params: filters must be a list of at most 4 filters.")
    filters = []
    for f in raw:
        if not isinstance(f, dict):
            raise invalid_params("Invalid params: a filter must be an object.")
        if "dataSize" in f:
            filters.append(AccountFilter(data_size=int_param(f["dataSize"], "dataSize")))
        elif "memcmp" in f and isinstance(f["memcmp"], dict):
            m = f["memcmp"]
            text = m.get("bytes")
            encoding = m.get("encoding", "base58")
            if not isinstance(text, str) or encoding not in ("base58", "base64"):
                raise invalid_params(
                    "Invalid params: memcmp needs bytes as a base58/base64 string."
                )
            if encoding == "base58" and len(text) > 128:
                raise invalid_params(
                    "Invalid param: encoded binary data should be less than 129 bytes"
                )
            try:
                data = decode_bytes(text, encoding)
            except EncodingError as exc:
                raise invalid_params(f"Invalid param: {exc}") from exc
            filters.append(
                AccountFilter(
                    memcmp_offset=int_param(m.get("offset"), "memcmp.offset"), memcmp_bytes=data
                )
            )
        else:
            raise invalid_params("Invalid params: unknown filter; use dataSize or memcmp.")
    return filters
