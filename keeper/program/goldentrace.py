"""Reader for golden traces (`drift-if-golden-trace/1`) recorded from the real program.

The traces are the ground truth for instruction bytes, account bytes and the share
math. This module only parses them into frozen records; it judges nothing. Unknown
step kinds or a wrong format are errors, so a trace we cannot read fails loudly
instead of being skipped.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from solders.keypair import Keypair
from solders.pubkey import Pubkey

from keeper.core.views import RawAccount
from keeper.data import bundled_path

FORMAT = "drift-if-golden-trace/1"
BUNDLED_TRACE_DIR = bundled_path("traces")


class TraceFormatError(ValueError):
    """The file is not a golden trace this reader understands."""


def trace_dir() -> Path:
    """The folder named by DRIFT_IF_TRACE_DIR, else the bundled public traces."""
    env = os.environ.get("DRIFT_IF_TRACE_DIR")
    return Path(env) if env else BUNDLED_TRACE_DIR


def trace_paths(folder: Path | None = None) -> list[Path]:
    folder = folder or trace_dir()
    if not folder.is_dir():
        raise TraceFormatError(f"trace folder {folder} does not exist")
    paths = sorted(p for p in folder.glob("*.json") if p.is_file())
    if not paths:
        raise TraceFormatError(f"trace folder {folder} holds no *.json trace")
    return paths


def keypair_from_seed_label(seed_label: str) -> Keypair:
    """Trace keypairs are ed25519 with seed sha256("drift-if-golden/v1/" + label)."""
    seed = hashlib.sha256(("drift-if-golden/v1/" + seed_label).encode()).digest()
    return Keypair.from_seed(seed)


@dataclass(frozen=True)
class TraceClock:
    slot: int
    unix_timestamp: int
    epoch: int

    @classmethod
    def parse(cls, obj: dict[str, Any]) -> TraceClock:
        return cls(int(obj["slot"]), int(obj["unixTimestamp"]), int(obj["epoch"]))


@dataclass(frozen=True)
class TraceAccount:
    address: Pubkey
    label: str
    exists: bool
    owner: Pubkey | None = None
    lamports: int = 0
    executable: bool = False
    rent_epoch: int = 0
    data: bytes | None = field(default=None, repr=False)
    omitted: str | None = None
    decoded: dict[str, Any] | None = field(default=None, repr=False, compare=False)

    @classmethod
    def parse(cls, obj: dict[str, Any]) -> TraceAccount:
        exists = bool(obj.get("exists", True))
        data = base64.b64decode(obj["data"]) if obj.get("data") is not None else None
        if exists and data is not None and "dataLen" in obj and len(data) != obj["dataLen"]:
            raise TraceFormatError(f"{obj.get('label')}: dataLen {obj['dataLen']} != {len(data)}")
        return cls(
            address=Pubkey.from_string(obj["pubkey"]),
            label=str(obj.get("label", "")),
            exists=exists,
            owner=Pubkey.from_string(obj["owner"]) if obj.get("owner") else None,
            lamports=int(obj.get("lamports", 0)),
            executable=bool(obj.get("executable", False)),
            rent_epoch=int(obj.get("rentEpoch", 0)),
            data=data,
            omitted=obj.get("omitted"),
            decoded=obj.get("decoded"),
        )

    @property
    def has_data(self) -> bool:
        return self.exists and self.data is not None and self.owner is not None

    def raw(self) -> RawAccount:
        if not self.has_data:
            raise TraceFormatError(f"{self.label} ({self.address}) has no account data")
        assert self.owner is not None and self.data is not None
        return RawAccount(
            self.address, self.owner, self.lamports, self.data, self.executable, self.rent_epoch
        )


@dataclass(frozen=True)
class TraceMeta:
    role: str
    pubkey: Pubkey
    is_signer: bool
    is_writable: bool
    label: str


@dataclass(frozen=True)
class TraceResult:
    ok: bool
    code: int | None = None
    name: str | None = None
    message: str | None = None
    error_logs: tuple[str, ...] = ()
    transaction_error: Any = None


@dataclass(frozen=True)
class InstructionStep:
    index: int
    note: str
    instruction: str
    program_id: Pubkey
    args: dict[str, Any]
    data: bytes
    accounts: tuple[TraceMeta, ...]
    signers: tuple[Pubkey, ...]
    fee_payer: Pubkey
    clock: TraceClock
    pre_state: tuple[TraceAccount, ...]
    post_state: tuple[TraceAccount, ...]
    logs: tuple[str, ...]
    events: tuple[dict[str, Any], ...]
    compute_units: int | None
    result: TraceResult

    kind = "instruction"

    def pre(self, role: str) -> TraceAccount:
        return _by_role(self, self.pre_state, role)

    def post(self, role: str) -> TraceAccount:
        return _by_role(self, self.post_state, role)

    def meta(self, role: str) -> TraceMeta:
        for m in self.accounts:
            if m.role == role:
                return m
        raise KeyError(f"step {self.index} ({self.instruction}) has no account {role!r}")


def _by_role(step: InstructionStep, states: tuple[TraceAccount, ...], role: str) -> TraceAccount:
    address = step.meta(role).pubkey
    for acc in states:
        if acc.address == address:
            return acc
    raise TraceFormatError(f"step {step.index}: no state for {role}")


@dataclass(frozen=True)
class SetClockStep:
    index: int
    note: str
    before: TraceClock
    after: TraceClock

    kind = "setClock"


@dataclass(frozen=True)
class SetAccountStep:
    index: int
    note: str
    address: Pubkey
    label: str
    clock: TraceClock | None
    pre_state: TraceAccount
    post_state: TraceAccount

    kind = "setAccount"


Step = InstructionStep | SetClockStep | SetAccountStep


@dataclass(frozen=True)
class Trace:
    path: Path
    scenario: str
    title: str
    program_id: Pubkey
    parameters: dict[str, Any]
    addresses: dict[str, Pubkey]
    keypair_labels: dict[str, str]  # label -> seedLabel
    labels: dict[str, str]  # pubkey (base58) -> label
    setup_clock: TraceClock
    setup_accounts: tuple[TraceAccount, ...]
    steps: tuple[Step, ...]

    @property
    def name(self) -> str:
        return self.path.stem

    def keypair(self, label: str) -> Keypair:
        kp = keypair_from_seed_label(self.keypair_labels[label])
        return kp

    def instruction_steps(self) -> Iterator[InstructionStep]:
        return (s for s in self.steps if isinstance(s, InstructionStep))


def _parse_step(obj: dict[str, Any]) -> Step:
    kind = obj.get("kind")
    index = int(obj["index"])
    note = str(obj.get("note", ""))
    if kind == "instruction":
        res = obj["result"]
        result = TraceResult(
            ok=bool(res["ok"]),
            code=res.get("code"),
            name=res.get("name"),
            message=res.get("message"),
            error_logs=tuple(res.get("errorLogs", ())),
            transaction_error=res.get("transactionError"),
        )
        data = base64.b64decode(obj["data"])
        if "dataHex" in obj and data.hex() != obj["dataHex"]:
            raise TraceFormatError(f"step {index}: data and dataHex disagree")
        return InstructionStep(
            index=index,
            note=note,
            instruction=str(obj["instruction"]),
            program_id=Pubkey.from_string(obj["programId"]),
            args=dict(obj.get("args", {})),
            data=data,
            accounts=tuple(
                TraceMeta(
                    role=str(m["role"]),
                    pubkey=Pubkey.from_string(m["pubkey"]),
                    is_signer=bool(m["isSigner"]),
                    is_writable=bool(m["isWritable"]),
                    label=str(m.get("label", "")),
                )
                for m in obj["accounts"]
            ),
            signers=tuple(Pubkey.from_string(s) for s in obj.get("signers", ())),
            fee_payer=Pubkey.from_string(obj.get("feePayer") or obj["signers"][0]),
            clock=TraceClock.parse(obj["clock"]),
            pre_state=tuple(TraceAccount.parse(a) for a in obj["preState"]),
            post_state=tuple(TraceAccount.parse(a) for a in obj["postState"]),
            logs=tuple(obj.get("logs", ())),
            events=tuple(obj.get("events", ())),
            compute_units=obj.get("computeUnitsConsumed"),
            result=result,
        )
    if kind == "setClock":
        return SetClockStep(index, note, TraceClock.parse(obj["from"]), TraceClock.parse(obj["to"]))
    if kind == "setAccount":
        return SetAccountStep(
            index=index,
            note=note,
            address=Pubkey.from_string(obj["pubkey"]),
            label=str(obj.get("label", "")),
            clock=TraceClock.parse(obj["clock"]) if obj.get("clock") else None,
            pre_state=TraceAccount.parse(obj["preState"]),
            post_state=TraceAccount.parse(obj["postState"]),
        )
    raise TraceFormatError(f"step {index}: unknown step kind {kind!r}")


def load_trace(path: Path) -> Trace:
    try:
        obj = json.loads(path.read_text(encoding="utf-8"))
    except UnicodeDecodeError:
        # the decode error quotes a byte of the file: never echo file bytes
        raise TraceFormatError(f"{path}: cannot read trace: not a UTF-8 JSON file") from None
    except (OSError, ValueError) as exc:
        raise TraceFormatError(f"{path}: cannot read trace: {exc}") from exc
    if obj.get("format") != FORMAT:
        raise TraceFormatError(f"{path}: format {obj.get('format')!r}, expected {FORMAT!r}")
    try:
        return Trace(
            path=path,
            scenario=str(obj.get("scenario", path.stem)),
            title=str(obj.get("title", "")),
            program_id=Pubkey.from_string(obj["program"]["programId"]),
            parameters=dict(obj["parameters"]),
            addresses={k: Pubkey.from_string(v) for k, v in obj["addresses"].items()},
            keypair_labels={k: v["seedLabel"] for k, v in obj.get("keypairs", {}).items()},
            labels=dict(obj.get("labels", {})),
            setup_clock=TraceClock.parse(obj["setup"]["clock"]),
            setup_accounts=tuple(TraceAccount.parse(a) for a in obj["setup"]["accounts"]),
            steps=tuple(_parse_step(s) for s in obj["steps"]),
        )
    except (KeyError, TypeError, ValueError) as exc:
        if isinstance(exc, TraceFormatError):
            raise
        raise TraceFormatError(f"{path}: malformed trace: {exc!r}") from exc


def load_all(folder: Path | None = None) -> list[Trace]:
    return [load_trace(p) for p in trace_paths(folder)]


def replay_world(trace: Trace) -> Iterator[tuple[Step, dict[Pubkey, TraceAccount]]]:
    """Each step with the full account world just after it (setup + every post-state).

    A failed instruction changes nothing but the fee payer, whose lamports the trace
    records in its post-state like any other account.
    """
    world = {a.address: a for a in trace.setup_accounts}
    for step in trace.steps:
        if isinstance(step, InstructionStep):
            for acc in step.post_state:
                world[acc.address] = acc
        elif isinstance(step, SetAccountStep):
            world[step.address] = step.post_state
        yield step, dict(world)
