"""Failed transactions are explained with the program's own error, as the traces show."""

from __future__ import annotations

from solders.keypair import Keypair
from solders.pubkey import Pubkey

from keeper.cluster.sender import (
    FeePolicy,
    TransactionFailed,
    build_transaction,
    custom_error_code,
    explain_failure,
)
from keeper.core.errors import ProgramError
from keeper.program.goldentrace import Trace
from keeper.program.idl import DriftIdl
from keeper.program.instructions import DriftInstructions, MarketKeys


def _check_failures(traces: list[Trace], idl: DriftIdl) -> int:
    """Every traced failure is explained with its code, name and message; how many."""
    failures = 0
    for trace in traces:
        for step in trace.instruction_steps():
            if step.result.ok:
                continue
            err = explain_failure(
                step.result.transaction_error, step.logs, trace.program_id, idl.errors
            )
            where = f"{trace.name} step {step.index}"
            assert isinstance(err, ProgramError), where
            assert err.code == step.result.code, where
            assert err.name == step.result.name, where
            assert step.result.message is not None and step.result.message in str(err), where
            failures += 1
    return failures


def test_every_traced_failure_maps_to_its_name(traces: list[Trace], idl: DriftIdl) -> None:
    _check_failures(traces, idl)


def test_the_shipped_traces_hold_failures(bundled_traces: list[Trace], idl: DriftIdl) -> None:
    assert _check_failures(bundled_traces, idl) > 0


def test_error_shapes() -> None:
    assert custom_error_code({"InstructionError": [0, {"Custom": 6133}]}) == 6133
    assert (
        custom_error_code(
            "TransactionErrorInstructionError((0, Tagged(Custom(InstructionErrorCustom(1)))))"
        )
        == 1
    )
    assert custom_error_code({"InstructionError": [0, "InvalidAccountData"]}) is None
    assert custom_error_code(None) is None


def test_non_program_failures(idl: DriftIdl) -> None:
    err = explain_failure("BlockhashNotFound", [], Pubkey.new_unique(), idl.errors)
    assert isinstance(err, TransactionFailed)
    other = Pubkey.new_unique()
    err2 = explain_failure(
        {"InstructionError": [0, {"Custom": 7}]},
        [f"Program {other} failed: custom program error: 0x7"],
        Pubkey.new_unique(),
        idl.errors,
    )
    assert isinstance(err2, ProgramError) and str(other) in str(err2)


def test_build_transaction_signs_and_budgets(builders: DriftInstructions) -> None:
    from solders.hash import Hash

    payer, staker = Keypair(), Keypair()
    market = MarketKeys(
        0,
        *(Pubkey.new_unique() for _ in range(4)),
        Pubkey.from_string("TokenkegQfeZyiNwAJbNbGKPFXCWuBvf9Ss623VQ5DA"),
    )
    ix = builders.request_remove_insurance_fund_stake(market, 1_000, staker.pubkey())
    tx = build_transaction(
        [ix], payer, Hash.default(), signers=[staker], fees=FeePolicy(150_000, 1_000)
    )
    assert tx.message.account_keys[0] == payer.pubkey()
    assert len(tx.signatures) == 2 and tx.verify_with_results() == [True, True]
    assert len(tx.message.instructions) == 3
    try:
        build_transaction([ix], payer, Hash.default())
    except Exception as exc:
        assert "needs signatures" in str(exc)
    else:
        raise AssertionError("a missing signer must be refused")
