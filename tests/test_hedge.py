"""Hedged reads: a second copy only when the first is slow or failed; the first answer wins."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

import pytest

from keeper.cluster.hedge import hedged
from keeper.core.errors import RpcUnreachable


def _calls(
    *delays: float, fail: tuple[int, ...] = ()
) -> tuple[list[int], Callable[[], Awaitable[int]]]:
    started: list[int] = []

    async def call() -> int:
        n = len(started)
        started.append(n)
        await asyncio.sleep(delays[n])
        if n in fail:
            raise RpcUnreachable("getSlot", "fake://x", f"copy {n} failed")
        return n

    return started, call


async def test_a_prompt_answer_makes_no_second_call() -> None:
    started, call = _calls(0.0, 0.0)
    assert await hedged(call, 0.1) == 0 and started == [0]
    assert await hedged(call, None) == 1


async def test_a_slow_first_call_is_overtaken_by_the_second() -> None:
    started, call = _calls(5.0, 0.0)
    loop = asyncio.get_running_loop()
    t0 = loop.time()
    assert await hedged(call, 0.05) == 1
    assert started == [0, 1] and loop.time() - t0 < 1.0  # the slow copy was cancelled


async def test_a_failed_first_call_gets_a_second_and_both_failing_raise_the_first() -> None:
    started, call = _calls(0.0, 0.0, fail=(0,))
    assert await hedged(call, 1.0) == 1 and started == [0, 1]
    _, both = _calls(0.0, 0.01, fail=(0, 1))
    with pytest.raises(RpcUnreachable, match="copy 0 failed"):
        await hedged(both, 1.0)
