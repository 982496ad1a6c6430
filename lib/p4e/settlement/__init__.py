"""Contracts and annual settlement (SPEC §2, §6): `run(ctx)` writes gold/settlements.

`p4e.settlement.contract` loads and validates `conf/contracts/*.yaml`;
`baseline`, `guard` and `exposure` gather the figures from the gold tables;
`payout` applies the rules in Decimal; `step.run` writes the table;
`format_table` prints it.
"""

from p4e.settlement.contract import Contract, load_contracts
from p4e.settlement.report import format_table
from p4e.settlement.step import SETTLEMENTS_SCHEMA, run

__all__ = ["SETTLEMENTS_SCHEMA", "Contract", "format_table", "load_contracts", "run"]
