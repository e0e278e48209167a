"""Hedged calls: a second copy of a read when the first is slow, the first answer wins.

Near a due time a 429 with Retry-After, a hung request or a 5xx costs the keeper
slots. A read (account snapshot, simulation, status poll, blockhash) changes nothing,
so a second copy may run beside a slow first one: whichever answers first is used and
the other is cancelled. Only reads go through here, never a send.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import TypeVar

T = TypeVar("T")


async def hedged(call: Callable[[], Awaitable[T]], after_seconds: float | None) -> T:
    """`call()`; with `after_seconds`, a second `call()` if the first has neither
    answered nor failed by then (or failed sooner): the first success wins, the other
    copy is cancelled; when both fail, the first error is raised."""
    if after_seconds is None:
        return await call()
    first = asyncio.ensure_future(call())
    try:
        done, _ = await asyncio.wait({first}, timeout=after_seconds)
    except BaseException:
        first.cancel()
        raise
    if first in done and first.exception() is None:
        return first.result()
    tasks = {first, asyncio.ensure_future(call())}
    error: BaseException | None = None
    try:
        while tasks:
            done, tasks = await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
            for task in done:
                exc = task.exception()
                if exc is None:
                    return task.result()
                error = error or exc
        assert error is not None
        raise error
    finally:
        for task in tasks:
            task.cancel()
        if tasks:
            await asyncio.gather(*tasks, return_exceptions=True)
