"""Turning a staker's intent into a validated plan: instructions plus predicted effect.

Pure: a plan is made from a verified snapshot, and it exists only if the mirror
predicts the program will accept it. A plan the program would reject becomes the
program's own error (name and sentence) before anything is signed.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any

from solders.instruction import Instruction
from solders.pubkey import Pubkey

from keeper.core import ifmath, rules
from keeper.core.actions import ActionKind
from keeper.core.addresses import associated_token_address
from keeper.core.effects import Effect, IfAccounts, predict
from keeper.core.errors import ErrorTable
from keeper.core.fmt import format_amount
from keeper.core.ifmath import Rejected
from keeper.core.plan import Plan, PlanError, rejection_error
from keeper.core.profile import Capability, ProgramProfile
from keeper.core.programs import TOKEN_2022_PROGRAM_ID
from keeper.core.snapshot import MarketSnapshot, Snapshot
from keeper.core.views import InsuranceFundStake, TokenAccount
from keeper.program.codec import AccountCodec
from keeper.program.instructions import DriftInstructions, MarketKeys


@dataclass(frozen=True)
class Planner:
    profile: ProgramProfile
    builders: DriftInstructions
    codec: AccountCodec

    @property
    def errors(self) -> ErrorTable:
        return self.builders.idl.errors

    def wallet_address(self, snap: MarketSnapshot, owner: Pubkey) -> Pubkey:
        return associated_token_address(owner, snap.market.mint, snap.market.token_program)

    def _market(self, snap: Snapshot, market_index: int) -> MarketSnapshot:
        try:
            m = snap.market(market_index)
        except KeyError:
            raise PlanError(f"spot market {market_index} was not read") from None
        if m.market.token_program == TOKEN_2022_PROGRAM_ID:
            why = self.profile.refusal(Capability.TOKEN_2022)
            if why is not None:
                raise PlanError(
                    f"spot market {market_index} is a Token-2022 market and {why}; its "
                    "accounts would fail Anchor's owner check (AccountOwnedByWrongProgram "
                    "3007). Use the profile of a build that supports it."
                )
        return m

    def _wallet(self, snap: Snapshot, market: MarketSnapshot, owner: Pubkey) -> TokenAccount:
        address = self.wallet_address(market, owner)
        for tok in snap.wallets:
            if tok.address == address:
                if tok.mint != market.market.mint or tok.owner != owner:
                    raise PlanError(
                        f"token account {address} is not {owner}'s account for this market's mint"
                    )
                return tok
        raise PlanError(
            f"{owner} has no token account for market {market.market_index}'s mint "
            f"{market.market.mint} (expected the associated account {address})"
        )

    def _funded_wallet(
        self, snap: Snapshot, m: MarketSnapshot, owner: Pubkey, amount: int, verb: str
    ) -> TokenAccount:
        wallet = self._wallet(snap, m, owner)
        if wallet.amount < amount:
            raise PlanError(
                f"the wallet holds {format_amount(wallet.amount, m.market.decimals)}, "
                f"less than the {format_amount(amount, m.market.decimals)} to {verb}"
            )
        return wallet

    def _predict(
        self, name: str, accounts: IfAccounts, args: dict[str, int], now_ts: int
    ) -> Effect:
        try:
            return predict(name, accounts, args, now_ts, self.profile)
        except Rejected as rej:
            raise rejection_error(rej, self.errors) from None

    def _stake(self, snap: Snapshot, authority: Pubkey, market_index: int) -> InsuranceFundStake:
        stake = snap.stake(authority, market_index)
        if stake is None:
            raise PlanError(f"{authority} has no insurance fund stake in market {market_index}")
        return stake

    def _accounts(
        self, snap: Snapshot, m: MarketSnapshot, authority: Pubkey, **extra: Any
    ) -> IfAccounts:
        stats = next((u for u in snap.user_stats if u.authority == authority), None)
        base = IfAccounts(
            market=m.market,
            state=snap.state,
            if_vault=m.insurance_fund_vault,
            spot_vault=m.spot_market_vault,
            stake=snap.stake(authority, m.market_index),
            user_stats=stats,
        )
        return dataclasses.replace(base, **extra)

    # -- intents ---------------------------------------------------------------------

    def stake(self, snap: Snapshot, authority: Pubkey, market_index: int, amount: int) -> Plan:
        if amount <= 0:
            raise PlanError("the amount to stake must be greater than zero")
        m = self._market(snap, market_index)
        wallet = self._funded_wallet(snap, m, authority, amount, "stake")
        ixs: list[Instruction] = []
        creates: list[str] = []
        accounts = self._accounts(snap, m, authority, user_token=wallet)
        if accounts.user_stats is None:
            ixs.append(self.builders.initialize_user_stats(authority, authority))
            stats_address = self.builders.addresses.user_stats(authority)
            accounts = dataclasses.replace(
                accounts,
                user_stats=self.codec.new_user_stats(stats_address, authority, snap.now_ts),
            )
            creates.append("user stats")
        if accounts.stake is None:
            ixs.append(
                self.builders.initialize_insurance_fund_stake(market_index, authority, authority)
            )
            address = self.builders.addresses.insurance_fund_stake(authority, market_index)
            accounts = dataclasses.replace(
                accounts, stake=self.codec.new_stake(address, authority, market_index, snap.now_ts)
            )
            creates.append("stake account")
        effect = self._predict(
            "addInsuranceFundStake",
            accounts,
            {"marketIndex": market_index, "amount": amount},
            snap.now_ts,
        )
        keys = MarketKeys.from_market(m.market)
        ixs.append(self.builders.add_insurance_fund_stake(keys, amount, authority, wallet.address))
        assert effect.stake is not None and accounts.stake is not None
        minted = effect.stake.if_shares - accounts.stake.if_shares
        figures = {"amount": amount, "shares_minted": minted}
        # Where adds buy whole shares only, the program takes the price of the shares
        # minted and leaves the rest of `amount` in the wallet: say so before signing.
        cost = sum(t.amount for t in effect.transfers if t.source == wallet.address)
        if cost != amount:
            figures |= {"cost_amount": cost, "remainder_amount": amount - cost}
        return Plan(
            ActionKind.STAKE, market_index, authority, tuple(ixs), effect, figures, tuple(creates)
        )

    def unstake(
        self, snap: Snapshot, authority: Pubkey, market_index: int, amount: int | None
    ) -> Plan:
        """Request an unstake of `amount` tokens, or of every share when `amount` is None.

        A stake whose base lags its market's cannot request until it is rebased, and
        with no request pending only an add rebases it: the plan then adds one base
        unit first, in the same transaction (the program's "next touch").
        """
        m = self._market(snap, market_index)
        stake = self._stake(snap, authority, market_index)
        keys = MarketKeys.from_market(m.market)
        accounts = self._accounts(snap, m, authority)
        ixs: list[Instruction] = []
        touch: Effect | None = None
        figures: dict[str, int] = {}
        if rules.needs_rebase_touch(stake, m.market):
            assert accounts.if_vault is not None
            touch_amount = rules.rebase_touch_amount(
                m.market, accounts.if_vault.amount, self.profile
            )
            wallet = self._funded_wallet(
                snap, m, authority, touch_amount, "add to rebase the stake"
            )
            accounts = dataclasses.replace(accounts, user_token=wallet)
            touch = self._predict(
                "addInsuranceFundStake",
                accounts,
                {"marketIndex": market_index, "amount": touch_amount},
                snap.now_ts,
            )
            ixs.append(
                self.builders.add_insurance_fund_stake(
                    keys, touch_amount, authority, wallet.address
                )
            )
            accounts = touch.accounts_after(accounts)
            figures["rebase_add_amount"] = touch_amount
        assert accounts.stake is not None and accounts.if_vault is not None
        if amount is None:
            shares = ifmath.stake_shares(accounts.stake, accounts.market)
            amount = rules.request_amount_for_shares(
                accounts.market, accounts.if_vault.amount, shares, self.profile
            )
        if amount <= 0:
            raise PlanError("the amount to unstake must be greater than zero")
        effect = self._predict(
            "requestRemoveInsuranceFundStake",
            accounts,
            {"marketIndex": market_index, "amount": amount},
            snap.now_ts,
        )
        assert effect.stake is not None
        ixs.append(self.builders.request_remove_insurance_fund_stake(keys, amount, authority))
        figures = {
            "amount": amount,
            "shares_requested": effect.stake.last_withdraw_request_shares,
            "value_frozen": effect.stake.last_withdraw_request_value,
            "withdrawable_at": rules.withdraw_opens_at(effect.stake, accounts.market),
            **figures,
        }
        if touch is not None:
            effect = touch.then(effect)
        return Plan(ActionKind.REQUEST, market_index, authority, tuple(ixs), effect, figures)

    def cancel(self, snap: Snapshot, authority: Pubkey, market_index: int) -> Plan:
        m = self._market(snap, market_index)
        stake = self._stake(snap, authority, market_index)
        effect = self._predict(
            "cancelRequestRemoveInsuranceFundStake",
            self._accounts(snap, m, authority),
            {"marketIndex": market_index},
            snap.now_ts,
        )
        assert effect.stake is not None
        ix = self.builders.cancel_request_remove_insurance_fund_stake(
            MarketKeys.from_market(m.market), authority
        )
        lost = stake.if_shares - effect.stake.if_shares
        # what the forfeited shares are worth now, in tokens (the gain the cancel gives up)
        fund = m.market.insurance_fund
        nav = rules.fund_nav(m.market, m.if_vault_amount, self.profile)
        lost_value = ifmath.shares_to_amount(lost, fund.total_shares, nav)
        figures = {"shares_forfeited": lost, "value_forfeited": lost_value}
        return Plan(ActionKind.CANCEL, market_index, authority, (ix,), effect, figures)

    def withdraw(self, snap: Snapshot, authority: Pubkey, market_index: int) -> Plan:
        m = self._market(snap, market_index)
        self._stake(snap, authority, market_index)
        wallet = self._wallet(snap, m, authority)
        effect = self._predict(
            "removeInsuranceFundStake",
            self._accounts(snap, m, authority, user_token=wallet),
            {"marketIndex": market_index},
            snap.now_ts,
        )
        # only what reaches the wallet: a settle the remove makes first moves tokens too
        paid = sum(t.amount for t in effect.transfers if t.destination == wallet.address)
        ix = self.builders.remove_insurance_fund_stake(
            MarketKeys.from_market(m.market), authority, wallet.address
        )
        return Plan(ActionKind.WITHDRAW, market_index, authority, (ix,), effect, {"amount": paid})

    def settle(self, snap: Snapshot, payer: Pubkey, market_index: int) -> Plan:
        m = self._market(snap, market_index)
        effect = self._predict(
            "settleRevenueToInsuranceFund",
            self._accounts(snap, m, payer),
            {"spotMarketIndex": market_index},
            snap.now_ts,
        )
        moved = sum(t.amount for t in effect.transfers)
        ix = self.builders.settle_revenue_to_insurance_fund(MarketKeys.from_market(m.market))
        return Plan(ActionKind.SETTLE, market_index, payer, (ix,), effect, {"amount": moved})

    def deposit_revenue(
        self, snap: Snapshot, authority: Pubkey, market_index: int, amount: int
    ) -> Plan:
        """Donate tokens to the market's revenue pool; they reach the IF through settles."""
        if amount <= 0:
            raise PlanError("the amount to deposit must be greater than zero")
        m = self._market(snap, market_index)
        wallet = self._funded_wallet(snap, m, authority, amount, "deposit")
        effect = self._predict(
            "depositIntoSpotMarketRevenuePool",
            self._accounts(snap, m, authority, user_token=wallet),
            {"amount": amount},
            snap.now_ts,
        )
        keys = MarketKeys.from_market(m.market)
        ix = self.builders.deposit_into_spot_market_revenue_pool(
            keys, amount, authority, wallet.address
        )
        return Plan(
            ActionKind.DEPOSIT_REVENUE, market_index, authority, (ix,), effect, {"amount": amount}
        )
