"""The data contract: every table p4e reads or writes, column by column, in one place.

`inputs` (raw and silver), `membership` and `events` (derived silver),
`demographics`, `measures`, `stats`, `settlement`, `runs` and `omop` (the OMOP
tables the importer reads) declare the tables (`p4e.tables.model.Table`);
`vocabulary` names the values of their label columns. `OUTPUTS` lists the tables p4e
writes, in the order the data dictionary describes them.
"""

from p4e.tables.demographics import DATA_COMPLETENESS, MEMBER_DEMOGRAPHICS
from p4e.tables.events import EVENTS
from p4e.tables.inputs import INPUTS, TRUTH_RATES
from p4e.tables.measures import MEMBER_MEASURES
from p4e.tables.membership import MEMBER_GROUPS, MEMBERS
from p4e.tables.model import Column, Table
from p4e.tables.runs import JOB_RUNS, QUARANTINE
from p4e.tables.settlement import CONTRACT_BASELINES, SETTLEMENTS
from p4e.tables.stats import ELIGIBILITY, EQUITY_GAPS, GAP_REPLICATES, SUBGROUP_RATES

OUTPUTS: tuple[Table, ...] = (
    MEMBERS,
    MEMBER_GROUPS,
    EVENTS,
    MEMBER_DEMOGRAPHICS,
    MEMBER_MEASURES,
    SUBGROUP_RATES,
    EQUITY_GAPS,
    GAP_REPLICATES,
    ELIGIBILITY,
    DATA_COMPLETENESS,
    CONTRACT_BASELINES,
    SETTLEMENTS,
    QUARANTINE,
    JOB_RUNS,
)

__all__ = [
    "CONTRACT_BASELINES",
    "DATA_COMPLETENESS",
    "ELIGIBILITY",
    "EQUITY_GAPS",
    "EVENTS",
    "GAP_REPLICATES",
    "INPUTS",
    "JOB_RUNS",
    "MEMBERS",
    "MEMBER_DEMOGRAPHICS",
    "MEMBER_GROUPS",
    "MEMBER_MEASURES",
    "OUTPUTS",
    "QUARANTINE",
    "SETTLEMENTS",
    "SUBGROUP_RATES",
    "TRUTH_RATES",
    "Column",
    "Table",
]
