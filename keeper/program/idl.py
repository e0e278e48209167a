"""The Drift IDL, loaded with AnchorPy.

The full IDL parses with `anchorpy.Idl`, but AnchorPy cannot build a coder for every
account in it (newer accounts such as `LPPool` repeat a field name). The keeper only
needs the IF accounts and events, so the coder is built over that subset of the same
file; instruction layouts, account metas and the error table come from the full IDL.
"""

from __future__ import annotations

import functools
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from anchorpy.coder.coder import Coder
from anchorpy_core.idl import Idl

from keeper.core.errors import ConfigError, ErrorTable
from keeper.program.layout import IdlLayout

CODER_ACCOUNTS = ("State", "SpotMarket", "UserStats", "InsuranceFundStake")
CODER_EVENTS = ("InsuranceFundStakeRecord", "InsuranceFundRecord", "SpotInterestRecord")


@dataclass(frozen=True)
class IdlAccountMeta:
    name: str
    is_mut: bool
    is_signer: bool


@dataclass(frozen=True)
class IdlInstruction:
    name: str
    accounts: tuple[IdlAccountMeta, ...]
    args: tuple[tuple[str, str], ...]


class DriftIdl:
    """One loaded IDL: its coder, instruction metas and error table."""

    def __init__(self, raw: dict[str, Any], source: Path) -> None:
        self.source = source
        self.version = str(raw.get("version", raw.get("metadata", {}).get("version", "?")))
        self.idl = Idl.from_json(json.dumps(raw))
        subset = dict(raw)
        subset["accounts"] = [a for a in raw.get("accounts", []) if a["name"] in CODER_ACCOUNTS]
        subset["events"] = [e for e in raw.get("events", []) if e["name"] in CODER_EVENTS]
        missing = set(CODER_ACCOUNTS) - {a["name"] for a in subset["accounts"]}
        if missing:
            raise ConfigError(f"IDL {source} lacks accounts {sorted(missing)}")
        self.coder = Coder(Idl.from_json(json.dumps(subset)))
        self.layout = IdlLayout(raw, CODER_ACCOUNTS)
        self.instructions: dict[str, IdlInstruction] = {}
        for ix in raw["instructions"]:
            metas = tuple(
                IdlAccountMeta(a["name"], bool(a.get("isMut")), bool(a.get("isSigner")))
                for a in ix["accounts"]
                if "accounts" not in a  # nested account groups are not used by IF instructions
            )
            args = tuple((a["name"], json.dumps(a["type"])) for a in ix["args"])
            self.instructions[ix["name"]] = IdlInstruction(ix["name"], metas, args)
        self.errors = ErrorTable({e["code"]: (e["name"], e.get("msg", "")) for e in raw["errors"]})

    def instruction(self, name: str) -> IdlInstruction:
        try:
            return self.instructions[name]
        except KeyError:
            raise ConfigError(
                f"the IDL {self.source.name} (v{self.version}) has no instruction {name!r}"
            ) from None


@functools.lru_cache(maxsize=8)
def load_idl(path: Path) -> DriftIdl:
    try:
        raw = json.loads(path.read_text())
    except OSError as exc:
        raise ConfigError(f"cannot read IDL {path}: {exc.strerror}") from exc
    except ValueError as exc:
        raise ConfigError(f"IDL {path} is not valid JSON: {exc}") from exc
    if not isinstance(raw, dict) or "instructions" not in raw:
        raise ConfigError(f"IDL {path} is not a legacy-format Anchor IDL")
    try:
        return DriftIdl(raw, path)
    except ConfigError:
        raise
    except Exception as exc:  # anchorpy raises bare Exceptions for malformed IDLs
        raise ConfigError(f"AnchorPy cannot load IDL {path}: {exc}") from exc
