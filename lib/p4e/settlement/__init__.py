"""Contracts and annual settlement: `run(ctx)` writes gold/settlements.

The contracts are configuration (`p4e.config.contracts`). `baseline` freezes a term's
baseline (`freeze`, on a panel bootstrap run by `panels`); each performance year is
decided on its own panel (`decide`: the contract gap and credited reduction of
`closure`, the `guard`, the `rules` and their `tiers`); `rows` and `payout` turn the
decisions into Decimal amounts; `step.run` writes the table; `format_table` prints it.
"""

from p4e.settlement.report import format_table
from p4e.settlement.step import run

__all__ = ["format_table", "run"]
