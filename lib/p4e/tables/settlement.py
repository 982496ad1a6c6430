"""gold/settlements: what each contract pays per performance year, and every figure behind it."""

from __future__ import annotations

from p4e.tables.model import Column, Table, columns
from p4e.tables.stats import CI_HIGH, CI_LOW

SETTLEMENTS = Table(
    "gold",
    "settlements",
    "one row per (contract, performance year, group, measure) with level 'measure', "
    "plus a 'completeness' and a 'total' row per (contract, year, group)",
    "The settlement: what each contract pays for the year and why.",
    columns(
        Column("contract_id", "STRING", "contract id (conf/contracts/*.yaml)", nullable=False),
        Column("year", "INT", "performance year", nullable=False),
        Column("group_id", "STRING", "provider group", nullable=False),
        Column("level", "STRING", "measure | completeness | total", nullable=False),
        ("measure_id", "STRING", "measure id (measure rows)"),
        ("dimension", "STRING", "dimension of the contract"),
        ("baseline_years", "ARRAY<INT>", "baseline years of the contract"),
        ("is_eligible", "BOOLEAN", "baseline eligibility under the contract's thresholds"),
        (
            "eligibility_reasons",
            "ARRAY<STRING>",
            "failed eligibility rules ('no_data': no rate population)",
        ),
        ("baseline_gap", "DOUBLE", "mean yearly equity gap over the baseline years, proportion"),
        ("baseline_ci_low", "DOUBLE", CI_LOW),
        ("baseline_ci_high", "DOUBLE", CI_HIGH),
        ("baseline_se", "DOUBLE", "bootstrap standard error of the baseline gap"),
        ("performance_gap", "DOUBLE", "equity gap of the performance year, proportion"),
        ("performance_ci_low", "DOUBLE", CI_LOW),
        ("performance_ci_high", "DOUBLE", CI_HIGH),
        ("change", "DOUBLE", "performance gap - baseline gap, proportion"),
        ("change_ci_low", "DOUBLE", CI_LOW),
        ("change_ci_high", "DOUBLE", CI_HIGH),
        ("has_baseline_gap", "BOOLEAN", "baseline gap above 0 with its CI above 0"),
        ("closure", "DOUBLE", "(baseline - performance) / baseline, clipped to [0, 1]"),
        ("is_guard_passed", "BOOLEAN", "no subgroup declined beyond the contract's guard"),
        ("guard_subgroup", "STRING", "the subgroup with the largest decline failing the guard"),
        ("guard_decline", "DOUBLE", "its decline, proportion"),
        (
            "is_eliminated",
            "BOOLEAN",
            "performance gap at most the elimination threshold, guard passed",
        ),
        ("is_widened", "BOOLEAN", "change CI entirely above 0"),
        ("share_self_reported", "DOUBLE", "the group's completeness (completeness row)"),
        ("tier", "STRING", "payout rule applied (tier label, guard_failed, ineligible, ...)"),
        ("share", "DECIMAL(9,6)", "share of the component's pool earned (negative: downside)"),
        ("contract_weight", "DECIMAL(18,10)", "the measure's weight in the contract"),
        (
            "weight",
            "DECIMAL(18,10)",
            "weight after ineligible measures are renormalised or forfeited",
        ),
        ("pool", "DECIMAL(18,2)", "the contract's pool for the year, dollars"),
        ("member_months", "BIGINT", "member months of the group in the year (PMPM pools)"),
        Column(
            "amount",
            "DECIMAL(18,2)",
            "dollars; measure and completeness amounts add up to the total exactly",
            nullable=False,
        ),
        (
            "input_versions",
            "MAP<STRING,BIGINT>",
            "Delta version of every input table read, by layer/table",
        ),
    ),
    partition_by=("contract_id", "year"),
)
