"""The values p4e writes into its tables' label columns, each named once."""

from __future__ import annotations

# group_id: members with no attributed provider group, and the plan-wide group.
UNATTRIBUTED = "UNATTRIBUTED"
ALL_GROUPS = "ALL_GROUPS"
# subgroup: every member of the group (weight 1), beside the dimension's categories.
ALL_SUBGROUP = "ALL"

# stats.estimator: how imputed members count in subgroup rates (p4e.stats.corrected).
WEIGHTED = "weighted"
CORRECTED = "corrected"
ESTIMATORS = (WEIGHTED, CORRECTED)

# equity_gaps.level
SUBGROUP_LEVEL = "subgroup"
SUMMARY_LEVEL = "summary"

# member_demographics.source: where the member's answer of the year came from.
SELF_REPORTED = "self_reported"
PROVIDER_REPORTED = "provider_reported"
REPORTED_SOURCES = (SELF_REPORTED, PROVIDER_REPORTED)
IMPUTED = "imputed"
DECLINED = "declined"
UNKNOWN = "unknown"
# data_completeness: the sources whose shares are published (declined counts as self-reported).
COMPLETENESS_SOURCES = (SELF_REPORTED, PROVIDER_REPORTED, IMPUTED, UNKNOWN)

# subgroup_rates.suppression_reason
PRIMARY = "primary"
COMPLEMENTARY = "complementary"

# settlements.level
MEASURE_LEVEL = "measure"
COMPLETENESS_LEVEL = "completeness"
TOTAL_LEVEL = "total"
SETTLEMENT_LEVELS = (MEASURE_LEVEL, COMPLETENESS_LEVEL, TOTAL_LEVEL)

# quarantine.action
REJECTED = "rejected"
FLAGGED = "flagged"
