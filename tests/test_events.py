"""Every traced `Program data:` line decodes to the trace's event and re-encodes exactly."""

from __future__ import annotations

from keeper.program.events import PROGRAM_DATA, EventCodec
from keeper.program.goldentrace import Trace
from keeper.program.idl import DriftIdl


def _check_events(traces: list[Trace], idl: DriftIdl) -> set[str]:
    """Decode and re-encode every event line; the names of the events seen."""
    codec = EventCodec(idl)
    seen: set[str] = set()
    for trace in traces:
        for step in trace.instruction_steps():
            drift_lines = [line for line in step.logs if line.startswith(PROGRAM_DATA)]
            decoded = codec.decode_logs(step.logs)
            assert decoded == list(step.events), f"{trace.name} step {step.index}"
            for line, event in zip(drift_lines, decoded, strict=True):
                assert codec.encode_line(event) == line
                seen.add(event["name"])
    return seen


def test_events_decode_and_reencode(traces: list[Trace], idl: DriftIdl) -> None:
    _check_events(traces, idl)


def test_shipped_traces_cover_every_if_event(bundled_traces: list[Trace], idl: DriftIdl) -> None:
    seen = _check_events(bundled_traces, idl)
    assert seen == {"InsuranceFundStakeRecord", "InsuranceFundRecord", "SpotInterestRecord"}
