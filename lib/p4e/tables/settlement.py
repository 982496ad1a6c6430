"""gold/contract_baselines (frozen once per contract term) and gold/settlements (per year)."""

from __future__ import annotations

from p4e.tables.model import Column, Table, columns
from p4e.tables.stats import CI_HIGH, CI_LOW, DECISION

KEY = (
    Column("contract_id", "STRING", "contract id (conf/contracts/*.yaml)", nullable=False),
    Column("group_id", "STRING", "provider group", nullable=False),
)
SUBGROUP = (
    "STRUCT<subgroup:STRING, role:STRING, weight:DOUBLE, baseline_rate:DOUBLE, "
    "performance_rate:DOUBLE, decline:DOUBLE, se:DOUBLE>"
)

CONTRACT_BASELINES = Table(
    "gold",
    "contract_baselines",
    "one row per (contract, group, measure), written when the term is first settled",
    "The frozen baseline of a contract term: reference, focus subgroups and weights, the "
    "baseline gap and its replicates, eligibility and every reason. Later runs read it; "
    "only `p4e baseline --rebuild --reason` replaces it.",
    columns(
        Column(
            "baseline_id",
            "STRING",
            "id of the frozen baseline, a hash of its content: the same inputs freeze the "
            "same id (settlement rows cite it)",
            nullable=False,
        ),
        *KEY,
        Column("measure_id", "STRING", "measure id", nullable=False),
        ("dimension", "STRING", "dimension of the contract"),
        ("baseline_years", "ARRAY<INT>", "baseline years of the contract"),
        ("vintage_year", "INT", "year whose race/ethnicity answers counted the members"),
        ("reference", "STRING", "reference subgroup, frozen for the term"),
        (
            "focus",
            "MAP<STRING,DOUBLE>",
            "focus subgroup -> weight (mean baseline size share), frozen for the term",
        ),
        (
            "subgroup_rates",
            "MAP<STRING,DOUBLE>",
            "reference and focus subgroups -> mean baseline rate",
        ),
        ("n_members", "DOUBLE", "mean members in the rate population per baseline year"),
        ("n_reference", "DOUBLE", "mean weighted size of the reference"),
        ("n_focus", "DOUBLE", "mean weighted size of the focus subgroups together"),
        (
            "baseline_gap",
            "DOUBLE",
            "the contract gap: sum of focus weights x max(0, focus "
            "gap) on the mean baseline rates, proportion",
        ),
        ("baseline_ci_low", "DOUBLE", CI_LOW),
        ("baseline_ci_high", "DOUBLE", CI_HIGH),
        ("baseline_se", "DOUBLE", "bootstrap SE of the baseline gap"),
        ("se_change", "DOUBLE", "SE of one performance year's gap minus the baseline gap"),
        ("share_not_positive", "DOUBLE", "share of the replicates with a gap <= 0"),
        *DECISION,
        ("replicates", "INT", "panel bootstrap replicates (stats.decision_replicates)"),
        ("seed", "BIGINT", "run seed of the replicates' stream"),
        (
            "estimator",
            "STRING",
            "weighted | corrected: the subgroup-rate estimator that froze it (stats.estimator)",
        ),
        ("gap_replicates", "ARRAY<DOUBLE>", "the replicates of the baseline gap"),
        ("input_versions", "MAP<STRING,BIGINT>", "Delta version of every input read"),
        ("created_run_id", "STRING", "run that froze the baseline"),
        ("created_at", "TIMESTAMP", "when, UTC"),
        ("rebuild_reason", "STRING", "why it was rebuilt (null for the first freeze)"),
    ),
    partition_by=("contract_id",),
)

