"""Where results and errors go, in one of three shapes.

- `--json`: one JSON document on stdout (camelCase keys, integers in base units); an
  error is one JSON document `{"error": {...}}` on stderr, stdout stays empty.
- a terminal: Rich tables (Rich is imported only then).
- piped: plain, stable text (`keeper.core.fmt.table`), the same on every run.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, TextIO

from keeper.core.fmt import camel_case, table


def camel_keys(doc: Mapping[str, Any]) -> dict[str, Any]:
    """A figures mapping in the JSON style: camelCase keys (the values stay)."""
    return {camel_case(k): v for k, v in doc.items()}


@dataclass
class Output:
    json: bool = False
    stream: TextIO | None = None

    @property
    def out(self) -> TextIO:
        return self.stream or sys.stdout

    @property
    def terminal(self) -> bool:
        isatty = getattr(self.out, "isatty", None)
        return bool(isatty and isatty())

    def document(self, doc: Any) -> None:
        print(json.dumps(doc, indent=2), file=self.out)

    def line(self, text: str = "") -> None:
        if not self.json:
            print(text, file=self.out)

    def table(
        self,
        headers: Sequence[str],
        rows: Sequence[Sequence[str]],
        right: Sequence[int] = (),
        title: str = "",
    ) -> None:
        """A table: Rich on a terminal, `fmt.table` text otherwise."""
        if self.json:
            return
        if not self.terminal:
            if title:
                print(title, file=self.out)
            print(table(headers, rows, right), file=self.out)
            return
        from rich.console import Console
        from rich.table import Table

        t = Table(title=title or None, title_justify="left", header_style="bold")
        for i, h in enumerate(headers):
            t.add_column(h, justify="right" if i in right else "left")
        for row in rows:
            t.add_row(*row)
        Console(file=self.out, soft_wrap=True).print(t)

    def pairs(self, items: Sequence[tuple[str, str]], indent: str = "  ") -> None:
        """`label  value` lines, labels aligned."""
        if self.json or not items:
            return
        width = max(len(k) for k, _ in items)
        for k, v in items:
            print(f"{indent}{k.ljust(width)}  {v}", file=self.out)


def error_document(message: str, exit_code: int, **extra: Any) -> str:
    """The `--json` error shape: {"error": {"message", "exitCode", "kind", ...}}."""
    kind = {2: "usage"}.get(exit_code, "refused" if extra.pop("refused", False) else "failed")
    body = {"message": message, "exitCode": exit_code, "kind": kind, **extra}
    return json.dumps({"error": body}, indent=2)
