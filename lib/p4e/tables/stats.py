"""The stats step's gold tables: subgroup rates, equity gaps, their replicates, eligibility."""

from __future__ import annotations

from p4e.tables.model import Table, columns

GAP = "oriented gap (reference rate - focus rate for higher-is-better measures), proportion"
CI_LOW, CI_HIGH = "lower bound of the bootstrap percentile CI", "upper bound of the same CI"
CORRECTED = (
    "bias-corrected (BIRDiE complete-pooling EM, p4e.stats.corrected: imputed members "
    "counted by their subgroup posterior given the outcome)"
)
CORRECTED_CI = "bootstrap percentile CI of the corrected value (one-step linearised replicates)"

SUBGROUP_RATES = Table(
    "gold",
    "subgroup_rates",
    "one row per (provider group, measure, year, dimension, subgroup) with n > 0",
    "Rates per subgroup with bootstrap precision; group ALL_GROUPS is plan-wide, "
    "subgroup ALL is every member of the group.",
    columns(
        ("group_id", "STRING", "provider group, UNATTRIBUTED, or ALL_GROUPS (plan-wide)"),
        ("measure_id", "STRING", "measure id"),
        ("year", "INT", "measurement year"),
        ("dimension", "STRING", "dimension name"),
        ("subgroup", "STRING", "category code, or ALL"),
        (
            "n",
            "DOUBLE",
            "weighted denominator: the rate population's probabilities of the "
            "subgroup (imputed members count fractionally), members",
        ),
        ("k", "DOUBLE", "weighted numerator (same weights, members in the numerator), members"),
        ("rate", "DOUBLE", "k / n, proportion"),
        ("ci_low", "DOUBLE", CI_LOW),
        ("ci_high", "DOUBLE", CI_HIGH),
        ("se", "DOUBLE", "bootstrap standard error of the rate"),
        ("n_corrected", "DOUBLE", "posterior denominator of the corrected rate, members"),
        ("rate_corrected", "DOUBLE", f"{CORRECTED} rate, proportion"),
        ("ci_low_corrected", "DOUBLE", f"lower bound of the {CORRECTED_CI}"),
        ("ci_high_corrected", "DOUBLE", f"upper bound of the {CORRECTED_CI}"),
        (
            "is_suppressed",
            "BOOLEAN",
            "not publishable: n below stats.min_cell_publish, or a "
            "complementary cell that would reveal one (values kept here; publishers blank them)",
        ),
        (
            "suppression_reason",
            "STRING",
            "primary (n below the threshold) | complementary "
            "(hidden so no suppressed cell can be recomputed from the others) | null",
        ),
        ("is_scored", "BOOLEAN", "n at least stats.min_scored (enters gaps and the guard)"),
        ("replicates", "INT", "bootstrap replicates B behind the CI"),
    ),
    partition_by=("year",),
)

EQUITY_GAPS = Table(
    "gold",
    "equity_gaps",
    "one row per (provider group, measure, year, focus subgroup) with level 'subgroup', "
    "and one per (provider group, measure, year) with level 'summary'",
    "Gaps to the reference subgroup and the group's equity gap with bootstrap CIs.",
    columns(
        ("group_id", "STRING", "provider group or ALL_GROUPS"),
        ("measure_id", "STRING", "measure id"),
        ("year", "INT", "measurement year"),
        ("dimension", "STRING", "dimension name"),
        ("level", "STRING", "subgroup | summary"),
        ("subgroup", "STRING", "focus subgroup (null on summary rows)"),
        (
            "statistic",
            "STRING",
            "gap (subgroup rows) or the summary: weighted_mean | max | variance",
        ),
        ("direction", "STRING", "higher | lower: which way the measure is better"),
        (
            "reference",
            "STRING",
            "reference subgroup of the row (the fixed category, or the "
            "best scored subgroup by point estimate when stats.reference is best)",
        ),
        ("n_reference", "DOUBLE", "weighted denominator of the reference, members"),
        ("rate_reference", "DOUBLE", "rate of the reference, proportion"),
        (
            "n_focus",
            "DOUBLE",
            "weighted denominator of the focus subgroup (summary: of all "
            "scored focus subgroups), members",
        ),
        ("rate_focus", "DOUBLE", "rate of the focus subgroup (null on summary rows), proportion"),
        ("n_focus_scored", "INT", "number of scored focus subgroups in the summary"),
        (
            "gap",
            "DOUBLE",
            GAP + "; summary rows: the equity gap (stats.gap_summary over the "
            "scored focus subgroups), null when the reference or every focus subgroup is unscored",
        ),
        ("ci_low", "DOUBLE", CI_LOW),
        ("ci_high", "DOUBLE", CI_HIGH),
        ("se", "DOUBLE", "bootstrap standard error of the gap"),
        (
            "gap_corrected",
            "DOUBLE",
            f"the gap (summary rows: the equity gap) from the {CORRECTED} rates, against "
            "the reference they pick; null where that gap is undefined",
        ),
        ("ci_low_corrected", "DOUBLE", f"lower bound of the {CORRECTED_CI}"),
        ("ci_high_corrected", "DOUBLE", f"upper bound of the {CORRECTED_CI}"),
        (
            "is_scored",
            "BOOLEAN",
            "subgroup rows: focus and reference are both scored; summary rows: the gap is defined",
        ),
        ("replicates", "INT", "bootstrap replicates B"),
    ),
    partition_by=("year",),
)

