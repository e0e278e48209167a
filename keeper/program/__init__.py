"""The Drift program binding: the IDL through AnchorPy, layouts, codec, events, builders.

The only layer that imports AnchorPy. `__all__` is the surface the localnet may use.
"""

from __future__ import annotations

from keeper.program.codec import AccountCodec
from keeper.program.events import EventCodec
from keeper.program.idl import KEEPER_INSTRUCTIONS, DriftIdl, load_idl
from keeper.program.layout import PRIMITIVE_SIZES

__all__ = [
    "KEEPER_INSTRUCTIONS",
    "PRIMITIVE_SIZES",
    "AccountCodec",
    "DriftIdl",
    "EventCodec",
    "load_idl",
]
