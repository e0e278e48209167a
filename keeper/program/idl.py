"""The program's IDL, loaded with AnchorPy.

An Anchor 1.x IDL (Velocity; `address` and `metadata.spec` at the top) is first rewritten
into the legacy form AnchorPy 0.21 reads (`keeper.program.idl_convert`); from there on
both formats are handled alike. The full IDL parses with `anchorpy.Idl`, but AnchorPy cannot build a coder for every
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
from keeper.program.idl_convert import is_anchor1, to_legacy
from keeper.program.layout import IdlLayout

CODER_ACCOUNTS = ("State", "SpotMarket", "UserStats", "InsuranceFundStake")
CODER_EVENTS = ("InsuranceFundStakeRecord", "InsuranceFundRecord", "SpotInterestRecord")
#: the instructions the keeper builds (legacy names)
KEEPER_INSTRUCTIONS = (
    "initializeUserStats",
    "initializeInsuranceFundStake",
    "addInsuranceFundStake",
    "requestRemoveInsuranceFundStake",
    "cancelRequestRemoveInsuranceFundStake",
    "removeInsuranceFundStake",
    "settleRevenueToInsuranceFund",
    "depositIntoSpotMarketRevenuePool",
    "updateUserQuoteAssetInsuranceStake",
)


#: IDL account names → the keeper's role for them. Velocity renamed Drift's vault-signing
#: PDA account (`drift_signer` → `velocity_signer`); both play the one role `driftSigner`
#: that the structs, the builders and the localnet know, so nothing downstream needs to
#: know which program it talks to.
ROLE_ALIASES = {"velocitySigner": "driftSigner"}


@dataclass(frozen=True)
class IdlAccountMeta:
    #: the keeper's role for the account (the IDL name unless ROLE_ALIASES renames it)
    name: str
    is_mut: bool
    is_signer: bool
    #: the account's name in the IDL
    idl_name: str = ""


@dataclass(frozen=True)
class IdlInstruction:
    name: str
    accounts: tuple[IdlAccountMeta, ...]
    args: tuple[tuple[str, str], ...]


class DriftIdl:
    """One loaded IDL (legacy form): its coder, instruction metas and error table."""

    def __init__(self, raw: dict[str, Any], source: Path, *, anchor1: bool = False) -> None:
        self.source = source
        #: the IDL in the legacy form (a 1.x file already rewritten)
        self.raw = raw
        #: the file was an Anchor 1.x IDL (rewritten to the legacy form on loading)
        self.anchor1 = anchor1
        self.version = str(raw.get("version", raw.get("metadata", {}).get("version", "?")))
        self.idl = Idl.from_json(json.dumps(raw))
        subset = dict(raw)
        subset["accounts"] = [a for a in raw.get("accounts", []) if a["name"] in CODER_ACCOUNTS]
        subset["events"] = [e for e in raw.get("events", []) if e["name"] in CODER_EVENTS]
        missing = set(CODER_ACCOUNTS) - {a["name"] for a in subset["accounts"]}
        if missing:
            raise ConfigError(f"IDL {source} lacks accounts {sorted(missing)}")
        try:
            self.coder = Coder(Idl.from_json(json.dumps(subset)))
        except Exception:
            # AnchorPy cannot lay out every argument type of a full IDL (a struct whose
            # `padding` and `_padding` both snake-case to `padding`, say): the keeper
            # encodes only the IF instructions, so their coder is enough
            subset["instructions"] = [
                ix for ix in raw["instructions"] if ix["name"] in KEEPER_INSTRUCTIONS
            ]
            self.coder = Coder(Idl.from_json(json.dumps(subset)))
        hashed = self.coder.instruction.sighash_to_name
        for ix in subset["instructions"]:
            if "discriminator" in ix and bytes(ix["discriminator"]) not in hashed:
                raise ConfigError(
                    f"IDL {source}: AnchorPy derives another discriminator for {ix['name']} "
                    f"than the IDL's {bytes(ix['discriminator']).hex()}"
                )
        self.layout = IdlLayout(raw, CODER_ACCOUNTS)
        #: zero-copy accounts (a 1.x IDL says so): the program loads the leading
        #: `layout.sizes[name]` bytes of a longer account, so longer data is accepted
        self.zero_copy_accounts = frozenset(
            a["name"]
            for a in raw.get("accounts", [])
            if str(a.get("anchor1", {}).get("serialization", "")).startswith("bytemuck")
        )
        self.instructions: dict[str, IdlInstruction] = {}
        for ix in raw["instructions"]:
            metas = tuple(
                IdlAccountMeta(
                    ROLE_ALIASES.get(a["name"], a["name"]),
                    bool(a.get("isMut")),
                    bool(a.get("isSigner")),
                    a["name"],
                )
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
        raise ConfigError(
            f"IDL {path} is not a legacy-format Anchor IDL, nor an Anchor 1.x one (no instructions)"
        )
    anchor1 = is_anchor1(raw)
    try:
        return DriftIdl(to_legacy(raw) if anchor1 else raw, path, anchor1=anchor1)
    except ConfigError:
        raise
    except Exception as exc:  # anchorpy raises bare Exceptions for malformed IDLs
        raise ConfigError(f"AnchorPy cannot load IDL {path}: {exc}") from exc
