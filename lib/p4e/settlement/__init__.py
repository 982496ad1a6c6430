"""Contracts and annual settlement: `run(ctx)` writes gold/settlements.

The contracts are configuration (`p4e.config.contracts`). `figures` gathers what a
settlement needs from the gold tables (through `baseline`, `guard` and `exposure`);
`payout` and `tiers` are the rules in Decimal; `rows` builds the rows; `step.run`
writes the table; `format_table` prints it.
"""

from p4e.settlement.report import format_table
from p4e.settlement.step import run

__all__ = ["format_table", "run"]
