"""Slots, the Clock sysvar, blockhash expiry and time travel, as seen by a client."""

from __future__ import annotations

import pytest
from localnet_support import Localnet
from solana.rpc.core import RPCException
from solana.rpc.types import TxOpts
from solders.clock import Clock
from solders.hash import Hash
from solders.instruction import Instruction
from solders.keypair import Keypair
from solders.system_program import TransferParams, transfer
from solders.sysvar import CLOCK

pytestmark = pytest.mark.asyncio(loop_scope="session")


async def _clock(net: Localnet) -> Clock:
    info = (await net.client.get_account_info(CLOCK)).value
    assert info is not None
    return Clock.from_bytes(bytes(info.data))


async def _valid(net: Localnet, blockhash: Hash) -> bool:
    reply = await net.cheat("isBlockhashValid", [str(blockhash), {"commitment": "processed"}])
    return bool(reply["value"])


async def test_blockhash_valid_for_150_slots_then_rejected(localnet: Localnet) -> None:
    alice = await localnet.funded()
    latest = (await localnet.client.get_latest_blockhash()).value
    height = (await localnet.client.get_block_height()).value
    assert latest.last_valid_block_height == height + 150

    def pay(lamports: int) -> list[Instruction]:
        params = TransferParams(
            from_pubkey=alice.pubkey(), to_pubkey=Keypair().pubkey(), lamports=lamports
        )
        return [transfer(params)]

    await localnet.cheat("localnet_timeTravel", [{"slots": 150}])
    assert (await _valid(localnet, latest.blockhash)) is True
    await localnet.send(await localnet.tx(pay(1_000_000), alice, blockhash=latest.blockhash))

    await localnet.cheat("localnet_timeTravel", [{"slots": 1}])
    assert (await _valid(localnet, latest.blockhash)) is False
    stale = await localnet.tx(pay(2_000_000), alice, blockhash=latest.blockhash)
    with pytest.raises(RPCException) as caught:
        await localnet.client.send_transaction(stale)
    err = caught.value.args[0]
    assert err.message == "Transaction simulation failed: Blockhash not found"
    assert err.data.units_consumed == 0 and err.data.logs == []
    before = await localnet.balance(alice.pubkey())
    sent = await localnet.client.send_transaction(stale, opts=TxOpts(skip_preflight=True))
    assert (await localnet.client.get_signature_statuses([sent.value])).value == [None]
    assert await localnet.balance(alice.pubkey()) == before


async def test_time_travel_moves_the_clock_sysvar(localnet: Localnet) -> None:
    start = await _clock(localnet)
    assert start.slot == (await localnet.client.get_slot()).value
    result = await localnet.cheat("localnet_timeTravel", [{"seconds": 3600}])
    after = await _clock(localnet)
    assert after.unix_timestamp == start.unix_timestamp + 3600
    assert after.slot == start.slot + 3600 * 1000 // 400 == result["absoluteSlot"]
    assert result["unixTimestamp"] == after.unix_timestamp

    await localnet.cheat(
        "localnet_timeTravel", [{"absoluteTimestamp": after.unix_timestamp + 86_400}]
    )
    assert (await _clock(localnet)).unix_timestamp == after.unix_timestamp + 86_400

    target = (await _clock(localnet)).slot + 10
    await localnet.cheat("localnet_timeTravel", [{"absoluteSlot": target}])
    clock = await _clock(localnet)
    assert (
        clock.slot == target and clock.epoch == (await localnet.client.get_epoch_info()).value.epoch
    )
    assert (await localnet.client.get_block_time(target)).value == clock.unix_timestamp
    assert (await localnet.client.get_block_time(after.slot)).value == after.unix_timestamp

    # An absolute slot and timestamp together, as a recorded clock sets them.
    pair = {"absoluteSlot": clock.slot + 7, "absoluteTimestamp": clock.unix_timestamp + 600}
    await localnet.cheat("localnet_timeTravel", [pair])
    moved = await _clock(localnet)
    assert (moved.slot, moved.unix_timestamp) == (clock.slot + 7, clock.unix_timestamp + 600)


async def test_warp_clock_goes_back_but_slots_do_not(localnet: Localnet) -> None:
    before = await _clock(localnet)
    await localnet.cheat("localnet_warpClock", [{"unixTimestamp": before.unix_timestamp - 3600}])
    after = await _clock(localnet)
    assert after.unix_timestamp == before.unix_timestamp - 3600
    assert after.slot == before.slot + 1
    bad = await localnet.raw("localnet_warpClock", [{"seconds": 5}])
    assert bad["error"]["code"] == -32602
    await localnet.cheat("localnet_timeTravel", [{"absoluteTimestamp": before.unix_timestamp + 1}])


async def test_time_only_moves_forward(localnet: Localnet) -> None:
    now = await _clock(localnet)
    for bad in (
        {"absoluteSlot": now.slot},
        {"absoluteTimestamp": now.unix_timestamp - 1},
        {"slots": 0},
        {"seconds": -5},
        {"slots": 1, "seconds": 1},
        {"absoluteSlot": now.slot + 5, "absoluteTimestamp": now.unix_timestamp - 1},
    ):
        reply = await localnet.raw("localnet_timeTravel", [bad])
        assert reply["error"]["code"] == -32602, bad
    assert (await _clock(localnet)).slot == now.slot
    future = await localnet.raw("getBlockTime", [now.slot + 1])
    assert future["error"]["code"] == -32004


async def test_pause_and_resume_report_the_clock(localnet: Localnet) -> None:
    paused = await localnet.cheat("localnet_pauseClock")
    assert paused["paused"] is True and paused["slotMs"] == 400
    dump = await localnet.cheat("localnet_dumpState", [{"addresses": [str(CLOCK)]}])
    assert (
        str(CLOCK) in dump["accounts"] and dump["clock"]["absoluteSlot"] == paused["absoluteSlot"]
    )
