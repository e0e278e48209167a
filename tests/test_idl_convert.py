"""The Anchor 1.x → legacy IDL rewrite, on our Velocity IDL.

Round trip: 1.x → legacy → 1.x gives back every IF account, instruction and event
unchanged (and the whole file). Discriminators are Anchor's sha256 derivations and the
bytes the upstream IDL (velocity-v1 0077e03b) records; layouts have the program's sizes.
"""

from __future__ import annotations

import copy
import hashlib
import json
from pathlib import Path
from typing import Any

import pytest

from keeper.core.errors import ConfigError
from keeper.core.profile import BUNDLED_IDL_PATH, VELOCITY
from keeper.program.idl import CODER_ACCOUNTS, CODER_EVENTS, load_idl
from keeper.program.idl_convert import (
    camel,
    discriminator,
    from_legacy,
    is_anchor1,
    snake,
    to_legacy,
)
from keeper.program.layout import IdlLayout

RAW: dict[str, Any] = json.loads(Path(VELOCITY.idl_path).read_text())
IF_INSTRUCTIONS = (
    "initialize_user_stats",
    "initialize_insurance_fund_stake",
    "add_insurance_fund_stake",
    "request_remove_insurance_fund_stake",
    "cancel_request_remove_insurance_fund_stake",
    "remove_insurance_fund_stake",
    "settle_revenue_to_insurance_fund",
    "deposit_into_spot_market_revenue_pool",
    "update_user_quote_asset_insurance_stake",
)
#: The discriminators the upstream IDL (velocity-v1 0077e03b) records, read by hand.
UPSTREAM_DISCRIMINATORS = {
    ("global", "add_insurance_fund_stake"): "fb90730bde2f3eec",
    ("global", "cancel_request_remove_insurance_fund_stake"): "61eb4e3ed42af17f",
    ("global", "deposit_into_spot_market_revenue_pool"): "5c28972a7afe8bf6",
    ("global", "initialize_insurance_fund_stake"): "bbb3f346f85a5c93",
    ("global", "initialize_user_stats"): "fef34862fb82a8d5",
    ("global", "remove_insurance_fund_stake"): "80a68e09febb8fae",
    ("global", "request_remove_insurance_fund_stake"): "8e46cc5c496ab434",
    ("global", "settle_revenue_to_insurance_fund"): "c8785d884526c79f",
    ("global", "update_user_quote_asset_insurance_stake"): "fb659c07023f1e17",
    ("account", "InsuranceFundStake"): "6eca0e2a5f495a5f",
    ("account", "SpotMarket"): "64b1086ba8414127",
    ("account", "State"): "d8926b5e684bb6b1",
    ("account", "UserStats"): "b0df881b7a4f20e3",
    ("event", "InsuranceFundRecord"): "38ded7eb4ec56392",
    ("event", "InsuranceFundStakeRecord"): "44429c07d894fa72",
    ("event", "SpotInterestRecord"): "b7bacbbae1bb5f82",
}


def _by_name(entries: list[dict[str, Any]], name: str) -> dict[str, Any]:
    return next(e for e in entries if e["name"] == name)


def test_our_velocity_idl_is_anchor1_and_drift_json_is_legacy() -> None:
    assert is_anchor1(RAW)
    assert RAW["metadata"]["spec"] == "0.1.0"
    assert RAW["address"] == str(VELOCITY.program_id)
    assert not is_anchor1(json.loads(BUNDLED_IDL_PATH.read_text()))
    assert load_idl(VELOCITY.idl_path).anchor1
    assert not load_idl(BUNDLED_IDL_PATH).anchor1


def test_the_whole_idl_round_trips() -> None:
    assert from_legacy(to_legacy(RAW)) == RAW


@pytest.mark.parametrize("name", IF_INSTRUCTIONS)
def test_each_if_instruction_round_trips(name: str) -> None:
    back = from_legacy(to_legacy(RAW))
    assert _by_name(back["instructions"], name) == _by_name(RAW["instructions"], name)


