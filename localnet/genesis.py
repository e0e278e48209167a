"""Drift genesis: a ready exchange written directly as accounts.

A Drift exchange is normally created by a dozen admin instructions. The localnet
instead writes the resulting accounts: the State, spot markets with their mints,
vaults and IF vaults, chosen IF parameters, and funded stakers. State and SpotMarket
bytes start from templates the real program wrote (see templates/drift-accounts.json)
and only addresses, indexes, decimals, IF and rate parameters are patched, so the
same genesis boots both our model and a real Drift binary, here or in
solana-test-validator (`export_test_validator_accounts`).
"""

from __future__ import annotations

import base64
import dataclasses
import hashlib
import json
from dataclasses import dataclass, field
from importlib.resources import files
from pathlib import Path

from solders.account import Account
from solders.keypair import Keypair
from solders.pubkey import Pubkey

from keeper.core import (
    IF_FACTOR_PRECISION,
    SPL_TOKEN_PROGRAM_ID,
    SPOT_RATE_PRECISION,
    SYSTEM_PROGRAM_ID,
    TOKEN_2022_PROGRAM_ID,
    Mint,
    ProgramProfile,
    RawAccount,
    TokenAccount,
    associated_token_address,
    encode_mint,
    encode_token_account,
)
from keeper.program import AccountCodec, load_idl
from localnet.account_files import account_file_json
from localnet.cluster import Cluster

TEMPLATES = files("localnet").joinpath("templates", "drift-accounts.json")
CUMULATIVE_INTEREST_ONE = 10_000_000_000
ONE_HOUR = 3600
THIRTEEN_DAYS = 1_123_200
#: MarketStatus::Active in the views' numbering (the codec maps each build's own)
MARKET_STATUS_ACTIVE = 1


def rent_exempt_lamports(data_len: int) -> int:
    """Solana's default rent: (128 + len) bytes × 3480 lamports/byte-year × 2 years."""
    return (128 + data_len) * 3480 * 2


def localnet_keypair(label: str) -> Keypair:
    """Deterministic keypairs so demos, tests and exported genesis agree on addresses."""
    return Keypair.from_seed(hashlib.sha256(f"drift-if-localnet/v1/{label}".encode()).digest())


@dataclass(frozen=True)
class MarketSpec:
    market_index: int
    symbol: str
    decimals: int
    user_factor: int = 500_000
    total_factor: int = IF_FACTOR_PRECISION  # 100% of revenue to the IF
    revenue_settle_period_seconds: int = ONE_HOUR
    unstaking_period_seconds: int = THIRTEEN_DAYS
    optimal_utilization: int = 800_000
    optimal_borrow_rate: int = 100_000
    max_borrow_rate: int = SPOT_RATE_PRECISION  # 100% APR
    min_borrow_rate: int = 0
    #: the market's mint lives in Token-2022 (token_program_flag bit 0), like PYUSD
    token_2022: bool = False

    @property
    def token_program(self) -> Pubkey:
        return TOKEN_2022_PROGRAM_ID if self.token_2022 else SPL_TOKEN_PROGRAM_ID


@dataclass(frozen=True)
class StakerSpec:
    label: str
    lamports: int = 10_000_000_000
    #: token base units per market index, minted into the staker's associated account
    token_amounts: tuple[tuple[int, int], ...] = ()
    #: IF stakes that exist from the start (market index, base units), as if staked at
    #: `created_ts` into an empty fund (one share per base unit): many wallets' stakes
    #: without a transaction each (the keeper's resource benchmark)
    stakes: tuple[tuple[int, int], ...] = ()


@dataclass(frozen=True)
class GenesisSpec:
    markets: tuple[MarketSpec, ...] = (MarketSpec(0, "USDC", 6),)
    stakers: tuple[StakerSpec, ...] = (
        StakerSpec("alice", token_amounts=((0, 10_000_000_000),)),
        StakerSpec("bob", token_amounts=((0, 10_000_000_000),)),
    )
    #: clock the markets were "created" at (interest and TWAP timestamps)
    created_ts: int = 1_725_148_800
    keeper_label: str = "keeper"
    keeper_lamports: int = 100_000_000_000


