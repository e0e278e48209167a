from __future__ import annotations

import json

import pytest
import structlog

from keeper.app.logs import configure_logging


def test_log_lines_never_carry_api_keys(capsys: pytest.CaptureFixture[str]) -> None:
    configure_logging(json_lines=True)
    log = structlog.get_logger()
    log.warning(
        "rpc failed", url="https://rpc.example.com/?api-key=SECRETSECRET42", keypair=[1, 2, 3]
    )
    log.info("error text", error="POST https://x.quiknode.pro/abcdef0123456789abcdef/ returned 429")
    lines = [json.loads(line) for line in capsys.readouterr().err.splitlines()]
    assert len(lines) == 2
    blob = json.dumps(lines)
    assert "SECRETSECRET42" not in blob and "abcdef0123456789abcdef" not in blob
    assert "[1, 2, 3]" not in blob
    assert lines[0]["event"] == "rpc failed" and lines[0]["level"] == "warning"
    structlog.reset_defaults()
