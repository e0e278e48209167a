"""The JSON-RPC surface: framing, error objects, simple getters."""

from __future__ import annotations

import httpx
import pytest
from localnet_support import Localnet
from solders.pubkey import Pubkey

pytestmark = pytest.mark.asyncio(loop_scope="session")


async def test_health_version_genesis(localnet: Localnet) -> None:
    async with httpx.AsyncClient() as http:
        health = await http.get(f"{localnet.rpc_url}/health")
    assert health.status_code == 200 and health.text == "ok"
    assert (await localnet.cheat("getHealth")) == "ok"
    version = await localnet.client.get_version()
    assert version.value.solana_core
    genesis = await localnet.client.get_genesis_hash()
    assert genesis.value == (await localnet.client.get_genesis_hash()).value


async def test_error_objects_carry_validator_codes(localnet: Localnet) -> None:
    assert (await localnet.raw("noSuchMethod"))["error"]["code"] == -32601
    bad_key = await localnet.raw("getAccountInfo", ["not-a-key"])
    assert bad_key["error"]["code"] == -32602
    async with httpx.AsyncClient() as http:
        parse = (await http.post(localnet.rpc_url, content=b"{oops")).json()
        invalid = (await http.post(localnet.rpc_url, json={"id": 3, "method": "getSlot"})).json()
        empty_batch = (await http.post(localnet.rpc_url, json=[])).json()
    assert parse == {
        "jsonrpc": "2.0",
        "error": {"code": -32700, "message": "Parse error"},
        "id": None,
    }
    assert invalid["error"]["code"] == -32600 and invalid["id"] == 3
    assert empty_batch["error"]["code"] == -32600


async def test_batch_requests_answer_in_order(localnet: Localnet) -> None:
    batch = [
        {"jsonrpc": "2.0", "id": 1, "method": "getSlot"},
        {"jsonrpc": "2.0", "id": 2, "method": "nope"},
        {"jsonrpc": "2.0", "id": 3, "method": "getBlockHeight"},
    ]
    async with httpx.AsyncClient() as http:
        replies = (await http.post(localnet.rpc_url, json=batch)).json()
    assert [r["id"] for r in replies] == [1, 2, 3]
    assert replies[1]["error"]["code"] == -32601
    assert replies[0]["result"] == replies[2]["result"]


async def test_context_and_min_context_slot(localnet: Localnet) -> None:
    reply = await localnet.raw("getBalance", [str(Pubkey.new_unique())])
    slot = reply["result"]["context"]["slot"]
    assert reply["result"]["value"] == 0 and reply["result"]["context"]["apiVersion"]
    ahead = await localnet.raw(
        "getBalance", [str(Pubkey.new_unique()), {"minContextSlot": slot + 5}]
    )
    assert ahead["error"]["code"] == -32016


async def test_missing_account_and_rent(localnet: Localnet) -> None:
    info = await localnet.client.get_account_info(Pubkey.new_unique())
    assert info.value is None
    rent = (await localnet.client.get_minimum_balance_for_rent_exemption(165)).value
    assert rent == 2_039_280
    epoch = (await localnet.client.get_epoch_info()).value
    assert epoch.absolute_slot == (await localnet.client.get_slot()).value