@dataclass(frozen=True)
class Genesis:
    accounts: dict[Pubkey, RawAccount] = field(repr=False)
    keypairs: dict[str, Keypair] = field(repr=False)
    labels: dict[Pubkey, str]
    mints: dict[int, Pubkey]

    def keypair(self, label: str) -> Keypair:
        return self.keypairs[label]


def _templates() -> dict[str, bytes]:
    doc = json.loads(TEMPLATES.read_text())
    out = {}
    for name, entry in doc["accounts"].items():
        data = base64.b64decode(entry["data"])
        if hashlib.sha256(data).hexdigest() != entry["sha256"]:
            raise ValueError(f"template {name} does not match its recorded sha256")
        out[name] = data
    return out


def build_genesis(spec: GenesisSpec, profile: ProgramProfile) -> Genesis:
    """Write the accounts of a Drift exchange with `spec`'s markets and stakers."""
    if not spec.markets or spec.markets[0].market_index != 0:
        raise ValueError("a Drift exchange starts with the quote market, index 0")
    indexes = [m.market_index for m in spec.markets]
    if indexes != list(range(len(indexes))):
        raise ValueError(f"market indexes must be 0..n-1 in order, got {indexes}")
    codec = AccountCodec(load_idl(profile.idl_path), profile.program_id, profile.addresses)
    layout = codec.idl.layout
    pdas = profile.addresses
    templates = _templates()
    accounts: dict[Pubkey, RawAccount] = {}
    labels: dict[Pubkey, str] = {}
    keypairs: dict[str, Keypair] = {}

    def put(
        address: Pubkey, owner: Pubkey, data: bytes, label: str, lamports: int | None = None
    ) -> None:
        accounts[address] = RawAccount(
            address, owner, rent_exempt_lamports(len(data)) if lamports is None else lamports, data
        )
        labels[address] = label

    admin = localnet_keypair("admin")
    mint_authority = localnet_keypair("mint-authority")
    keypairs.update({"admin": admin, "mint-authority": mint_authority})
    signer = pdas.drift_signer()

    state_raw = RawAccount(
        pdas.state(), profile.program_id, 0, _template(templates, "State", "State", codec)
    )
    state = codec.decode_state(dataclasses.replace(state_raw, address=pdas.state()))
    state = dataclasses.replace(
        state,
        admin=admin.pubkey(),
        signer=signer,
        signer_nonce=pdas.drift_signer_nonce(),
        number_of_spot_markets=len(spec.markets),
        exchange_status=0,
    )
    put(pdas.state(), profile.program_id, codec.encode(state), "state")

    supplies: dict[int, int] = {m.market_index: 0 for m in spec.markets}
    for staker in spec.stakers:
        for idx, amount in staker.token_amounts:
            if idx not in supplies:
                raise ValueError(f"staker {staker.label}: no market {idx}")
            if amount < 0:
                raise ValueError(f"staker {staker.label}: negative amount")
            supplies[idx] += amount

    staked: dict[int, int] = {m.market_index: 0 for m in spec.markets}
    for staker in spec.stakers:
        for idx, amount in staker.stakes:
            if idx not in staked or amount <= 0:
                raise ValueError(f"staker {staker.label}: bad stake {amount} in market {idx}")
            staked[idx] += amount
            supplies[idx] += amount

    mints: dict[int, Pubkey] = {}
    for m in spec.markets:
        mint_kp = localnet_keypair(f"mint-{m.symbol.lower()}")
        keypairs[f"mint-{m.symbol.lower()}"] = mint_kp
        mint = mint_kp.pubkey()
        mints[m.market_index] = mint
        blank_mint = Mint(
            mint,
            m.token_program,
            mint_authority.pubkey(),
            supplies[m.market_index],
            m.decimals,
            True,
            None,
            bytes(82),
        )
        put(mint, m.token_program, encode_mint(blank_mint), f"mint-{m.symbol.lower()}")
        for vault, label in (
            (pdas.spot_market_vault(m.market_index), f"spotMarketVault{m.market_index}"),
            (pdas.insurance_fund_vault(m.market_index), f"insuranceFundVault{m.market_index}"),
        ):
            held = staked[m.market_index] if "insurance" in label else 0
            put(vault, m.token_program, _token_account(vault, mint, signer, held), label)
        template = _template(
            templates,
            "SpotMarketQuote" if m.market_index == 0 else "SpotMarketNonQuote",
            "SpotMarket",
            codec,
        )
        address = pdas.spot_market(m.market_index)
        view = codec.decode_spot_market(
            RawAccount(address, profile.program_id, 0, _retarget(template, address, codec))
        )
        oracle = (
            Pubkey.default()
            if m.market_index == 0
            else Pubkey.find_program_address(
                [b"prelaunch_oracle", m.market_index.to_bytes(2, "little")], profile.program_id
            )[0]
        )
        fund = dataclasses.replace(
            view.insurance_fund,
            vault=pdas.insurance_fund_vault(m.market_index),
            total_shares=staked[m.market_index],
            user_shares=staked[m.market_index],
            shares_base=0,
            unstaking_period_seconds=m.unstaking_period_seconds,
            last_revenue_settle_ts=0,
            revenue_settle_period_seconds=m.revenue_settle_period_seconds,
            total_factor=m.total_factor,
            # one factor (Velocity): the whole settle goes to the stakers
            user_factor=m.total_factor if codec.one_if_factor else m.user_factor,
        )
        view = dataclasses.replace(
            view,
            oracle=oracle,
            mint=mint,
            vault=pdas.spot_market_vault(m.market_index),
            revenue_pool_scaled_balance=0,
            insurance_fund=fund,
            deposit_balance=0,
            borrow_balance=0,
            cumulative_deposit_interest=CUMULATIVE_INTEREST_ONE,
            cumulative_borrow_interest=CUMULATIVE_INTEREST_ONE,
            deposit_token_twap=0,
            borrow_token_twap=0,
            utilization_twap=0,
            last_interest_ts=spec.created_ts,
            last_twap_ts=spec.created_ts,
            optimal_utilization=m.optimal_utilization,
            optimal_borrow_rate=m.optimal_borrow_rate,
            max_borrow_rate=m.max_borrow_rate,
            min_borrow_rate=m.min_borrow_rate,
            decimals=m.decimals,
            market_index=m.market_index,
            token_program_flag=1 if m.token_2022 else 0,
            status=MARKET_STATUS_ACTIVE,
        )
        data = bytearray(codec.encode(view))
        layout.write("SpotMarket", data, "name", m.symbol.encode()[:32].ljust(32, b" "))
        layout.write("SpotMarket", data, "revenuePool.marketIndex", m.market_index)
        put(address, profile.program_id, bytes(data), f"spotMarket{m.market_index}")

    for staker in (*spec.stakers, StakerSpec(spec.keeper_label, spec.keeper_lamports)):
        kp = localnet_keypair(staker.label)
        keypairs[staker.label] = kp
        put(kp.pubkey(), SYSTEM_PROGRAM_ID, b"", staker.label, lamports=staker.lamports)
        for idx, amount in staker.token_amounts:
            program = spec.markets[idx].token_program
            ata = associated_token_address(kp.pubkey(), mints[idx], program)
            put(
                ata,
                program,
                _token_account(ata, mints[idx], kp.pubkey(), amount),
                f"{staker.label}.token{idx}",
            )
        if staker.stakes:
            stats = codec.new_user_stats(pdas.user_stats(kp.pubkey()), kp.pubkey(), spec.created_ts)
            quote = sum(a for i, a in staker.stakes if i == 0)
            stats = dataclasses.replace(stats, if_staked_quote_asset_amount=quote)
            put(stats.address, profile.program_id, codec.encode(stats), f"{staker.label}.stats")
            for idx, amount in staker.stakes:
                address = pdas.insurance_fund_stake(kp.pubkey(), idx)
                stake = codec.new_stake(address, kp.pubkey(), idx, spec.created_ts)
                stake = dataclasses.replace(stake, if_shares=amount, cost_basis=amount)
                put(address, profile.program_id, codec.encode(stake), f"{staker.label}.stake{idx}")
    return Genesis(accounts=accounts, keypairs=keypairs, labels=labels, mints=mints)


