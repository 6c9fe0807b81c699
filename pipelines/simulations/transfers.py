"""Money transfers between bank accounts, a few of them taken over by fraudsters: a small
agent-based model whose `transactions` table is labelled, rare fraud.

The idea follows PaySim (Lopez-Rojas, Elmir and Axelsson, 2016) and AMLSim (IBM, 2018): rather
than drawing fraud rows from a distribution, simulate the accounts that make the transfers, so
that fraud shows the patterns a detector has to learn (odd hours, large shares of the balance,
money funnelled to a few mule accounts) beside ordinary traffic.

How it runs:

- One step is one hour; step `s` happens at hour `s % 24` of day `s // 24` (step 24 is midnight
  of day 1). Salaries arrive at hour 0: each ordinary account receives a lognormal salary of
  about one day's spending, so accounts that spend more than they receive do not run dry.
  Transfers only move money between accounts, so the total grows by the salaries each day.
- Every account starts with a lognormal balance (median `15 * mean_amount`).
- An ordinary account, with probability `transfer_rate` per hour, sends a lognormal amount (mean
  `mean_amount`, at most its balance) to another account chosen at random. With less than
  `MIN_BALANCE` it sends nothing.
- A share `fraud_share` of the accounts (at least one, unless the share is 0) is in a
  fraudster's hands. Each has `MULES` mule accounts among the ordinary ones. It acts at night
  (hours 0-5) with probability `NIGHT_FRAUD_RATE` and by day with `DAY_FRAUD_RATE`, and then
  sends 70-100 % of its balance to one of its mules. Its transfers are labelled `is_fraud`.
  Its balance is filled again by the ordinary transfers it receives.
- Accounts act in a new random order each hour. Every draw comes from the model's own random
  generators (Mesa's `self.random`, seeded by `rng`), so one seed gives one history.

Collected data (Mesa `DataCollector`, once at the start and once after each step):

- model reporters: `transfers`, `volume`, `fraud_transfers`, `fraud_volume` (of the hour just
  run) and `hour`;
- agent reporters: `balance`, `is_fraudster`;
- table `transactions`: one row per transfer with `step`, `hour`, `sender`, `receiver` (agent
  ids), `amount`, `sender_balance_before` and `is_fraud`.

200 accounts over 48 steps make a few thousand transfers, about 1 % of them fraudulent, in well
under a second.

Examples:
    >>> model = TransferModel(accounts=50, rng=7)
    >>> for _ in range(24):
    ...     model.step()
    >>> rows = model.datacollector.get_table_dataframe("transactions")
"""

from __future__ import annotations

import math
from typing import Any

import mesa

__all__ = [
    "AccountAgent",
    "TransferModel",
]

MIN_BALANCE = 1.0  # below this an account sends nothing
MULES = 3  # mule accounts per fraudulent account
NIGHT_HOURS = range(0, 6)
NIGHT_FRAUD_RATE = 0.5  # chance per night hour that a fraudster drains its account
DAY_FRAUD_RATE = 0.02
DRAIN_SHARE = (0.7, 1.0)  # share of the balance a fraudulent transfer takes
AMOUNT_SIGMA = 1.0  # log-scale spread of ordinary amounts
BALANCE_SIGMA = 0.8
SALARY_SIGMA = 0.3
TRANSACTIONS = "transactions"
TRANSACTION_COLUMNS = ["step", "hour", "sender", "receiver", "amount", "sender_balance_before", "is_fraud"]


class AccountAgent(mesa.Agent):
    """A bank account: a balance, and whether a fraudster controls it.

    Attributes:
        balance: Money on the account, in cents-rounded units.
        is_fraudster: Whether the account is in a fraudster's hands.
        mules: The accounts a fraudulent account funnels money to (empty for ordinary ones).
    """

    def __init__(self, model: TransferModel, balance: float, is_fraudster: bool = False):
        super().__init__(model)
        self.balance = balance
        self.is_fraudster = is_fraudster
        self.mules: list[AccountAgent] = []

    def step(self) -> None:
        if self.is_fraudster:
            self._defraud()
        elif self.random.random() < self.model.transfer_rate:
            amount = self.random.lognormvariate(self.model.amount_mu, AMOUNT_SIGMA)
            self.model.transfer(self, self.model.other_account(self), amount, is_fraud=False)

    def _defraud(self) -> None:
        rate = NIGHT_FRAUD_RATE if self.model.hour in NIGHT_HOURS else DAY_FRAUD_RATE
        if self.mules and self.random.random() < rate:
            amount = self.balance * self.random.uniform(*DRAIN_SHARE)
            self.model.transfer(self, self.random.choice(self.mules), amount, is_fraud=True)