@pytest.mark.parametrize("name", CODER_ACCOUNTS)
def test_each_account_round_trips(name: str) -> None:
    back = from_legacy(to_legacy(RAW))
    assert _by_name(back["accounts"], name) == _by_name(RAW["accounts"], name)
    assert _by_name(back["types"], name) == _by_name(RAW["types"], name)


@pytest.mark.parametrize("name", CODER_EVENTS)
def test_each_event_round_trips(name: str) -> None:
    back = from_legacy(to_legacy(RAW))
    assert _by_name(back["events"], name) == _by_name(RAW["events"], name)
    assert _by_name(back["types"], name) == _by_name(RAW["types"], name)


def test_the_legacy_form_has_what_anchorpy_expects() -> None:
    legacy = to_legacy(RAW)
    add = _by_name(legacy["instructions"], "addInsuranceFundStake")
    assert [a["name"] for a in add["args"]] == ["marketIndex", "amount"]
    signer = _by_name(add["accounts"], "velocitySigner")
    assert signer["isMut"] is False and signer["isSigner"] is False
    assert _by_name(add["accounts"], "authority")["isSigner"] is True
    assert _by_name(add["accounts"], "spotMarket")["isMut"] is True
    stake = _by_name(legacy["accounts"], "InsuranceFundStake")
    assert _by_name(stake["type"]["fields"], "authority")["type"] == "publicKey"
    market = _by_name(legacy["accounts"], "SpotMarket")
    assert _by_name(market["type"]["fields"], "insuranceFund")["type"] == {
        "defined": "InsuranceFund"
    }
    assert {t["name"] for t in legacy["types"]}.isdisjoint(CODER_ACCOUNTS + CODER_EVENTS)
    record = _by_name(legacy["events"], "InsuranceFundStakeRecord")
    assert record["fields"][1] == {"name": "userAuthority", "type": "publicKey", "index": False}
    assert legacy["version"] == "2.165.0" and legacy["name"] == "velocity"
    assert legacy["metadata"]["address"] == RAW["address"]


@pytest.mark.parametrize("name", IF_INSTRUCTIONS)
def test_instruction_discriminators_are_sha256_of_global_name(name: str) -> None:
    ix = _by_name(RAW["instructions"], name)
    want = hashlib.sha256(f"global:{name}".encode()).digest()[:8]
    assert bytes(ix["discriminator"]) == want
    assert want.hex() == UPSTREAM_DISCRIMINATORS[("global", name)]
    # AnchorPy derives it from the legacy camelCase name: the same bytes
    assert snake(camel(name)) == name


@pytest.mark.parametrize(("kind", "section"), [("account", "accounts"), ("event", "events")])
def test_account_and_event_discriminators_are_sha256_of_their_name(kind: str, section: str) -> None:
    for entry in RAW[section]:
        want = hashlib.sha256(f"{kind}:{entry['name']}".encode()).digest()[:8]
        assert bytes(entry["discriminator"]) == want
        assert want.hex() == UPSTREAM_DISCRIMINATORS[(kind, entry["name"])]


def test_anchorpy_derives_the_same_discriminators_from_the_legacy_form() -> None:
    idl = load_idl(VELOCITY.idl_path)
    accounts = idl.coder.accounts.acc_name_to_discriminator
    for name in CODER_ACCOUNTS:
        assert bytes(accounts[name]) == bytes(discriminator("account", name))
    events = {bytes(k) for k in idl.coder.events.discriminator_to_layout}
    assert events == {bytes(discriminator("event", n)) for n in CODER_EVENTS}
    sighashes = {bytes(idl.coder.instruction.sighashes[n]).hex(): n for n in IF_INSTRUCTIONS}
    assert sighashes == {UPSTREAM_DISCRIMINATORS[("global", n)]: n for n in IF_INSTRUCTIONS}


