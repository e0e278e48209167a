"""The kinds of IF action the keeper and the CLI plan, with their stable wire names.

The enum's value is what `--json` output, log fields and Prometheus labels carry, so
it never changes once published (these are the names `Plan.action` has always
carried); `text` is the phrase shown to people, free to change.
"""

from __future__ import annotations

import enum


class ActionKind(enum.StrEnum):
    SETTLE = "settle"
    REQUEST = "unstake request"
    CANCEL = "cancel request"
    WITHDRAW = "withdraw"
    STAKE = "stake"
    DEPOSIT_REVENUE = "revenue pool deposit"

    @property
    def text(self) -> str:
        """The action in a sentence ("sent unstake request on market 0, …")."""
        return _TEXT[self]


_TEXT = {
    ActionKind.SETTLE: "settle",
    ActionKind.REQUEST: "unstake request",
    ActionKind.CANCEL: "cancel request",
    ActionKind.WITHDRAW: "withdraw",
    ActionKind.STAKE: "stake",
    ActionKind.DEPOSIT_REVENUE: "revenue pool deposit",
}