GAP_REPLICATES = Table(
    "gold",
    "gap_replicates",
    "one row per (provider group, measure, year, replicate)",
    "The bootstrap replicates of the summary equity gap, to build CIs of changes "
    "between periods (periods resampled independently).",
    columns(
        ("group_id", "STRING", "provider group or ALL_GROUPS"),
        ("measure_id", "STRING", "measure id"),
        ("year", "INT", "measurement year"),
        ("replicate", "INT", "replicate number, 0 to B-1"),
        ("equity_gap", "DOUBLE", "summary equity gap of the replicate, proportion"),
        (
            "equity_gap_corrected",
            "DOUBLE",
            "the same from the corrected rates (one-step linearised replicate), proportion",
        ),
    ),
    partition_by=("year",),
)

# The eligibility decision, as screened (gold/eligibility) and as frozen for a contract
# (gold/contract_baselines).
DECISION = (
    (
        "mdc80",
        "DOUBLE",
        "minimum detectable change at `power`: the smallest reduction of "
        "the gap the group could show, proportion",
    ),
    ("max_mdc_share", "DOUBLE", "eligible only if mdc80 <= this share of the baseline gap"),
    ("power", "DOUBLE", "power of mdc80"),
    ("is_eligible", "BOOLEAN", "an existing inequity whose reduction can be measured"),
    (
        "reasons",
        "ARRAY<STRING>",
        "failed rules: reference_not_scored, no_focus_scored, "
        "no_significant_gap, reduction_not_detectable",
    ),
    ("is_near_threshold", "BOOLEAN", "a decision lies within 2 Monte-Carlo SDs of its threshold"),
    ("near_threshold", "ARRAY<STRING>", "those decisions: significant_gap, detectable_reduction"),
)

ELIGIBILITY = Table(
    "gold",
    "eligibility",
    "one row per (provider group, measure) for the stats baseline period",
    "A screening of every pair: is there an existing inequity whose reduction could be "
    "measured? (Computed from the published bootstrap, years drawn independently; a "
    "contract's decision is frozen in gold/contract_baselines.)",
    columns(
        ("group_id", "STRING", "provider group"),
        ("measure_id", "STRING", "measure id"),
        ("dimension", "STRING", "dimension name"),
        ("baseline_years", "ARRAY<INT>", "years of the baseline period"),
        ("n_baseline_years", "INT", "baseline years with an equity gap"),
        ("n_members", "DOUBLE", "mean members in the rate population per baseline year"),
        ("n_reference", "DOUBLE", "mean weighted denominator of the reference subgroup"),
        ("max_focus_n", "DOUBLE", "mean weighted denominator of the largest focus subgroup"),
        (
            "baseline_equity_gap",
            "DOUBLE",
            "mean summary equity gap over the baseline years, proportion",
        ),
        ("baseline_ci_low", "DOUBLE", CI_LOW),
        ("baseline_ci_high", "DOUBLE", CI_HIGH),
        ("se", "DOUBLE", "bootstrap standard error of the baseline equity gap"),
        *DECISION,
        ("replicates", "INT", "bootstrap replicates behind the figures"),
    ),
)