def test_layout_sizes_are_the_programs_account_sizes() -> None:
    layout = IdlLayout(to_legacy(RAW), CODER_ACCOUNTS)
    assert layout.sizes == {
        "SpotMarket": 1064,  # 8 + size_of 1056 (with the 256-byte reserve)
        "State": 1744,  # 8 + the packed 1736 (the host pads the struct to 1744)
        "UserStats": 240,
        "InsuranceFundStake": 136,
    }


@pytest.mark.parametrize(
    ("account", "path", "offset"),
    [
        ("SpotMarket", "insuranceFund.vault", 168),
        ("SpotMarket", "insuranceFund.ifFeeFactor", 272),
        ("SpotMarket", "revenuePool.scaledBalance", 392),
        ("SpotMarket", "insuranceFundRevenueReceivableScaled", 440),
        ("SpotMarket", "cumulativeDepositInterest", 328),
        ("SpotMarket", "utilizationTwap", 576),
        ("SpotMarket", "decimals", 696),
        ("SpotMarket", "marketIndex", 700),
        ("SpotMarket", "status", 704),
        ("SpotMarket", "pausedOperations", 706),
        ("SpotMarket", "ifPausedOperations", 707),
        ("SpotMarket", "tokenProgramFlag", 745),
        ("SpotMarket", "ifLastSettleVaultAmount", 800),
        ("SpotMarket", "revenueSettleAllowance", 808),
        ("SpotMarket", "perpMarketIfRevenueReceivable", 816),
        ("State", "coldAdmin", 8),
        ("State", "signer", 488),
        ("State", "numberOfAuthorities", 1336),
        ("State", "numberOfSpotMarkets", 1360),
        ("State", "signerNonce", 1362),
        ("State", "exchangeStatus", 1366),
        ("UserStats", "ifStakedQuoteAssetAmount", 152),
        ("UserStats", "numberOfSubAccounts", 160),
        ("InsuranceFundStake", "ifShares", 40),
        ("InsuranceFundStake", "marketIndex", 120),
    ],
)
def test_field_offsets_match_the_struct_tables(account: str, path: str, offset: int) -> None:
    layout = IdlLayout(to_legacy(RAW), CODER_ACCOUNTS)
    assert layout.slots[account][path].offset == offset


def test_a_wrong_discriminator_is_refused() -> None:
    bad = copy.deepcopy(RAW)
    _by_name(bad["instructions"], "add_insurance_fund_stake")["discriminator"] = [0] * 8
    with pytest.raises(
        ConfigError, match="add_insurance_fund_stake: discriminator 0000000000000000"
    ):
        to_legacy(bad)


def test_a_listed_account_without_a_type_is_refused() -> None:
    bad = copy.deepcopy(RAW)
    bad["types"] = [t for t in bad["types"] if t["name"] != "UserStats"]
    with pytest.raises(ConfigError, match="UserStats but defines no type"):
        to_legacy(bad)


def test_generic_types_are_refused_with_a_clear_error() -> None:
    bad = copy.deepcopy(RAW)
    stake = _by_name(bad["types"], "InsuranceFundStake")
    stake["type"]["fields"][0]["type"] = {"defined": {"name": "X", "generics": [{"kind": "type"}]}}
    with pytest.raises(ConfigError, match="generic types are not supported"):
        to_legacy(bad)


def test_a_name_camel_case_cannot_give_back_round_trips() -> None:
    raw = copy.deepcopy(RAW)
    stats = _by_name(raw["types"], "UserStats")
    assert any(f["name"] == "last_maker_volume_30d_ts" for f in stats["type"]["fields"])
    legacy = to_legacy(raw)
    fields = _by_name(legacy["accounts"], "UserStats")["type"]["fields"]
    volume = _by_name(fields, "lastMakerVolume30dTs")
    assert volume["snakeName"] == "last_maker_volume_30d_ts"
    assert from_legacy(legacy) == raw


def test_camel_and_snake() -> None:
    assert camel("insurance_fund_revenue_receivable_scaled") == (
        "insuranceFundRevenueReceivableScaled"
    )
    assert camel("_padding_if") == "paddingIf"
    assert snake("velocitySigner") == "velocity_signer"


