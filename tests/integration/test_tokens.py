"""SPL Token through real transactions: mint, ATAs, transfers, balances, scans."""

from __future__ import annotations

import pytest
from localnet_support import Localnet, create_mint, token_account
from solana.rpc.types import DataSliceOpts, MemcmpOpts, TokenAccountOpts
from solders.keypair import Keypair
from solders.pubkey import Pubkey
from spl.token.constants import TOKEN_PROGRAM_ID
from spl.token.instructions import TransferCheckedParams, transfer_checked

pytestmark = pytest.mark.asyncio(loop_scope="session")


async def test_spl_transfer_and_balances(localnet: Localnet) -> None:
    alice = await localnet.funded()
    bob = Keypair()
    mint = await create_mint(localnet, alice, decimals=6)
    src = await token_account(localnet, alice, alice.pubkey(), mint, 5_000_000)
    dst = await token_account(localnet, alice, bob.pubkey(), mint)
    ix = transfer_checked(
        TransferCheckedParams(
            program_id=TOKEN_PROGRAM_ID,
            source=src,
            mint=mint,
            dest=dst,
            owner=alice.pubkey(),
            amount=1_250_000,
            decimals=6,
        )
    )
    sig = await localnet.send(await localnet.tx([ix], alice))

    bal = (await localnet.client.get_token_account_balance(dst)).value
    assert (bal.amount, bal.decimals, bal.ui_amount_string) == ("1250000", 6, "1.25")
    assert (await localnet.client.get_token_account_balance(src)).value.amount == "3750000"
    supply = await localnet.cheat("getTokenSupply", [str(mint)])
    assert supply["value"]["amount"] == "5000000"

    meta = (await localnet.client.get_transaction(sig)).value.transaction.meta  # type: ignore[union-attr]
    assert meta is not None
    pre = {b.account_index: b.ui_token_amount.amount for b in meta.pre_token_balances or []}
    post = {b.account_index: b.ui_token_amount.amount for b in meta.post_token_balances or []}
    assert sorted(pre.values()) == ["0", "5000000"] and sorted(post.values()) == [
        "1250000",
        "3750000",
    ]
    assert any("Instruction: TransferChecked" in line for line in meta.log_messages or [])

    by_mint = await localnet.client.get_token_accounts_by_owner(
        bob.pubkey(), TokenAccountOpts(mint=mint)
    )
    assert [a.pubkey for a in by_mint.value] == [dst]
    parsed = await localnet.client.get_token_accounts_by_owner_json_parsed(
        bob.pubkey(), TokenAccountOpts(program_id=TOKEN_PROGRAM_ID)
    )
    info = parsed.value[0].account.data.parsed["info"]
    assert info["mint"] == str(mint) and info["tokenAmount"]["uiAmountString"] == "1.25"


async def test_program_accounts_filters(localnet: Localnet) -> None:
    alice = await localnet.funded()
    mint = await create_mint(localnet, alice, decimals=0)
    holders = [Keypair().pubkey() for _ in range(3)]
    for i, holder in enumerate(holders):
        await token_account(localnet, alice, holder, mint, i + 1)
    found = await localnet.client.get_program_accounts(
        TOKEN_PROGRAM_ID,
        filters=[165, MemcmpOpts(offset=0, bytes=str(mint))],
    )
    assert len(found.value) == 3
    one = await localnet.client.get_program_accounts(
        TOKEN_PROGRAM_ID,
        filters=[
            MemcmpOpts(offset=0, bytes=str(mint)),
            MemcmpOpts(offset=32, bytes=str(holders[1])),
        ],
        data_slice=DataSliceOpts(offset=64, length=8),
    )
    assert len(one.value) == 1
    assert int.from_bytes(one.value[0].account.data, "little") == 2
    mints = await localnet.client.get_program_accounts(TOKEN_PROGRAM_ID, filters=[82])
    assert mint in {a.pubkey for a in mints.value}


async def test_cheat_token_balance(localnet: Localnet) -> None:
    alice = await localnet.funded()
    mint = await create_mint(localnet, alice)
    ata = await token_account(localnet, alice, alice.pubkey(), mint, 10)
    await localnet.cheat("localnet_setTokenAccountBalance", [str(ata), 123_456_789])
    assert (await localnet.client.get_token_account_balance(ata)).value.amount == "123456789"
    bob = Keypair().pubkey()
    made = await localnet.cheat("localnet_setTokenAccount", [str(bob), str(mint), {"amount": 42}])
    made_ata = Pubkey.from_string(made["value"]["address"])
    bal = (await localnet.client.get_token_account_balance(made_ata)).value
    assert bal.amount == "42"
    not_token = await localnet.raw("localnet_setTokenAccountBalance", [str(alice.pubkey()), 1])
    assert not_token["error"]["code"] == -32602
