"""The mirror predicts every golden-trace step: post-state bytes, events, or the error.

Every trace in DRIFT_IF_TRACE_DIR, every instruction step; a step the mirror cannot
handle is a failure. Fee-payer lamports (fees, rent) are the cluster's business and
are the only bytes not compared here.
"""

from __future__ import annotations

import dataclasses

import pytest
from solders.pubkey import Pubkey

from keeper.core.addresses import DriftAddresses
from keeper.core.constraints import Meta, check_accounts
from keeper.core.effects import (
    ACCOUNT_ROLES,
    Effect,
    IfAccounts,
    predict,
    predict_initialize_user_stats,
)
from keeper.core.ifmath import Rejected, TokenRejected
from keeper.core.profile import ProgramProfile
from keeper.core.spl_token import decode_token_account, encode_token_account
from keeper.core.views import TokenAccount
from keeper.program.codec import AccountCodec
from keeper.program.goldentrace import InstructionStep, Trace, TraceAccount
from localnet.genesis import rent_exempt_lamports


def _decode_role(step: InstructionStep, role: str, codec: AccountCodec) -> object | None:
    try:
        acc = step.pre(role)
    except KeyError:
        return None
    if not acc.has_data:
        return None
    raw = acc.raw()
    if raw.owner == codec.program_id:
        return codec.decode_drift(raw)
    return decode_token_account(raw)


def accounts_of(step: InstructionStep, codec: AccountCodec) -> IfAccounts:
    views = {kind: _decode_role(step, role, codec) for role, kind in ACCOUNT_ROLES.items()}
    return IfAccounts(**views)  # type: ignore[arg-type]


def predict_step(
    step: InstructionStep, codec: AccountCodec, profile: ProgramProfile
) -> tuple[Effect, dict[Pubkey, bytes]]:
    """The mirror's effect plus every predicted account's bytes, by address."""
    now = step.clock.unix_timestamp
    created: dict[Pubkey, bytes] = {}
    if step.instruction == "initializeUserStats":
        state = codec.decode_state(step.pre("state").raw())
        address, authority = step.meta("userStats").pubkey, step.meta("authority").pubkey
        effect = predict_initialize_user_stats(state, codec.new_user_stats(address, authority, now))
    else:
        accounts = accounts_of(step, codec)
        metas = {m.role: Meta(m.pubkey, m.is_signer, m.is_writable) for m in step.accounts}
        check_accounts(step.instruction, metas, accounts, DriftAddresses(codec.program_id))
        effect = predict(step.instruction, accounts, step.args, now, profile)
        if step.instruction == "initializeInsuranceFundStake":
            address = step.meta("insuranceFundStake").pubkey
            stake = codec.new_stake(
                address, step.meta("authority").pubkey, step.args["marketIndex"], now
            )
            effect = dataclasses.replace(effect, stake=stake)
    out: dict[Pubkey, bytes] = {}
    for view in (effect.market, effect.stake, effect.user_stats, effect.state):
        if view is not None:
            out[view.address] = codec.encode(view)
    tokens: dict[Pubkey, TokenAccount] = {}
    for acc in step.pre_state:
        if acc.has_data and acc.data is not None and len(acc.data) == 165:
            tokens[acc.address] = decode_token_account(acc.raw())
    for address, tok in effect.token_accounts_after(tokens).items():
        if tok != tokens[address]:
            out[address] = encode_token_account(tok)
    return effect, {**out, **created}


def _post_bytes(acc: TraceAccount) -> bytes | None:
    return acc.data if acc.exists else None


def check_step(
    trace: Trace, step: InstructionStep, codec: AccountCodec, profile: ProgramProfile
) -> None:
    where = f"{trace.name} step {step.index} ({step.instruction})"
    if not step.result.ok:
        with pytest.raises(Rejected) as info:
            predict_step(step, codec, profile)
        assert info.value.code == step.result.code, where
        is_token = (step.result.name or "").startswith("SplToken.")
        assert isinstance(info.value, TokenRejected) == is_token, where
        for line in info.value.logs:
            assert f"Program log: {line}" in step.logs, f"{where}: {line!r}"
        return
    effect, predicted = predict_step(step, codec, profile)
    assert list(effect.events) == list(step.events), f"{where}: events"
    pre = {a.address: a for a in step.pre_state}
    for post in step.post_state:
        name = f"{where}: {post.label}"
        before = pre[post.address]
        if post.address in predicted:
            assert predicted[post.address] == post.data, name
            if not before.exists:
                assert post.lamports == rent_exempt_lamports(len(post.data or b"")), name
        else:
            assert _post_bytes(post) == _post_bytes(before), f"{name}: changed, but not predicted"
        if post.address != step.fee_payer and before.exists:
            assert post.lamports == before.lamports, f"{name}: lamports"


def test_mirror_predicts_every_step(
    trace: Trace, codec: AccountCodec, trace_profile: ProgramProfile
) -> None:
    steps = [s for s in trace.instruction_steps()]
    assert steps, f"{trace.name} has no instruction step"
    for step in steps:
        check_step(trace, step, codec, trace_profile)