SETTLEMENTS = Table(
    "gold",
    "settlements",
    "one row per (contract, performance year, group, measure) with level 'measure', "
    "plus a 'completeness' and a 'total' row per (contract, year, group)",
    "The settlement: what each contract pays for the year, why, and how sure.",
    columns(
        Column("contract_id", "STRING", "contract id (conf/contracts/*.yaml)", nullable=False),
        Column("year", "INT", "performance year", nullable=False),
        Column("group_id", "STRING", "provider group", nullable=False),
        Column("level", "STRING", "measure | completeness | total", nullable=False),
        ("measure_id", "STRING", "measure id (measure rows)"),
        ("dimension", "STRING", "dimension of the contract"),
        ("baseline_years", "ARRAY<INT>", "baseline years of the contract"),
        ("baseline_id", "STRING", "the frozen baseline (gold/contract_baselines)"),
        ("baseline_vintage", "STRING", "restated | frozen: which baseline gap settled"),
        ("is_eligible", "BOOLEAN", "the frozen eligibility"),
        (
            "eligibility_reasons",
            "ARRAY<STRING>",
            "its failed rules ('no_data': no rate population)",
        ),
        ("reference", "STRING", "the frozen reference subgroup"),
        ("baseline_gap", "DOUBLE", "the baseline gap that settled, proportion"),
        ("baseline_gap_frozen", "DOUBLE", "the as-contracted baseline gap"),
        (
            "baseline_gap_restated",
            "DOUBLE",
            "the baseline gap with the answers in force at the end of the performance year",
        ),
        ("baseline_ci_low", "DOUBLE", CI_LOW),
        ("baseline_ci_high", "DOUBLE", CI_HIGH),
        ("baseline_se", "DOUBLE", "bootstrap SE of the settling baseline gap"),
        ("mdc80", "DOUBLE", "the frozen minimum detectable change"),
        ("performance_gap", "DOUBLE", "the contract gap of the performance year, proportion"),
        ("performance_ci_low", "DOUBLE", CI_LOW),
        ("performance_ci_high", "DOUBLE", CI_HIGH),
        ("change", "DOUBLE", "performance gap - baseline gap, proportion"),
        ("change_ci_low", "DOUBLE", CI_LOW),
        ("change_ci_high", "DOUBLE", CI_HIGH),
        (
            "reference_decline",
            "DOUBLE",
            "the reference's oriented decline (positive = it got worse), proportion",
        ),
        (
            "credited_reduction",
            "DOUBLE",
            "max(0, baseline - performance gap - max(0, reference decline)), proportion",
        ),
        ("closure", "DOUBLE", "credited reduction / baseline gap in [0, 1]"),
        ("estimator", "STRING", "weighted | corrected: the estimator the row pays on"),
        (
            "closure_weighted",
            "DOUBLE",
            "the closure with the weighted estimator (imputed members by their probabilities)",
        ),
        (
            "closure_corrected",
            "DOUBLE",
            "the closure with the bias-corrected estimator (p4e.stats.corrected)",
        ),
        (
            "tier_other_estimator",
            "STRING",
            "the rule that would settle with the other estimator: same focus and weights, "
            "against its own restated baseline gap",
        ),
        (
            "is_estimator_sensitive",
            "BOOLEAN",
            "tier and tier_other_estimator differ: the payment depends on how imputed "
            "members are counted",
        ),
        (
            "is_credit_significant",
            "BOOLEAN",
            "the credited reduction is positive with the contract's credit_confidence",
        ),
        (
            "subgroups",
            f"ARRAY<{SUBGROUP}>",
            "every subgroup scored in both periods: role "
            "(reference | focus | other), focus weight, baseline and performance rates, oriented "
            "decline and its bootstrap SE",
        ),
        ("is_guard_passed", "BOOLEAN", "no focus subgroup declined beyond the guard"),
        ("guard_subgroup", "STRING", "the focus subgroup with the largest failing decline"),
        ("guard_decline", "DOUBLE", "its decline, proportion"),
        (
            "is_eliminated",
            "BOOLEAN",
            "performance gap at most the elimination threshold, no "
            "reference decline beyond the tolerance",
        ),
        ("is_widened", "BOOLEAN", "change CI entirely above 0"),
        ("share_self_reported", "DOUBLE", "the group's completeness (completeness row)"),
        ("tier", "STRING", "the rule that settled (tier label, guard_failed, ineligible, ...)"),
        ("share", "DECIMAL(9,6)", "share of the component's pool earned (negative: downside)"),
        (
            "tier_probabilities",
            "MAP<STRING,DOUBLE>",
            "rule label -> share of the decision replicates it settles, summing to 1",
        ),
        ("expected_share", "DOUBLE", "mean share over the decision replicates"),
        ("contract_weight", "DECIMAL(18,10)", "the measure's weight in the contract"),
        (
            "weight",
            "DECIMAL(18,10)",
            "upside weight after ineligible measures are renormalised or forfeited",
        ),
        ("pool", "DECIMAL(18,2)", "the contract's pool for the year, dollars"),
        ("member_months", "BIGINT", "member months of the group in the year (PMPM pools)"),
        Column(
            "amount",
            "DECIMAL(18,2)",
            "dollars paid; measure and completeness amounts add up to the total exactly",
            nullable=False,
        ),
        ("expected_amount", "DOUBLE", "mean amount over the decision replicates, dollars"),
        ("amount_p05", "DOUBLE", "5th percentile of the amount over the replicates, dollars"),
        ("amount_p50", "DOUBLE", "median amount (total rows), dollars"),
        ("amount_p95", "DOUBLE", "95th percentile of the amount, dollars"),
        ("p_zero", "DOUBLE", "total rows: share of the replicates paying nothing"),
        (
            "is_near_threshold",
            "BOOLEAN",
            "a decision lies within 2 Monte-Carlo SDs of its threshold",
        ),
        (
            "near_threshold",
            "ARRAY<STRING>",
            "those decisions (significant_gap, "
            "detectable_reduction, significant_reduction, widening)",
        ),
        (
            "input_versions",
            "MAP<STRING,BIGINT>",
            "Delta version of every input table read, by layer/table",
        ),
    ),
    partition_by=("contract_id", "year"),
)
