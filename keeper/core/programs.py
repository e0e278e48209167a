"""Addresses of the programs and sysvars the Insurance Fund works with, defined once.

The Drift program id is here only as the value the built-in profiles start from:
code that talks to a deployment asks its `ProgramProfile`, never this constant.
"""

from __future__ import annotations

from solders.pubkey import Pubkey

DRIFT_MAINNET_PROGRAM_ID = Pubkey.from_string("dRiftyHA39MWEi3m9aunc5MzRF1JYuBsbn6VPcn33UH")
#: Velocity, the relaunch of Drift (devnet and mainnet share the id; lib.rs `declare_id!`).
VELOCITY_PROGRAM_ID = Pubkey.from_string("vELoC1audYbSYVRXn1vPaV8Axoa9oU6BYmNGZZBDZ1P")
SYSTEM_PROGRAM_ID = Pubkey.from_string("11111111111111111111111111111111")
SPL_TOKEN_PROGRAM_ID = Pubkey.from_string("TokenkegQfeZyiNwAJbNbGKPFXCWuBvf9Ss623VQ5DA")
TOKEN_2022_PROGRAM_ID = Pubkey.from_string("TokenzQdBNbLqP5VEhdkAS6EPFLC1PHnBqCXEpPxuEb")
ASSOCIATED_TOKEN_PROGRAM_ID = Pubkey.from_string("ATokenGPvbdGVxr1b2hvZbsiqW5xWH25efTNsLJA8knL")
COMPUTE_BUDGET_PROGRAM_ID = Pubkey.from_string("ComputeBudget111111111111111111111111111111")
ADDRESS_LOOKUP_TABLE_PROGRAM_ID = Pubkey.from_string("AddressLookupTab1e1111111111111111111111111")
SYSVAR_RENT_ID = Pubkey.from_string("SysvarRent111111111111111111111111111111111")
#: The owner of every sysvar account (the Clock among them).
SYSVAR_PROGRAM_ID = Pubkey.from_string("Sysvar1111111111111111111111111111111111111")

#: A compute-unit price is in micro-lamports per unit.
MICRO_LAMPORTS_PER_LAMPORT = 1_000_000

#: Both token programs the Insurance Fund's vaults and wallets may belong to.
TOKEN_PROGRAM_IDS = (SPL_TOKEN_PROGRAM_ID, TOKEN_2022_PROGRAM_ID)
