"""getProgramAccounts filters run on the owner index's copy of the data; the copy must
follow every write (cheatcode, transaction, owner change, deletion)."""

from __future__ import annotations

from solders.account import Account
from solders.keypair import Keypair
from solders.message import Message
from solders.pubkey import Pubkey
from solders.system_program import AssignParams, assign
from solders.transaction import VersionedTransaction

from localnet.cluster import Cluster, ClusterConfig
from localnet.rpc.filters import AccountFilter, data_matcher


def _scan(cluster: Cluster, owner: Pubkey, first: int) -> list[Pubkey]:
    where = data_matcher(
        [AccountFilter(data_size=16), AccountFilter(memcmp_offset=0, memcmp_bytes=bytes([first]))]
    )
    return [address for address, _ in cluster.accounts_owned_by(owner, where)]


def test_filtered_scans_follow_every_write() -> None:
    cluster = Cluster(ClusterConfig(manual_slots=True))
    program = Keypair().pubkey()
    addresses = sorted((Keypair().pubkey() for _ in range(2_000)), key=bytes)
    for i, address in enumerate(addresses):
        cluster.set_account(address, Account(10**6, bytes([i % 10]) + bytes(15), program))
    assert _scan(cluster, program, 3) == [a for i, a in enumerate(addresses) if i % 10 == 3]

    moved = addresses[3]
    cluster.set_account(moved, Account(10**6, bytes([4]) + bytes(15), program))
    assert moved not in _scan(cluster, program, 3) and moved in _scan(cluster, program, 4)
    assert _scan(cluster, program, 4) == sorted(_scan(cluster, program, 4), key=bytes)

    cluster.set_account(addresses[13], Account(0, b"", program))  # closed: gone
    assert addresses[13] not in _scan(cluster, program, 3)

    # A transaction that hands an account to another owner moves it in the index.
    kp = Keypair()
    cluster.airdrop(kp.pubkey(), 10**9)
    other = Keypair().pubkey()
    ix = assign(AssignParams(pubkey=kp.pubkey(), owner=other))
    message = Message.new_with_blockhash([ix], kp.pubkey(), cluster.latest_blockhash()[0])
    assert cluster.send_transaction(VersionedTransaction(message, [kp])).err is None
    assert [a for a, _ in cluster.accounts_owned_by(other)] == [kp.pubkey()]
    assert kp.pubkey() not in [a for a, _ in cluster.accounts_owned_by(Pubkey.default())]
