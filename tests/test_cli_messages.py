"""The sentences of the staker's report: names once, times as times, sources named."""

from __future__ import annotations

import pytest

from keeper.app.cli.tx_commands import explain_blockers
from keeper.app.solana_config import resolve_url
from keeper.core.error_codes import DriftError
from keeper.core.errors import ConfigError, ErrorTable, ProgramErrorInfo
from keeper.core.fmt import format_wait
from keeper.core.rules import Blocker

TABLE = ErrorTable(
    {
        6198: ("IFWithdrawRequestInProgress", "IFWithdrawRequestInProgress"),
        6176: ("RevenueSettingsCannotSettleToIF", "RevenueSettingsCannotSettleToIF"),
    }
)


def test_a_message_equal_to_its_name_is_said_once() -> None:
    text = TABLE.lookup(DriftError.IFWithdrawRequestInProgress).describe()
    assert text.count("IFWithdrawRequestInProgress") == 1
    assert text.startswith("IFWithdrawRequestInProgress (6198). An unstake request is already")
    assert ProgramErrorInfo(1, "A", "a real message").describe() == "A (1): a real message"


def test_the_settle_gate_says_when_it_opens() -> None:
    now = 1_767_225_600 + 12 * 3600 + 34 * 60 - 1  # 12:33:59
    opens = 1_767_225_600 + 14 * 3600  # 14:00:00
    blocker = Blocker(
        DriftError.RevenueSettingsCannotSettleToIF,
        "next settle time",
        opens,
        (f"Must wait {opens - now} seconds until next available settlement time",),
    )
    text = str(explain_blockers([blocker], TABLE, now, "settle"))
    assert "the settle opens at 2026-01-01 14:00:00 UTC, in 1 h 26 m" in text
    assert format_wait(5191) == "1 h 26 m" and format_wait(13 * 86_400) == "13 d"


def test_a_bad_url_names_where_it_came_from() -> None:
    with pytest.raises(ConfigError, match=r"^json_rpc_url in /c\.yml 'ftp://x'"):
        resolve_url("ftp://x", source="json_rpc_url in /c.yml")
    with pytest.raises(ConfigError, match=r"port .99999. is not 1\.\.65535"):
        resolve_url("http://127.0.0.1:99999")
    assert resolve_url("http://[::1]:8899") == "http://[::1]:8899"


def test_runtime_failures_say_what_to_do() -> None:
    from solders.pubkey import Pubkey

    from keeper.cluster.sender import explain_failure

    program = Pubkey.new_unique()
    text = str(explain_failure("AccountNotFound", (), program, TABLE))
    assert text.startswith("the fee payer has no SOL") and "AccountNotFound" in text
    budget = explain_failure(
        {"InstructionError": [0, "ComputationalBudgetExceeded"]}, (), program, TABLE
    )
    assert "ran out of compute units" in str(budget)
