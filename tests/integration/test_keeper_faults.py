"""The operator's fault scenarios: the keeper as a subprocess, a misbehaving provider.

Each scenario runs the same life of one stake against a fresh localnet, with the keeper
(`python -m keeper.app.cli keeper --config F`, single-wallet config) talking to the
cluster only through `keeper.testing.faultproxy`:

1. alice (the keeper's wallet, `request_policy = "unstake_all"`) and bob stake, bob
   deposits revenue: the keeper's first pass requests alice's unstake;
2. the clock moves an hour: a settle is due;
3. bob deposits revenue again and the clock moves past the cooldown: a settle and the
   withdrawal are due.

And for each: every due action landed, none twice, and no transaction the program
rejected landed (read from the chain: getSignaturesForAddress on the IF vault, then
getTransaction of each). The faults are switched at the points named in the scenario.

Time: the cluster's clock is moved with `localnet_timeTravel`, so an hour or thirteen
days cost nothing. What remains in wall time is the keeper's own waiting (backoff,
re-sends, the feed's staleness check) and the outage, whose wall length is
DRIFT_FAULT_OUTAGE_SECONDS (default 3; the operator's 30 s scenario is that variable
set to 30). The cluster's clock is moved 30 s across the outage either way, so due
times pass while the provider is down.
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from keeper_rig import COOLDOWN, HOUR, START_TS, KeeperRig, wait_for

OUTAGE_SECONDS = float(os.environ.get("DRIFT_FAULT_OUTAGE_SECONDS", "3"))
#: how long one step may take before the scenario fails
STEP_TIMEOUT = 30.0
#: after the last action, how long to watch for a duplicate
GRACE_SECONDS = 1.0

Hook = Callable[[KeeperRig], None]


@dataclass(frozen=True)
class Scenario:
    name: str
    #: faults on from the start (ProxyThread.set_faults keywords)
    faults: dict[str, Any] = field(default_factory=dict)
    #: called right after each step's due time is reached (the clock was moved)
    on_due: Hook | None = None
    keeper: dict[str, Any] = field(default_factory=dict)


def _window(seconds: float, **faults: Any) -> Hook:
    """These faults for `seconds` of wall time after each due time, then none."""

    def hook(rig: KeeperRig) -> None:
        rig.proxy.set_faults(**faults)
        threading.Timer(seconds, rig.proxy.reset_faults).start()

    return hook


def _outage(rig: KeeperRig) -> None:
    rig.proxy.set_faults(outage_seconds=OUTAGE_SECONDS)
    rig.travel_to(rig.now() + 30)  # 30 s of cluster time pass during the outage


def _kill_after_send(rig: KeeperRig) -> None:
    """SIGKILL the keeper right after its next sendTransaction, then start it again."""
    sends = len(rig.proxy.stats()["sends"])
    wait_for("a send", lambda: len(rig.proxy.stats()["sends"]) > sends, STEP_TIMEOUT, 0.01)
    rig.stop_keeper(kill=True)
    rig.start_keeper()


SCENARIOS = [
    Scenario("healthy"),
    Scenario("half_of_sends_dropped", {"drop_send_fraction": 0.5}),
    Scenario("duplicated_sends", {"duplicate_sends": 2}),
    Scenario("rate_limited", {"rate_limit_fraction": 0.2, "retry_after_seconds": 1}),
    Scenario("server_errors", {"error_fraction": 0.3}),
    Scenario("connection_resets", {"reset_fraction": 0.3}),
    Scenario("hung_requests", {"hang_fraction": 0.1, "hang_seconds": 1.0}),
    Scenario("full_outage", on_due=_outage),
    # Notifications swallowed, and the keeper told to re-read only once a minute: it is
    # the feed's staleness check (slot clock vs a silent socket) that must wake it.
    Scenario("silent_websocket", {"ws_silent": True}, keeper={"idle_refresh_seconds": 60}),
    Scenario("reads_behind", {"read_lag_answers": 1}),
    Scenario("blockhash_expiry", on_due=_window(2.0, stale_blockhash=True)),
    Scenario("sigkill_after_send", on_due=_kill_after_send),
]


def _expect(rig: KeeperRig, want: dict[str, int]) -> None:
    def done() -> bool:
        got = rig.counts()
        assert rig.alive(), "the keeper exited:\n" + rig.log_text()[-3000:]
        return all(got[k] >= n for k, n in want.items())

    try:
        wait_for(f"{want}", done, STEP_TIMEOUT, 0.2)
    except AssertionError as exc:
        raise AssertionError(
            f"{exc}; landed {dict(rig.counts())}\n{rig.log_text()[-4000:]}"
        ) from None


def _audit(rig: KeeperRig) -> None:
    landed = rig.landed()
    rejected = [x for x in landed if x.err is not None]
    assert not rejected, f"transactions the program rejected landed: {rejected}"
    counts = rig.counts()
    assert (counts["request"], counts["settle"], counts["withdraw"]) == (1, 2, 1), (
        f"each due action exactly once, got {dict(counts)}"
    )


@pytest.mark.parametrize("scenario", SCENARIOS, ids=lambda s: s.name)
def test_keeper_under_faults(scenario: Scenario, tmp_path: Path) -> None:
    with KeeperRig(tmp_path, seed=7, **scenario.keeper) as rig:
        rig.cli("stake", "1000")
        rig.cli("stake", "3000", who="bob")
        rig.cli("deposit-revenue", "500", who="bob")
        rig.mark()
        rig.proxy.set_faults(**scenario.faults)
        rig.start_keeper()
        _expect(rig, {"request": 1})  # step 1: the first pass asks for the unstake

        rig.travel_to(START_TS + HOUR)  # step 2: a settle is due
        if scenario.on_due:
            scenario.on_due(rig)
        _expect(rig, {"request": 1, "settle": 1})

        rig.cli("deposit-revenue", "500", who="bob")  # step 3: settle and withdraw are due
        rig.travel_to(START_TS + COOLDOWN)
        if scenario.on_due:
            scenario.on_due(rig)
        _expect(rig, {"request": 1, "settle": 2, "withdraw": 1})

        time.sleep(GRACE_SECONDS)  # a duplicate would land now
        rig.stop_keeper()
        rig.proxy.reset_faults()
        _audit(rig)
