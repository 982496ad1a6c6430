"""gold/member_measures: the measure engine's output, one row per member, measure and year."""

from __future__ import annotations

from p4e.tables.model import Table, columns

MEMBER_MEASURES = Table(
    "gold",
    "member_measures",
    "one row per (member, provider group, measure, year) in the measure's eligible population",
    "Measure results per member: the input of every rate.",
    columns(
        ("member_id", "STRING", "member id"),
        ("group_id", "STRING", "attributed provider group, or UNATTRIBUTED"),
        ("measure_id", "STRING", "measure id (conf/measures/<id>.yaml)"),
        ("year", "INT", "measurement year"),
        ("is_plan_member", "BOOLEAN", "enrolled with the plan (false: another payer's patient)"),
        ("is_denominator", "BOOLEAN", "in the denominator (before exclusions)"),
        ("is_excluded", "BOOLEAN", "removed by an exclusion"),
        ("exclusion_reason", "STRING", "the exclusion that applied (null when none)"),
        ("is_numerator", "BOOLEAN", "met the numerator (e.g. screened, controlled)"),
        ("numerator_date", "DATE", "date of the event that met the numerator"),
    ),
    partition_by=("year",),
)
