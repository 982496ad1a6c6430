"""Meaning of every column of every output table; the data dictionary is built from it.

`render_dictionary` takes the schemas and partition columns of the tables as
written (read from their Delta logs), so types and partitioning cannot drift;
a column written but not described here raises `UndocumentedColumns`.
Proportions are fractions in [0, 1]; gaps are differences of proportions,
oriented so that a positive gap means the focus subgroup does worse than the
reference (whatever the measure's direction).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from p4e.errors import P4eError


class UndocumentedColumns(P4eError):
    """Output columns that the catalog does not describe."""


@dataclass(frozen=True)
class TableDoc:
    """An output table: what one row is, what it is for, and its columns' meanings."""

    grain: str
    purpose: str
    columns: Mapping[str, str]


GAP = "oriented gap (reference rate - focus rate for higher-is-better measures), proportion"
CI_LOW, CI_HIGH = "lower bound of the bootstrap percentile CI", "upper bound of the same CI"

TABLES: dict[str, TableDoc] = {
    "silver/member_demographics": TableDoc(
        "one row per (member, year, dimension)",
        "The member's category of the dimension, where it came from, and the probability "
        "of each category used to count the member fractionally in rates.",
        {
            "member_id": "member id",
            "year": "measurement year",
            "dimension": "dimension name (conf/dimensions/<name>.yaml)",
            "category": "final category code (the most probable one for imputed members)",
            "source": "self_reported | provider_reported | imputed | declined | unknown",
            "p_*": "probability that the member's category is `{}` (1.0 on the reported "
            "category; BISG probabilities when imputed)",
        },
    ),
    "gold/member_measures": TableDoc(
        "one row per (member, provider group, measure, year) in the measure's eligible population",
        "Measure results per member: the input of every rate.",
        {
            "member_id": "member id",
            "group_id": "attributed provider group, or UNATTRIBUTED",
            "measure_id": "measure id (conf/measures/<id>.yaml)",
            "year": "measurement year",
            "is_plan_member": "enrolled with the plan (false: another payer's patient)",
            "is_denominator": "in the denominator (before exclusions)",
            "is_excluded": "removed by an exclusion",
            "exclusion_reason": "the exclusion that applied (null when none)",
            "is_numerator": "met the numerator (e.g. screened, controlled)",
            "numerator_date": "date of the event that met the numerator",
        },
    ),
    "gold/subgroup_rates": TableDoc(
        "one row per (provider group, measure, year, dimension, subgroup)",
        "Rates per subgroup with bootstrap precision; group ALL_GROUPS is plan-wide, "
        "subgroup ALL is every member of the group.",
        {
            "group_id": "provider group, UNATTRIBUTED, or ALL_GROUPS (plan-wide)",
            "measure_id": "measure id",
            "year": "measurement year",
            "dimension": "dimension name",
            "subgroup": "category code, or ALL",
            "n": "weighted denominator (imputed members count by their probabilities), members",
            "k": "weighted numerator, members",
            "rate": "k / n, proportion",
            "ci_low": CI_LOW,
            "ci_high": CI_HIGH,
            "se": "bootstrap standard error of the rate",
            "is_suppressed": "n below stats.min_cell_publish (not publishable)",
            "is_scored": "n at least stats.min_scored (enters gaps and the guard)",
            "replicates": "bootstrap replicates B behind the CI",
        },
    ),
    "gold/equity_gaps": TableDoc(
        "one row per (provider group, measure, year, focus subgroup) with level "
        "'subgroup', and one per (provider group, measure, year) with level 'summary'",
        "Gaps to the reference subgroup and the group's equity gap with bootstrap CIs.",
        {
            "group_id": "provider group or ALL_GROUPS",
            "measure_id": "measure id",
            "year": "measurement year",
            "dimension": "dimension name",
            "level": "subgroup | summary",
            "subgroup": "focus subgroup (null on summary rows)",
            "statistic": "gap (subgroup rows) or the summary: weighted_mean | max | variance",
            "direction": "higher | lower: which way the measure is better",
            "reference": "reference subgroup of the row",
            "n_reference": "weighted denominator of the reference, members",
            "rate_reference": "rate of the reference, proportion",
            "n_focus": "weighted denominator of the focus subgroup (summary: of all scored "
            "focus subgroups), members",
            "rate_focus": "rate of the focus subgroup (null on summary rows), proportion",
            "n_focus_scored": "number of scored focus subgroups in the summary",
            "gap": GAP,
            "ci_low": CI_LOW,
            "ci_high": CI_HIGH,
            "se": "bootstrap standard error of the gap",
            "is_scored": "focus and reference are both scored",
            "replicates": "bootstrap replicates B",
        },
    ),
    "gold/gap_replicates": TableDoc(
        "one row per (provider group, measure, year, replicate)",
        "The bootstrap replicates of the summary equity gap, to build CIs of changes "
        "between periods (periods resampled independently).",
        {
            "group_id": "provider group or ALL_GROUPS",
            "measure_id": "measure id",
            "year": "measurement year",
            "replicate": "replicate number, 0 to B-1",
            "equity_gap": "summary equity gap of the replicate, proportion",
        },
    ),
    "gold/eligibility": TableDoc(
        "one row per (provider group, measure) for the stats baseline period",
        "Whether the baseline gap is measured precisely enough to pay on, and every "
        "reason it is not.",
        {
            "group_id": "provider group",
            "measure_id": "measure id",
            "dimension": "dimension name",
            "baseline_years": "years of the baseline period",
            "n_baseline_years": "baseline years with data",
            "n_members": "mean members in the rate population per baseline year",
            "n_reference": "mean weighted denominator of the reference subgroup",
            "max_focus_n": "mean weighted denominator of the largest focus subgroup",
            "baseline_equity_gap": "mean summary equity gap over the baseline years, proportion",
            "baseline_ci_low": CI_LOW,
            "baseline_ci_high": CI_HIGH,
            "se": "bootstrap standard error of the baseline equity gap",
            "min_members": "threshold applied to n_members",
            "min_reference": "threshold applied to n_reference",
            "min_focus": "threshold applied to max_focus_n",
            "max_se": "cap applied to se, proportion",
            "is_eligible": "no reason below",
            "reasons": "failed rules: too_few_members, reference_too_small, "
            "no_focus_large_enough, no_baseline_gap, standard_error_above_cap",
        },
    ),
    "gold/data_completeness": TableDoc(
        "one row per (provider group, year, dimension)",
        "Where the attributed members' answers came from.",
        {
            "group_id": "provider group, UNATTRIBUTED or ALL_GROUPS",
            "year": "year",
            "dimension": "dimension name",
            "members": "attributed members",
            "n_self_reported": "members with a self-reported answer (declined included)",
            "n_declined": "members who declined to answer (also in n_self_reported)",
            "n_provider_reported": "members whose answer came from the provider only",
            "n_imputed": "members imputed by BISG with no reported answer",
            "n_unknown": "members with no answer and no imputation",
            "share_self_reported": "n_self_reported / members",
            "share_provider_reported": "n_provider_reported / members",
            "share_imputed": "n_imputed / members",
            "share_unknown": "n_unknown / members",
        },
    ),
    "gold/settlements": TableDoc(
        "one row per (contract, performance year, group, measure) with level 'measure', "
        "plus a 'completeness' and a 'total' row per (contract, year, group)",
        "The settlement: what each contract pays for the year and why.",
        {
            "contract_id": "contract id (conf/contracts/*.yaml)",
            "year": "performance year",
            "group_id": "provider group",
            "level": "measure | completeness | total",
            "measure_id": "measure id (measure rows)",
            "dimension": "dimension of the contract",
            "baseline_years": "baseline years of the contract",
            "is_eligible": "baseline eligibility under the contract's thresholds",
            "eligibility_reasons": "failed eligibility rules ('no_data': no rate population)",
            "baseline_gap": "mean yearly equity gap over the baseline years, proportion",
            "baseline_ci_low": CI_LOW,
            "baseline_ci_high": CI_HIGH,
            "baseline_se": "bootstrap standard error of the baseline gap",
            "performance_gap": "equity gap of the performance year, proportion",
            "performance_ci_low": CI_LOW,
            "performance_ci_high": CI_HIGH,
            "change": "performance gap - baseline gap, proportion",
            "change_ci_low": CI_LOW,
            "change_ci_high": CI_HIGH,
            "has_baseline_gap": "baseline gap above 0 with its CI above 0",
            "closure": "(baseline - performance) / baseline, clipped to [0, 1]",
            "is_guard_passed": "no subgroup declined beyond the contract's guard",
            "guard_subgroup": "the subgroup with the largest decline failing the guard",
            "guard_decline": "its decline, proportion",
            "is_eliminated": "performance gap at most the elimination threshold, guard passed",
            "is_widened": "change CI entirely above 0",
            "share_self_reported": "the group's completeness (completeness row)",
            "tier": "payout rule applied (tier label, guard_failed, ineligible, ...)",
            "share": "share of the component's pool earned (negative: downside)",
            "contract_weight": "the measure's weight in the contract",
            "weight": "weight after ineligible measures are renormalised or forfeited",
            "pool": "the contract's pool for the year, dollars",
            "member_months": "member months of the group in the year (PMPM pools)",
            "amount": "dollars; measure and completeness amounts add up to the total exactly",
            "input_versions": "Delta version of every input table read, by layer/table",
        },
    ),
    "gold/quarantine": TableDoc(
        "one row per input row rejected or flagged by validation",
        "Bad input with its reason; raw = silver + rejected for every table.",
        {
            "table": "input table",
            "action": "rejected (kept out of silver) | flagged (kept, with a warning)",
            "reason": "the rule that failed",
            "row_json": "the original row as JSON",
        },
    ),
    "gold/job_runs": TableDoc(
        "one row per run start ('running') and one per run end",
        "The run log: what ran, on which versions, how long, and how it ended.",
        {
            "run_id": "run id",
            "status": "running | succeeded | failed (a run with only 'running' was killed)",
            "started_at": "start time, UTC",
            "ended_at": "end time, UTC (null on the start row)",
            "steps": "steps of the run, in order",
            "step_seconds": "seconds per step (and 'changes': fingerprinting the inputs)",
            "config_hash": "digest of the configuration",
            "code_version": "p4e version",
            "versions_read": "Delta version read of every table, by layer/table",
            "versions_written": "Delta version written of every table, by layer/table",
            "row_counts": "rows written or checked, by step.table[.kind]",
            "error": "the error of a failed run",
            "years_computed": "years the yearly steps computed ([]: none changed; null: not run)",
            "input_fingerprints": "nightly: '<year>/<input>' -> digest of what gold reflects",
        },
    ),
}


