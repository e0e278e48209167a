"""PDAs against the spec's mainnet table (§1.2) and a fork's program id."""

from __future__ import annotations

from solders.pubkey import Pubkey

from keeper.core.addresses import DriftAddresses
from keeper.core.profile import DRIFT_MAINNET


def test_mainnet_addresses_from_the_spec() -> None:
    a = DriftAddresses(DRIFT_MAINNET.program_id)
    assert str(a.state()) == "5zpq7DvB6UdFFvpmBPspGPNfUGoBRRCE2HHg5u3gxcsN"
    assert str(a.drift_signer()) == "JCNCMFXo5M5qwUPg2Utu1u6YWp3MbygxqBsBeXXJfrw"
    assert a.drift_signer_nonce() == 254
    markets = {
        0: (
            "6gMq3mRCKf8aP3ttTyYhuijVZ2LGi14oDsBbkgubfLB3",
            "GXWqPpjQpdz7KZw9p7f5PX2eGxHAhvpNXiviFkAB8zXg",
            "2CqkQvYxp9Mq4PqLvAQ1eryYxebUh4Liyn5YMDtXsYci",
        ),
        1: (
            "3x85u7SWkmmr7YQGYhtjARgxwegTLJgkSLRprfXod6rh",
            "DfYCNezifxAEsQbAJ1b3j6PX3JVBe8fu11KBhxsbw5d2",
            "4vwQWa4RjmPkn1WrmyEE3t912yWsBf9JNkASH36AQL3F",
        ),
        15: (
            "9Qq91rsgDVNHahbbejHFonQ9FtUvzyVbH3xkVj2wSvG9",
            "BzZZhiX4xWzgoHTZtChAL87dgMARMrUn2zkN54Hp9vCp",
            "9EzLvGf4m7drJCoEdaLoC4D8uYux6tuM1EdtGV4YCEcS",
        ),
    }
    for index, (market, vault, if_vault) in markets.items():
        assert str(a.spot_market(index)) == market
        assert str(a.spot_market_vault(index)) == vault
        assert str(a.insurance_fund_vault(index)) == if_vault


def test_a_fork_derives_its_own_addresses() -> None:
    fork = DriftAddresses(Pubkey.new_unique())
    main = DriftAddresses(DRIFT_MAINNET.program_id)
    assert fork.state() != main.state() and fork.spot_market(0) != main.spot_market(0)
    who = Pubkey.new_unique()
    assert fork.insurance_fund_stake(who, 0) != fork.insurance_fund_stake(who, 1)
    assert fork.user_stats(who) != main.user_stats(who)
