"""Conformance of the codec and the instruction builders with every golden trace.

Every trace in DRIFT_IF_TRACE_DIR is read; a trace or step this code cannot handle
fails, it is never skipped.
"""

from __future__ import annotations

from solders.instruction import Instruction
from solders.pubkey import Pubkey

from keeper.core.programs import SPL_TOKEN_PROGRAM_ID, TOKEN_2022_PROGRAM_ID
from keeper.core.spl_token import (
    decode_mint,
    decode_token_account,
    encode_mint,
    encode_token_account,
)
from keeper.core.views import SpotMarket
from keeper.program.codec import AccountCodec
from keeper.program.goldentrace import (
    InstructionStep,
    SetAccountStep,
    Trace,
    TraceAccount,
)
from keeper.program.instructions import DriftInstructions, MarketKeys

TOKEN_PROGRAMS = (SPL_TOKEN_PROGRAM_ID, TOKEN_2022_PROGRAM_ID)


def _all_states(trace: Trace) -> list[TraceAccount]:
    states = list(trace.setup_accounts)
    for step in trace.steps:
        if isinstance(step, InstructionStep):
            states += [*step.pre_state, *step.post_state]
        elif isinstance(step, SetAccountStep):
            states += [step.pre_state, step.post_state]
    return states


def test_every_trace_has_steps(traces: list[Trace]) -> None:
    assert traces
    for trace in traces:
        assert any(isinstance(s, InstructionStep) for s in trace.steps), trace.name


def test_accounts_decode_and_reencode_exactly(traces: list[Trace], codec: AccountCodec) -> None:
    checked = {"drift": 0, "token": 0, "mint": 0}
    for trace in traces:
        for acc in _all_states(trace):
            if not acc.has_data:
                continue
            raw = acc.raw()
            where = f"{trace.name}: {acc.label}"
            if raw.owner == codec.program_id:
                view = codec.decode_drift(raw)
                assert codec.encode(view) == raw.data, where
                if acc.decoded:
                    _check_against_trace_decoding(view, acc.decoded, where)
                checked["drift"] += 1
            elif raw.owner in TOKEN_PROGRAMS:
                kind = (acc.decoded or {}).get("account")
                if kind == "SplMint" or len(raw.data) == 82:
                    mint = decode_mint(raw)
                    assert encode_mint(mint) == raw.data, where
                    if acc.decoded:
                        assert mint.supply == acc.decoded["supply"], where
                        assert mint.decimals == acc.decoded["decimals"], where
                    checked["mint"] += 1
                else:
                    tok = decode_token_account(raw)
                    assert encode_token_account(tok) == raw.data, where
                    if acc.decoded:
                        assert tok.amount == acc.decoded["amount"], where
                        assert str(tok.mint) == acc.decoded["mint"], where
                        assert str(tok.owner) == acc.decoded["owner"], where
                    checked["token"] += 1
    assert all(checked.values()), checked


def _check_against_trace_decoding(view: object, decoded: dict[str, object], where: str) -> None:
    """The trace's own decoding is a convenience view; where present it must agree."""
    pairs: dict[str, object] = {}
    if isinstance(view, SpotMarket):
        fund = view.insurance_fund
        pairs = {
            "marketIndex": view.market_index,
            "decimals": view.decimals,
            "depositBalance": view.deposit_balance,
            "borrowBalance": view.borrow_balance,
            "cumulativeDepositInterest": view.cumulative_deposit_interest,
            "utilizationTwap": view.utilization_twap,
        }
        ifd = decoded.get("insuranceFund")
        if isinstance(ifd, dict):
            for key, val in {
                "totalShares": fund.total_shares,
                "userShares": fund.user_shares,
                "sharesBase": fund.shares_base,
                "lastRevenueSettleTs": fund.last_revenue_settle_ts,
                "totalFactor": fund.total_factor,
                "userFactor": fund.user_factor,
            }.items():
                if key in ifd:
                    assert ifd[key] == val, f"{where}: insuranceFund.{key}"
    else:
        for key in (
            "ifShares",
            "lastWithdrawRequestShares",
            "ifBase",
            "lastWithdrawRequestValue",
            "lastWithdrawRequestTs",
            "costBasis",
            "ifStakedQuoteAssetAmount",
        ):
            attr = "".join("_" + c.lower() if c.isupper() else c for c in key)
            if hasattr(view, attr):
                pairs[key] = getattr(view, attr)
    for key, val in pairs.items():
        if key in decoded:
            assert decoded[key] == val, f"{where}: {key}"


