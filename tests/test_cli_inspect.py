"""The read-only CLI commands, run in-process through `main`."""

from __future__ import annotations

import json

import pytest

from keeper.app.cli import main
from keeper.program.goldentrace import BUNDLED_TRACE_DIR


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out = capsys.readouterr()
    return code, out.out, out.err


def test_inspect_json_matches_the_trace_observations(capsys: pytest.CaptureFixture[str]) -> None:
    path = BUNDLED_TRACE_DIR / "b_two_stakers_revenue_settle.json"
    trace = json.loads(path.read_text())
    code, out, _ = run(capsys, "inspect", str(path), "--json")
    assert code == 0
    doc = json.loads(out)
    market = doc["markets"][0]
    final = list(trace["observations"].values())[-1]
    assert market["ifVaultAmount"] == final["insuranceFundVaultAmount"]
    assert market["totalShares"] == final["totalShares"]
    assert market["revenuePoolAmount"] == final["revenuePoolTokenAmount"]
    labels = trace["labels"]
    for stake in doc["stakes"]:
        who = labels[stake["authority"]]
        assert stake["valueAmount"] == final["stakers"][who]["valueFloor"]
        assert stake["requestValue"] == final["stakers"][who]["lastWithdrawRequestValue"]
    assert doc["findings"] == []


def test_inspect_human_table(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "inspect", "a_single", "--step", "3")
    assert code == 0
    assert (
        "requestRemoveInsuranceFundStake" in out
        and "alice" in out
        and "invariants: all hold" in out
    )


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["inspect", "zz_nope"], "no trace file or bundled trace named 'zz_nope'"),
        (["inspect", "a_single", "--step", "999"], "has steps 0.."),
        (["inspect", "a_single", "--profile", "nope"], "unknown program profile"),
    ],
)
def test_inspect_bad_input(
    capsys: pytest.CaptureFixture[str], argv: list[str], message: str
) -> None:
    code, out, err = run(capsys, *argv)
    assert code in (1, 2) and out == ""
    assert message in err


def test_profiles(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "profiles", "--json")
    assert code == 0
    names = {p["name"] for p in json.loads(out)}
    assert names == {"drift-mainnet", "drift-v2.84", "velocity"}
    velocity = next(p for p in json.loads(out) if p["name"] == "velocity")
    assert velocity["programId"] == "vELoC1audYbSYVRXn1vPaV8Axoa9oU6BYmNGZZBDZ1P"
    assert velocity["idlVersion"] == "2.165.0"
