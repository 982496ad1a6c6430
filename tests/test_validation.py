"""Validation of raw inputs: every kind of bad row is quarantined with its reason, none lost."""

from __future__ import annotations

import datetime as dt
import json

import pytest
from pyspark.sql import functions as F

from p4e import validation
from p4e.config import load_settings
from p4e.context import RunContext
from p4e.errors import P4eError
from p4e.tables import INPUTS, QUARANTINE

D = dt.date
GOOD = {
    "provider_groups": [("G1", "Group one")],
    "members": [("M1", D(1960, 5, 1), "F", "ANA", "GARCIA", "02118", "25025070101", None)],
    "race_ethnicity": [("M1", "self_reported", "hispanic", D(2022, 3, 1))],
    "enrollment": [("M1", "plan", D(2020, 1, 1), D(2025, 12, 31))],
    "attribution": [("M1", "G1", 2023)],
    "claims": [("C1", "M1", D(2023, 4, 1), "CPT", "82270", "11")],
    "observations": [("O1", "M1", D(2023, 4, 1), "LOINC", "8480-6", 128.0, "mm[Hg]")],
}
# (table, bad row, reason expected in quarantine)
BAD = [
    ("members", (None, D(1960, 1, 1), "F", "A", "B", "02118", None, None), "null key member_id"),
    (
        "members",
        ("M2", D(1850, 1, 1), "M", "A", "B", "02118", None, None),
        "birth_date out of range",
    ),
    ("members", ("M3", D(1970, 1, 1), "Q", "A", "B", "02118", None, None), "sex is not F or M"),
    (
        "members",
        ("M4", D(1970, 1, 1), "M", "A", "B", "02118", None, D(1969, 1, 1)),
        "death_date before",
    ),
    ("race_ethnicity", ("M1", "self_reported", "martian", D(2022, 1, 1)), "unknown category code"),
    ("race_ethnicity", ("M1", "neighbour", "white", D(2022, 1, 1)), "source is not one of"),
    ("enrollment", ("M1", "plan", D(2023, 5, 1), D(2023, 4, 1)), "end_date before start_date"),
    ("claims", ("C2", "M1", D(2023, 1, 1), "SNOMEDX", "123", "11"), "unknown code system"),
    ("claims", ("C3", "M1", None, "CPT", "82270", "11"), "null key service_date"),
    ("claims", ("C1", "M1", D(2023, 4, 1), "CPT", "82270", "11"), "duplicate row"),
    (
        "observations",
        ("O2", "M1", D(2023, 4, 1), "LOINC", "8480-6", 900.0, "mm[Hg]"),
        "impossible value for 8480-6",
    ),
    (
        "observations",
        ("O3", "M1", D(2023, 4, 1), "LOINC", "4548-4", float("nan"), "%"),
        "value is missing or not a number",
    ),
]


def write_raw(ctx: RunContext, tables: dict[str, list[tuple]], **replaced) -> None:
    """Write the raw tables; `replaced` gives a DataFrame to land instead of a table's rows."""
    for table, rows in tables.items():
        df = replaced.get(table) or ctx.spark.createDataFrame(rows, INPUTS[table].schema())
        ctx.store.write(df, ctx.path(INPUTS[table]), "overwrite")


@pytest.fixture()
def ctx(spark, cfg) -> RunContext:
    return RunContext.create(spark, load_settings(cfg))


def test_every_bad_row_is_quarantined_with_its_reason(ctx):
    tables = {t: list(rows) for t, rows in GOOD.items()}
    for table, row, _ in BAD:
        tables[table].append(row)
    # a member attributed to two groups in one year: no rule says which is right
    tables["attribution"] += [("M5", "G1", 2024), ("M5", "G2", 2024)]
    # a malformed ZIP keeps the member (unknown geography) but is recorded
    tables["members"].append(("M6", D(1980, 1, 1), "F", "A", "LEE", "2118", None, None))
    write_raw(ctx, tables)

    counts = validation.run(ctx)

    quarantine = ctx.read(QUARANTINE).collect()
    for table, _row, reason in BAD:
        hits = [
            q
            for q in quarantine
            if q["table"] == table and reason in q["reason"] and q["action"] == "rejected"
        ]
        assert hits, f"no quarantine row for {table}: {reason}"
    conflicts = [q for q in quarantine if q["table"] == "attribution"]
    assert len(conflicts) == 2 and all("conflicting rows" in q["reason"] for q in conflicts)
    zip_rows = [q for q in quarantine if q["table"] == "members" and q["action"] == "flagged"]
    assert len(zip_rows) == 1 and json.loads(zip_rows[0]["row_json"])["zip"] == "2118"
    kept = (
        ctx.read(INPUTS["members"].in_layer("silver")).filter(F.col("member_id") == "M6").collect()
    )
    assert len(kept) == 1 and kept[0]["zip"] is None
    for table, c in counts.items():
        assert c["raw"] == c["silver"] + c["rejected"], table
        assert c["raw"] == len(tables[table])
    assert counts["claims"] == {"raw": 4, "silver": 1, "rejected": 3, "flagged": 0}
    assert (
        ctx.read(INPUTS["observations"].in_layer("silver")).collect()[0]["observation_id"] == "O1"
    )


def test_a_missing_column_stops_the_run_naming_table_and_column(ctx):
    claims = ctx.spark.createDataFrame(GOOD["claims"], INPUTS["claims"].schema()).drop(
        "code_system"
    )
    write_raw(ctx, GOOD, claims=claims)
    with pytest.raises(P4eError, match="input table 'claims': column 'code_system' is missing"):
        validation.run(ctx)


def test_a_wrong_type_stops_the_run(ctx):
    attribution = ctx.spark.createDataFrame(GOOD["attribution"], INPUTS["attribution"].schema())
    write_raw(ctx, GOOD, attribution=attribution.withColumn("year", F.col("year").cast("string")))
    with pytest.raises(P4eError, match="column 'year' is string, expected int"):
        validation.run(ctx)
