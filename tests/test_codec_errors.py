"""Wrong accounts are typed errors, never garbage views."""

from __future__ import annotations

import dataclasses

import pytest
from solders.pubkey import Pubkey

from keeper.core.errors import DecodeError
from keeper.core.spl_token import decode_mint, decode_token_account
from keeper.core.views import RawAccount
from keeper.program.codec import AccountCodec
from keeper.program.goldentrace import Trace


def _first(traces: list[Trace], prefix: str) -> RawAccount:
    return next(
        a.raw()
        for t in traces
        for a in t.setup_accounts
        if a.label.startswith(prefix) and a.has_data
    )


def test_drift_accounts(bundled_traces: list[Trace], codec: AccountCodec) -> None:
    market = _first(bundled_traces, "spotMarket")
    state = _first(bundled_traces, "state")
    codec.decode_spot_market(market)  # the real thing decodes
    with pytest.raises(DecodeError, match="owned by"):
        codec.decode_spot_market(dataclasses.replace(market, owner=Pubkey.new_unique()))
    with pytest.raises(DecodeError, match="is 776 bytes"):
        codec.decode_spot_market(dataclasses.replace(market, data=market.data + b"\x00"))
    with pytest.raises(DecodeError, match="expected a SpotMarket account, found a State"):
        codec.decode_spot_market(dataclasses.replace(state, data=state.data[:776]))
    with pytest.raises(DecodeError, match="discriminator"):
        codec.decode_stake(dataclasses.replace(market, data=bytes(136)))
    with pytest.raises(DecodeError, match="records its own address"):
        codec.decode_spot_market(dataclasses.replace(market, address=Pubkey.new_unique()))
    with pytest.raises(DecodeError, match="not a Drift"):
        codec.decode_drift(dataclasses.replace(market, data=bytes(776)))


def test_token_accounts_and_mints(bundled_traces: list[Trace]) -> None:
    vault = _first(bundled_traces, "insuranceFundVault")
    mint = _first(bundled_traces, "usdc-mint")
    assert decode_token_account(vault).amount >= 0 and decode_mint(mint).decimals == 6
    with pytest.raises(DecodeError, match="not a token account"):
        decode_token_account(dataclasses.replace(vault, owner=Pubkey.new_unique()))
    with pytest.raises(DecodeError, match="bytes is not a token account"):
        decode_token_account(dataclasses.replace(vault, data=vault.data[:100]))
    with pytest.raises(DecodeError, match="not initialized"):
        decode_token_account(
            dataclasses.replace(vault, data=vault.data[:108] + b"\x00" + vault.data[109:])
        )
    with pytest.raises(DecodeError, match="not a mint"):
        decode_mint(dataclasses.replace(mint, owner=Pubkey.new_unique()))
    with pytest.raises(DecodeError, match="mint is not initialized"):
        decode_mint(dataclasses.replace(mint, data=mint.data[:45] + b"\x00" + mint.data[46:]))
    with pytest.raises(DecodeError, match="COption"):
        decode_mint(dataclasses.replace(mint, data=b"\x07" + mint.data[1:]))
