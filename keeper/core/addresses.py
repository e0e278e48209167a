"""Program-derived addresses of the Drift accounts the IF instructions use."""

from __future__ import annotations

from dataclasses import dataclass

from solders.pubkey import Pubkey

from keeper.core.programs import ASSOCIATED_TOKEN_PROGRAM_ID


def _u16(index: int) -> bytes:
    if not 0 <= index <= 0xFFFF:
        raise ValueError(f"market index {index} is not a u16")
    return index.to_bytes(2, "little")


@dataclass(frozen=True)
class DriftAddresses:
    """PDAs under one program id. Pure: derives, never fetches."""

    program_id: Pubkey
    #: Drift's seeds by default; a profile passes its own (Velocity: velocity_state/_signer).
    state_seed: bytes = b"drift_state"
    signer_seed: bytes = b"drift_signer"

    def _pda(self, *seeds: bytes) -> Pubkey:
        return Pubkey.find_program_address(list(seeds), self.program_id)[0]

    def state(self) -> Pubkey:
        return self._pda(self.state_seed)

    def drift_signer(self) -> Pubkey:
        return self._pda(self.signer_seed)

    def drift_signer_nonce(self) -> int:
        return Pubkey.find_program_address([self.signer_seed], self.program_id)[1]

    def spot_market(self, market_index: int) -> Pubkey:
        return self._pda(b"spot_market", _u16(market_index))

    def spot_market_vault(self, market_index: int) -> Pubkey:
        return self._pda(b"spot_market_vault", _u16(market_index))

    def insurance_fund_vault(self, market_index: int) -> Pubkey:
        return self._pda(b"insurance_fund_vault", _u16(market_index))

    def user_stats(self, authority: Pubkey) -> Pubkey:
        return self._pda(b"user_stats", bytes(authority))

    def insurance_fund_stake(self, authority: Pubkey, market_index: int) -> Pubkey:
        return self._pda(b"insurance_fund_stake", bytes(authority), _u16(market_index))


def associated_token_address(owner: Pubkey, mint: Pubkey, token_program: Pubkey) -> Pubkey:
    return Pubkey.find_program_address(
        [bytes(owner), bytes(token_program), bytes(mint)], ASSOCIATED_TOKEN_PROGRAM_ID
    )[0]