def test_an_instruction_name_camel_case_cannot_give_back_keeps_its_snake_name(
    tmp_path: Path,
) -> None:
    raw = copy.deepcopy(RAW)
    name = "update_window_30d"
    raw["instructions"].append(
        {"name": name, "discriminator": discriminator("global", name), "accounts": [], "args": []}
    )
    legacy = to_legacy(raw)
    assert _by_name(legacy["instructions"], name)["name"] == name  # AnchorPy hashes snake(name)
    assert from_legacy(legacy) == raw
    path = tmp_path / "velocity.json"
    path.write_text(json.dumps(raw))
    idl = load_idl(path)
    assert bytes(discriminator("global", name)) in idl.coder.instruction.sighash_to_name


def test_constructs_of_the_upstream_idl_convert_and_load(tmp_path: Path) -> None:
    """What the full upstream velocity.json (0077e03b) holds beyond our subset, seen while
    paging it: docs, relations, fixed addresses, PDAs with a foreign program, vec/option
    of defined types, bytes/string args, `_`-prefixed field and event names, bytemuck
    serialization, two fields that camelCase into one name (LPPool's padding/_padding)."""
    raw = copy.deepcopy(RAW)
    raw["instructions"].append(
        {
            "name": "withdraw_protocol_fees_spot",
            "docs": ["x"],
            "discriminator": discriminator("global", "withdraw_protocol_fees_spot"),
            "accounts": [
                {"name": "state"},
                {"name": "payer", "writable": True, "signer": True},
                {"name": "mint", "relations": ["spot_market_vault"]},
                {
                    "name": "recipient_token_account",
                    "writable": True,
                    "pda": {
                        "seeds": [
                            {"kind": "account", "path": "recipient"},
                            {"kind": "account", "path": "token_program"},
                            {"kind": "account", "path": "mint"},
                        ],
                        "program": {"kind": "const", "value": list(range(32))},
                    },
                },
                {"name": "system_program", "address": "11111111111111111111111111111111"},
            ],
            "args": [
                {"name": "market_index", "type": "u16"},
                {"name": "order_ids", "type": {"vec": "u32"}},
                {"name": "params", "type": {"option": {"defined": {"name": "Blob"}}}},
                {"name": "message", "type": "bytes"},
                {"name": "hash", "type": "string"},
                {"name": "_sub_account_id", "type": "u16"},
            ],
        }
    )
    raw["types"].append(
        {
            "name": "Blob",
            "serialization": "bytemuck",
            "repr": {"kind": "c"},
            "type": {
                "kind": "struct",
                "fields": [
                    {"name": "_a", "type": {"array": ["u8", 4]}},
                    {"name": "padding", "type": "u8"},
                    {"name": "_padding", "type": "u8"},
                    {"name": "list", "type": {"vec": {"defined": {"name": "StakeAction"}}}},
                ],
            },
        }
    )
    raw["events"].append(
        {"name": "_BlobExport", "discriminator": discriminator("event", "_BlobExport")}
    )
    raw["types"].append(
        {
            "name": "_BlobExport",
            "type": {
                "kind": "struct",
                "fields": [{"name": "_b", "type": {"defined": {"name": "Blob"}}}],
            },
        }
    )
    assert from_legacy(to_legacy(raw)) == raw
    path = tmp_path / "velocity.json"
    path.write_text(json.dumps(raw))
    idl = load_idl(path)
    assert "withdrawProtocolFeesSpot" in idl.instructions
    assert [m.name for m in idl.instruction("withdrawProtocolFeesSpot").accounts] == [
        "state",
        "payer",
        "mint",
        "recipientTokenAccount",
        "systemProgram",
    ]
    # AnchorPy cannot lay out Blob (`padding` and `_padding` both snake-case to `padding`):
    # the coder falls back to the instructions the keeper builds, which still encode
    sighashes = idl.coder.instruction.sighashes
    assert "withdraw_protocol_fees_spot" not in sighashes
    assert set(IF_INSTRUCTIONS) <= set(sighashes)
