"""The journal of sent transactions: durable, reloadable, loud when it cannot work."""

from __future__ import annotations

from pathlib import Path

import pytest

from keeper.app.journal import Journal, JournalEntry
from keeper.core.errors import ConfigError

ENTRY = JournalEntry(("settle|0|-", "settle|1|-"), "sig1", "AAEC", 1_150, 42)


def test_an_entry_survives_a_restart_until_cleared(tmp_path: Path) -> None:
    journal = Journal(tmp_path / "state")
    assert journal.entries == () and not journal.path.exists()
    journal.record(ENTRY)
    again = Journal(tmp_path / "state")  # a new process
    assert again.entries == (ENTRY,) and again.busy_keys() == {"settle|0|-", "settle|1|-"}
    again.clear("sig1")
    assert Journal(tmp_path / "state").entries == ()


def test_an_unreadable_or_unwritable_journal_is_a_config_error(tmp_path: Path) -> None:
    (tmp_path / "state").mkdir()
    (tmp_path / "state/journal.json").write_text("{not json")
    with pytest.raises(ConfigError, match=r"journal .* is unreadable"):
        Journal(tmp_path / "state")
    blocker = tmp_path / "file"
    blocker.write_text("")
    journal = Journal(blocker / "state")  # a folder under a file cannot exist
    with pytest.raises(ConfigError, match="nothing is sent without it"):
        journal.record(ENTRY)
    with pytest.raises(ConfigError, match="cannot write in the keeper's state_dir"):
        journal.check_writable()