class TransferModel(mesa.Model):
    """Hourly transfers between `accounts` bank accounts, a share `fraud_share` of them
    fraudulent (see the module's docstring for the behaviour).

    Args:
        accounts: Number of accounts (at least 2, and more than the fraudulent ones plus their mules).
        fraud_share: Share of the accounts in fraudsters' hands, between 0 and 1; at least one
            account is when it is above 0.
        transfer_rate: Chance per hour that an ordinary account makes a transfer, between 0 and 1.
        mean_amount: Mean of an ordinary transfer's (lognormal) amount, above 0.
        rng: Seed of the model's random generators (Mesa's `rng`); None draws a fresh one.

    Raises:
        ValueError: A parameter is out of its range.
    """

    def __init__(
        self,
        accounts: int = 200,
        fraud_share: float = 0.02,
        transfer_rate: float = 0.3,
        mean_amount: float = 120.0,
        rng: Any = None,
    ):
        super().__init__(rng=rng)
        fraudsters = _check_parameters(accounts, fraud_share, transfer_rate, mean_amount)
        self.transfer_rate = float(transfer_rate)
        self.mean_amount = float(mean_amount)
        # Lognormal location giving the mean `mean_amount`: E[X] = exp(mu + sigma^2 / 2).
        self.amount_mu = math.log(self.mean_amount) - AMOUNT_SIGMA**2 / 2
        self.salary_mu = math.log(24 * self.transfer_rate * self.mean_amount or 1.0) - SALARY_SIGMA**2 / 2
        self.hour = 0
        self._reset_counters()

        fraud_index = frozenset(self.random.sample(range(accounts), fraudsters))  # only asked `in`, never iterated
        self.accounts: list[AccountAgent] = [
            AccountAgent(self, _cents(self.random.lognormvariate(math.log(15 * self.mean_amount), BALANCE_SIGMA)), i in fraud_index)
            for i in range(accounts)
        ]
        ordinary = [a for a in self.accounts if not a.is_fraudster]
        for account in self.accounts:
            if account.is_fraudster:
                account.mules = self.random.sample(ordinary, min(MULES, len(ordinary)))

        self.datacollector = mesa.DataCollector(
            model_reporters={name: name for name in ("transfers", "volume", "fraud_transfers", "fraud_volume", "hour")},
            agent_reporters={"balance": "balance", "is_fraudster": "is_fraudster"},
            tables={TRANSACTIONS: TRANSACTION_COLUMNS},
        )
        self.datacollector.collect(self)

    def step(self) -> None:
        """One hour: salaries at midnight, then every account acts once, in random order."""
        self.hour = self.steps % 24
        self._reset_counters()
        if self.hour == 0:
            for account in self.accounts:
                if not account.is_fraudster:
                    account.balance = _cents(account.balance + self.random.lognormvariate(self.salary_mu, SALARY_SIGMA))
        self.agents.shuffle_do("step")
        self.datacollector.collect(self)

    def other_account(self, account: AccountAgent) -> AccountAgent:
        """A random account other than `account`."""
        index = self.random.randrange(len(self.accounts) - 1)
        other = self.accounts[index]
        return self.accounts[-1] if other is account else other

    def transfer(self, sender: AccountAgent, receiver: AccountAgent, amount: float, is_fraud: bool) -> None:
        """Moves `amount` (capped at the sender's balance, rounded to cents) and records it;
        nothing happens when the sender has less than `MIN_BALANCE`."""
        before = sender.balance
        if before < MIN_BALANCE:
            return
        amount = min(max(_cents(amount), 0.01), before)
        sender.balance = _cents(before - amount)
        receiver.balance = _cents(receiver.balance + amount)
        self.transfers += 1
        self.volume = _cents(self.volume + amount)
        if is_fraud:
            self.fraud_transfers += 1
            self.fraud_volume = _cents(self.fraud_volume + amount)
        self.datacollector.add_table_row(
            TRANSACTIONS,
            {
                "step": self.steps,
                "hour": self.hour,
                "sender": sender.unique_id,
                "receiver": receiver.unique_id,
                "amount": amount,
                "sender_balance_before": before,
                "is_fraud": is_fraud,
            },
        )

    def _reset_counters(self) -> None:
        self.transfers = 0
        self.volume = 0.0
        self.fraud_transfers = 0
        self.fraud_volume = 0.0


def _cents(value: float) -> float:
    return round(value, 2)


def _check_parameters(accounts: int, fraud_share: float, transfer_rate: float, mean_amount: float) -> int:
    """Every out-of-range parameter at once; returns the number of fraudulent accounts."""
    problems = []
    if not isinstance(accounts, int) or isinstance(accounts, bool) or accounts < 2:
        problems.append(f"`accounts` must be an integer of at least 2; got {accounts!r}.")
    if not 0 <= fraud_share < 1:
        problems.append(f"`fraud_share` must be at least 0 and below 1; got {fraud_share!r}.")
    if not 0 <= transfer_rate <= 1:
        problems.append(f"`transfer_rate` must be between 0 and 1 (a chance per hour); got {transfer_rate!r}.")
    if not mean_amount > 0:
        problems.append(f"`mean_amount` must be above 0; got {mean_amount!r}.")
    fraudsters = 0
    if not problems:
        fraudsters = 0 if fraud_share == 0 else max(1, round(fraud_share * accounts))
        if fraudsters >= accounts:
            problems.append(f"`fraud_share` {fraud_share!r} leaves no ordinary account among {accounts}; lower it or add accounts.")
    if problems:
        raise ValueError("TransferModel: " + " ".join(problems))
    return fraudsters