def column_doc(table: str, column: str) -> str | None:
    """The meaning of `column` of `table`, or None when undocumented.

    A key ending in `*` documents every column starting with what precedes it; `{}`
    in its text stands for the rest of the column name.
    """
    columns = TABLES[table].columns
    if column in columns:
        return columns[column]
    return next(
        (
            doc.format(column[len(key) - 1 :])
            for key, doc in columns.items()
            if key.endswith("*") and column.startswith(key[:-1])
        ),
        None,
    )


def render_dictionary(
    schemas: Mapping[str, tuple[Sequence[tuple[str, str]], Sequence[str]]],
) -> str:
    """The data dictionary as Markdown.

    Args:
        schemas: "layer/table" -> ([(column, Spark SQL type)], partition columns), as
            written; tables not in `TABLES` are refused too.

    Raises:
        UndocumentedColumns: a table or column the catalog does not describe.
    """
    missing = [t for t in schemas if t not in TABLES]
    missing += [
        f"{t}.{c}" for t, (cols, _) in schemas.items() if t in TABLES for c, _ in cols
        if column_doc(t, c) is None
    ]  # fmt: skip
    if missing:
        raise UndocumentedColumns("undocumented in p4e.reports.catalog: " + ", ".join(missing))
    lines = [
        "# p4e data dictionary",
        "",
        "Generated by `p4e report` from the tables' Delta schemas and `p4e.reports.catalog`.",
        "Proportions are fractions in [0, 1]; gaps are oriented so that a positive gap",
        "means the focus subgroup does worse than the reference.",
        "",
        "Read a table from Spark SQL (delta-spark) or through p4e's engine, or from pandas:",
        "",
        "```python",
        'spark.sql("SELECT * FROM delta.`<lakehouse>/gold/subgroup_rates` WHERE year = 2025")',
        "p4e.storage.open_store(spark, cfg).read('<lakehouse>/gold/subgroup_rates')  # any engine",
        "deltalake.DeltaTable('<lakehouse>/gold/subgroup_rates').to_pandas(",
        "    filters=[('year', '=', 2025)])",
        "```",
    ]
    for name in sorted(schemas, key=list(TABLES).index):
        columns, partitions = schemas[name]
        doc = TABLES[name]
        lines += [
            "",
            f"## {name}",
            "",
            doc.purpose,
            "",
            f"Grain: {doc.grain}. Partitioned by: {', '.join(partitions) or 'nothing'}.",
            "",
            "| column | type | meaning |",
            "|---|---|---|",
        ]
        lines += [
            f"| `{c}` | {kind} | {column_doc(name, c).replace('|', '&#124;')} |"
            for c, kind in columns
        ]
    return "\n".join(lines) + "\n"
