"""The keeper's journal: signed transactions recorded before they are sent.

A keeper killed (SIGKILL, power loss) between sending a transaction and seeing it
confirmed must not send the same action again on restart: the first copy may still
land. So the signed bytes and their expiry are written (atomically, fsync'd) to a
small JSON file in the state directory *before* the first broadcast, and removed
once the outcome is known. On start, and before each pass, every entry is resumed:
re-sent until it lands or its blockhash expires; while one is unresolved, the
actions it covers are not planned again.
"""

from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass
from pathlib import Path

from keeper.core.errors import ConfigError

JOURNAL_NAME = "journal.json"


@dataclass(frozen=True)
class JournalEntry:
    #: the (action, market, wallet) keys the transaction acts for
    keys: tuple[str, ...]
    signature: str
    #: the signed transaction, base64
    raw: str
    last_valid_block_height: int
    #: the slot the first action became allowed in (for the lateness histogram)
    first_allowed_slot: int


class Journal:
    def __init__(self, state_dir: Path) -> None:
        self.path = state_dir / JOURNAL_NAME
        self._entries: dict[str, JournalEntry] = {}
        if self.path.exists():
            try:
                doc = json.loads(self.path.read_text())
                for item in doc["pending"]:
                    entry = JournalEntry(**{**item, "keys": tuple(item["keys"])})
                    self._entries[entry.signature] = entry
            except (OSError, ValueError, KeyError, TypeError) as exc:
                raise ConfigError(
                    f"the keeper journal {self.path} is unreadable ({exc}); if no keeper is "
                    "running, check the transactions it names by hand, then delete it"
                ) from exc

    @property
    def entries(self) -> tuple[JournalEntry, ...]:
        return tuple(self._entries.values())

    def busy_keys(self) -> set[str]:
        return {k for e in self._entries.values() for k in e.keys}

    def record(self, entry: JournalEntry) -> None:
        """Write the entry durably; raises if it cannot (then nothing may be sent)."""
        self._entries[entry.signature] = entry
        self._write()

    def clear(self, signature: str) -> None:
        if self._entries.pop(signature, None) is not None:
            self._write()

    def check_writable(self) -> None:
        """Raise ConfigError unless the journal's folder takes a file (as `check` asks).

        A probe file, not the journal: a keeper running on this state dir owns that.
        """
        probe = self.path.with_name(".write-probe")
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            probe.write_text("")
            probe.unlink()
        except OSError as exc:
            raise ConfigError(
                f"cannot write in the keeper's state_dir {self.path.parent} ({exc.strerror})"
            ) from exc

    def _write(self) -> None:
        tmp = self.path.with_suffix(".tmp")
        doc = {"pending": [asdict(e) for e in self._entries.values()]}
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            with tmp.open("w") as f:
                json.dump(doc, f, indent=1)
                f.flush()
                os.fsync(f.fileno())
            os.replace(tmp, self.path)
        except OSError as exc:
            raise ConfigError(
                f"cannot write the keeper journal {self.path} ({exc.strerror}); nothing is "
                "sent without it: make state_dir writable"
            ) from exc
