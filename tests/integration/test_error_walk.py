"""Walk the error-site table: provoke every reachable entry over RPC, in both builds.

For each entry of keeper.core.error_sites.table (per profile), the situation of
tests/integration/error_scenarios.py is written with cheatcodes, the instruction is
sent as a signed transaction through solana-py, and the transaction must fail with
exactly the entry's code, log the entry's lines (Anchor's account line, or the
`Error <message> thrown at <site>` line of its validate!/load_mut! and its msg!) and
change nothing but the fee payer's lamports (by exactly the signature fees). An entry
without a provocation fails; an unreachable one must say why, and where the reason is
a bound of the arithmetic, tests/test_error_bounds.py demonstrates it with hypothesis.
With DRIFT_PROGRAM_SO set, the binary's own profile runs (the other is skipped).
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from drift_world import LAMPORTS_PER_SIGNATURE, SPEC, START_TS, World
from error_scenarios import provocation
from localnet_support import binary_profile

from keeper.cluster.sender import failing_program
from keeper.core import error_sites
from keeper.core.account_structs import field_name
from keeper.core.error_sites import ErrorSite, Form
from keeper.core.profile import DRIFT_MAINNET, DRIFT_V2_84
from keeper.core.programs import SPL_TOKEN_PROGRAM_ID, SYSTEM_PROGRAM_ID
from localnet.embedded import EmbeddedLocalnet

PROFILES = {p.name: p for p in (DRIFT_V2_84, DRIFT_MAINNET)}

#: unreachable reasons that are bounds of the arithmetic → the property test showing it
BOUNDS = {
    "the shares are bounded by the totals the proportion divides by": (
        "test_shares_within_the_total_never_fail_the_proportion",
        "test_shares_lost_never_exceed_the_request",
    ),
    "the request value is capped at the vault minus one first": (
        "test_the_request_value_is_below_the_vault",
    ),
    "the instruction rebased the stake to the market's base just before": (
        "test_a_rebase_leaves_stake_and_market_at_one_base",
    ),
}

#: CPI failures: the program that fails and a line it logs
CPI_LINES = {
    0: (SYSTEM_PROGRAM_ID, "already in use"),
    1: (SPL_TOKEN_PROGRAM_ID, "Program log: Error: insufficient funds"),
    14: (SPL_TOKEN_PROGRAM_ID, "Program log: Error: Operation overflowed"),
}


def _entries() -> Iterator[object]:
    for profile in PROFILES.values():
        for instruction, entries in error_sites.table(profile).items():
            for i, e in enumerate(entries):
                where = e.account or e.key or e.where or ""
                yield pytest.param(
                    profile.name,
                    instruction,
                    i,
                    id=f"{profile.name}-{instruction}-{i}-{e.code}-{where}",
                )


@pytest.fixture(scope="module")
def worlds(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, World]]:
    out: dict[str, World] = {}
    nets: list[EmbeddedLocalnet] = []
    real = binary_profile()
    for name, profile in PROFILES.items():
        if real is not None and real.name != name:
            continue
        net = EmbeddedLocalnet(
            profile, tmp_path_factory.mktemp(f"keys-{name}"), start_ts=START_TS, spec=SPEC
        ).__enter__()
        nets.append(net)
        out[name] = World(net)
    try:
        yield out
    finally:
        for net in nets:
            net.__exit__(None, None, None)


def expected_lines(w: World, instruction: str, entry: ErrorSite) -> list[str]:
    info = w.b.idl.errors.lookup(entry.code)
    anchor = (
        f"Program log: AnchorError occurred. Error Code: {info.name}. "
        f"Error Number: {entry.code}. Error Message: {info.message}."
    )
    if entry.form is Form.ANCHOR:
        assert entry.account is not None
        return [
            f"Program log: AnchorError caused by account: "
            f"{field_name(instruction, entry.account, w.profile)}. Error Code: {info.name}. "
            f"Error Number: {entry.code}. Error Message: {info.message}."
        ]
    if entry.form is Form.VALIDATE:
        site = error_sites.source_site(w.profile, entry)
        lines = [f"Program log: Error {info.message} thrown at {site}"]
        if entry.msg:
            lines.append(f"Program log: {entry.msg}")
        return [*lines, anchor]
    return [anchor]


def _in_order(expected: list[str], logs: list[str]) -> bool:
    it = iter(logs)
    return all(any(line == x for x in it) for line in expected)


@pytest.mark.parametrize(("profile_name", "instruction", "index"), list(_entries()))
def test_every_entry_is_provoked_or_proven_unreachable(
    worlds: dict[str, World], profile_name: str, instruction: str, index: int
) -> None:
    entry = error_sites.table(PROFILES[profile_name])[instruction][index]
    if entry.unreachable is not None:
        assert entry.unreachable.strip(), entry
        import test_error_bounds  # tests/: the bounds, shown by hypothesis

        for name in BOUNDS.get(entry.unreachable, ()):
            assert callable(getattr(test_error_bounds, name)), name
        return
    build = provocation(instruction, entry)
    assert build is not None, f"no provocation for {instruction} {entry}"
    if profile_name not in worlds:
        pytest.skip(f"DRIFT_PROGRAM_SO is {binary_profile()}: this build's table is not its")
    w = worlds[profile_name]
    w.reset()
    ix, watch = build(w)
    out = w.send(ix, watch=watch)
    where = f"{instruction} {entry}"
    assert out.err is not None, f"{where}: succeeded: {out.logs}"
    assert out.code == entry.code, f"{where}: failed with {out.err}: {out.logs}"
    if entry.form is Form.CPI:
        program, line = CPI_LINES[entry.code]
        assert failing_program(out.logs) == program, out.logs
        assert any(line in x for x in out.logs), f"{where}: no {line!r} in {out.logs}"
    else:
        assert failing_program(out.logs) == w.program_id, out.logs
        expected = expected_lines(w, instruction, entry)
        assert _in_order(expected, out.logs), f"{where}: expected {expected} in {out.logs}"
    assert out.changed == [], f"{where}: changed {out.changed}"
    assert out.fee_paid == LAMPORTS_PER_SIGNATURE * World.signatures(ix)


def test_every_profile_of_the_walk_has_entries() -> None:
    counts = {
        name: sum(len(v) for v in error_sites.table(p).values()) for name, p in PROFILES.items()
    }
    assert all(n > 100 for n in counts.values()), counts