def install_genesis(cluster: Cluster, genesis: Genesis) -> None:
    """Write every genesis account into a running cluster."""
    for address, acc in genesis.accounts.items():
        cluster.set_account(
            address, Account(acc.lamports, acc.data, acc.owner, acc.executable, acc.rent_epoch)
        )


def _template(templates: dict[str, bytes], name: str, account: str, codec: AccountCodec) -> bytes:
    """The bytes the real program wrote where the profile lays `account` out as that
    build did; otherwise (another program's layout, e.g. Velocity's zero-copy State and
    1064-byte SpotMarket, for which no recorded account exists) a blank account of the
    profile's size, every field then set from the spec like the template's."""
    data = templates[name]
    disc, size = codec.discriminator(account), codec.size(account)
    if len(data) == size and data[:8] == disc:
        return data
    return disc + bytes(size - 8)


def _retarget(template: bytes, address: Pubkey, codec: AccountCodec) -> bytes:
    """Templates record their own address; point it at the market being created."""
    data = bytearray(template)
    codec.idl.layout.write("SpotMarket", data, "pubkey", bytes(address))
    return bytes(data)


def _token_account(address: Pubkey, mint: Pubkey, owner: Pubkey, amount: int) -> bytes:
    view = TokenAccount(
        address, SPL_TOKEN_PROGRAM_ID, mint, owner, amount, None, 1, None, 0, None, bytes(165)
    )
    return encode_token_account(view)