def _market_of(step: InstructionStep, codec: AccountCodec) -> MarketKeys:
    return MarketKeys.from_market(codec.decode_spot_market(step.pre("spotMarket").raw()))


def build_canonical(
    step: InstructionStep, b: DriftInstructions, codec: AccountCodec
) -> Instruction:
    """Build the step's instruction from what a user supplies, as the CLI would."""
    who = step.meta
    name, args = step.instruction, step.args
    if name == "initializeUserStats":
        return b.initialize_user_stats(who("authority").pubkey, who("payer").pubkey)
    if name == "initializeInsuranceFundStake":
        return b.initialize_insurance_fund_stake(
            args["marketIndex"], who("authority").pubkey, who("payer").pubkey
        )
    if name == "addInsuranceFundStake":
        return b.add_insurance_fund_stake(
            _market_of(step, codec),
            args["amount"],
            who("authority").pubkey,
            who("userTokenAccount").pubkey,
        )
    if name == "requestRemoveInsuranceFundStake":
        return b.request_remove_insurance_fund_stake(
            _market_of(step, codec), args["amount"], who("authority").pubkey
        )
    if name == "cancelRequestRemoveInsuranceFundStake":
        return b.cancel_request_remove_insurance_fund_stake(
            _market_of(step, codec), who("authority").pubkey
        )
    if name == "removeInsuranceFundStake":
        return b.remove_insurance_fund_stake(
            _market_of(step, codec), who("authority").pubkey, who("userTokenAccount").pubkey
        )
    if name == "settleRevenueToInsuranceFund":
        return b.settle_revenue_to_insurance_fund(_market_of(step, codec))
    if name == "depositIntoSpotMarketRevenuePool":
        return b.deposit_into_spot_market_revenue_pool(
            _market_of(step, codec),
            args["amount"],
            who("authority").pubkey,
            who("userTokenAccount").pubkey,
        )
    if name == "updateUserQuoteAssetInsuranceStake":
        user_stats = codec.decode_user_stats(step.pre("userStats").raw())
        return b.update_user_quote_asset_insurance_stake(
            user_stats.authority, who("signer").pubkey, _market_of(step, codec)
        )
    raise AssertionError(f"no builder for trace instruction {name!r}")


def _metas(ix: Instruction) -> list[tuple[Pubkey, bool, bool]]:
    return [(m.pubkey, m.is_signer, m.is_writable) for m in ix.accounts]


def test_builders_reproduce_every_instruction(
    traces: list[Trace], builders: DriftInstructions, codec: AccountCodec
) -> None:
    canonical = deviating = 0
    for trace in traces:
        for step in trace.instruction_steps():
            where = f"{trace.name} step {step.index} ({step.instruction})"
            assert step.program_id == builders.profile.program_id, where
            expected = [(m.pubkey, m.is_signer, m.is_writable) for m in step.accounts]
            # The generic encoder reproduces data and metas from args and roles alone.
            generic = builders.build(
                step.instruction,
                step.args,
                {m.role: m.pubkey for m in step.accounts},
                signer_overrides={m.role: m.is_signer for m in step.accounts},
                writable_overrides={m.role: m.is_writable for m in step.accounts},
            )
            assert bytes(generic.data) == step.data, where
            assert _metas(generic) == expected, where
            ix = build_canonical(step, builders, codec)
            assert ix.program_id == step.program_id, where
            assert bytes(ix.data) == step.data, where
            if _metas(ix) == expected:
                canonical += 1
            else:
                # A trace may pass wrong accounts on purpose to show the program's
                # rejection; our builders never produce those, and the program failed.
                assert not step.result.ok, f"{where}: builder metas differ from a good call"
                deviating += 1
    assert canonical > 0
    assert deviating <= canonical


def test_discriminators_match_anchor_rule(traces: list[Trace], builders: DriftInstructions) -> None:
    import hashlib

    for trace in traces:
        for step in trace.instruction_steps():
            snake = "".join("_" + c.lower() if c.isupper() else c for c in step.instruction)
            disc = hashlib.sha256(f"global:{snake}".encode()).digest()[:8]
            assert step.data[:8] == disc, f"{trace.name} step {step.index}"
