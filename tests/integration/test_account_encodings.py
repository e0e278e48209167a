"""`base64+zstd` account data: every method and subscription that shows an account."""

from __future__ import annotations

import asyncio
import base64
import json
from typing import Any

import pytest
import websockets
import zstandard
from localnet_support import Localnet, create_mint, token_account
from solders.pubkey import Pubkey
from spl.token.constants import TOKEN_PROGRAM_ID

pytestmark = pytest.mark.asyncio(loop_scope="session")


def _unzstd(data: Any) -> bytes:
    text, encoding = data
    assert encoding == "base64+zstd"
    return bytes(zstandard.ZstdDecompressor().decompress(base64.b64decode(text)))


def _raw(data: Any) -> bytes:
    text, encoding = data
    assert encoding == "base64"
    return base64.b64decode(text)


async def test_zstd_matches_base64_in_every_account_read(localnet: Localnet) -> None:
    alice = await localnet.funded()
    mint = await create_mint(localnet, alice)
    ata = await token_account(localnet, alice, alice.pubkey(), mint, 5)
    zstd = {"encoding": "base64+zstd"}

    plain = (await localnet.cheat("getAccountInfo", [str(ata), {"encoding": "base64"}]))["value"]
    packed = (await localnet.cheat("getAccountInfo", [str(ata), zstd]))["value"]
    assert _unzstd(packed["data"]) == _raw(plain["data"]) and len(_raw(plain["data"])) == 165
    assert {k: v for k, v in packed.items() if k != "data"} == {
        k: v for k, v in plain.items() if k != "data"
    }

    sliced = await localnet.cheat(
        "getAccountInfo", [str(ata), {**zstd, "dataSlice": {"offset": 64, "length": 8}}]
    )
    assert _unzstd(sliced["value"]["data"]) == (5).to_bytes(8, "little")

    many = await localnet.cheat("getMultipleAccounts", [[str(ata), str(mint)], zstd])
    assert _unzstd(many["value"][0]["data"]) == _raw(plain["data"])
    assert len(_unzstd(many["value"][1]["data"])) == 82

    filters = [{"memcmp": {"offset": 0, "bytes": str(mint)}}, {"dataSize": 165}]
    program = await localnet.cheat(
        "getProgramAccounts", [str(TOKEN_PROGRAM_ID), {**zstd, "filters": filters}]
    )
    assert [p["pubkey"] for p in program] == [str(ata)]
    assert _unzstd(program[0]["account"]["data"]) == _raw(plain["data"])

    # solders decodes the encoding, so solana-py's typed client reads the same bytes.
    typed = await localnet.client.get_account_info(ata, encoding="base64+zstd")
    assert typed.value is not None and bytes(typed.value.data) == _raw(plain["data"])


async def test_zstd_in_account_and_program_notifications(localnet: Localnet) -> None:
    alice = await localnet.funded()
    mint = await create_mint(localnet, alice)
    ata = await token_account(localnet, alice, alice.pubkey(), mint, 0)
    cfg = {"encoding": "base64+zstd", "commitment": "confirmed"}
    async with websockets.connect(localnet.ws_url) as ws:
        await ws.send(
            json.dumps(
                [
                    {
                        "jsonrpc": "2.0",
                        "id": 1,
                        "method": "accountSubscribe",
                        "params": [str(ata), cfg],
                    },
                    {
                        "jsonrpc": "2.0",
                        "id": 2,
                        "method": "programSubscribe",
                        "params": [str(TOKEN_PROGRAM_ID), {**cfg, "filters": [{"dataSize": 165}]}],
                    },
                ]
            )
        )
        subs = {r["result"]: r["id"] for r in json.loads(await ws.recv())}
        await localnet.cheat("localnet_setTokenAccountBalance", [str(ata), 9])
        seen: dict[int, bytes] = {}
        while len(seen) < 2:
            note = json.loads(await asyncio.wait_for(ws.recv(), 5))["params"]
            value = note["result"]["value"]
            if subs[note["subscription"]] == 2:
                assert Pubkey.from_string(value["pubkey"]) == ata
                value = value["account"]
            seen[subs[note["subscription"]]] = _unzstd(value["data"])
        assert seen[1] == seen[2] and seen[1][64:72] == (9).to_bytes(8, "little")