def export_test_validator_accounts(genesis: Genesis, out_dir: Path) -> list[Path]:
    """One JSON file per account, in the format `solana-test-validator --account` reads."""
    out_dir.mkdir(parents=True, exist_ok=True)
    written = []
    for address, acc in sorted(genesis.accounts.items(), key=lambda kv: genesis.labels[kv[0]]):
        account = Account(acc.lamports, acc.data, acc.owner, acc.executable, acc.rent_epoch)
        doc = account_file_json(address, account)
        path = out_dir / f"{genesis.labels[address]}.json"
        path.write_text(json.dumps(doc, indent=1) + "\n")
        written.append(path)
    return written


def write_keypair_files(genesis: Genesis, out_dir: Path) -> dict[str, Path]:
    """Solana CLI keypair files for every genesis keypair (local test funds only)."""
    out_dir.mkdir(parents=True, exist_ok=True)
    paths = {}
    for label, kp in genesis.keypairs.items():
        path = out_dir / f"{label}.json"
        path.write_text(json.dumps(list(bytes(kp))))
        path.chmod(0o600)
        paths[label] = path
    return paths


def main(argv: list[str] | None = None) -> int:
    """`python -m localnet.genesis OUT_DIR`: write the default genesis for a validator."""
    import argparse

    from keeper.core import get_profile

    parser = argparse.ArgumentParser(prog="python -m localnet.genesis", description=main.__doc__)
    parser.add_argument("out_dir", type=Path)
    parser.add_argument("--profile", default="drift-mainnet")
    parser.add_argument("--program-id", help="deploy under another program id")
    args = parser.parse_args(argv)
    profile = get_profile(args.profile)
    if args.program_id:
        profile = profile.with_program_id(args.program_id)
    genesis = build_genesis(GenesisSpec(), profile)
    files = export_test_validator_accounts(genesis, args.out_dir / "accounts")
    keys = write_keypair_files(genesis, args.out_dir / "keypairs")
    print(
        f"{len(files)} accounts in {args.out_dir / 'accounts'}; keypairs: {', '.join(sorted(keys))}"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
