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
        ("spec_version", "STRING", "the measure version that computed the row (its YAML)"),
        (
            "is_plan_member",
            "BOOLEAN",
            "the plan's own coverage meets the measure's continuous-enrollment rule "
            "(periods, gaps, anchor date)",
        ),
        ("is_denominator", "BOOLEAN", "plan member and the denominator criteria met"),
        ("is_excluded", "BOOLEAN", "in the denominator and removed by an exclusion"),
        ("exclusion_reason", "STRING", "the exclusion that applied (null outside the denominator)"),
        ("is_in_rate", "BOOLEAN", "counted in the rate: in the denominator and not excluded"),
        (
            "is_numerator",
            "BOOLEAN",
            "in the denominator and met the numerator (false outside the denominator)",
        ),
        ("numerator_date", "DATE", "date of the event that met the numerator"),
    ),
    partition_by=("year",),
)
