"""Validation of the input layer: every realistic value accepted or quarantined as stated.

One story per table: rows a real feed has (open spans, unknown gender, ZIP+4, code types
spelled every way, NDCs with dashes, text lab results, unresulted and cancelled tests,
monthly attribution from two payers) are accepted; bad rows (null keys, impossible
dates and values, unknown code types, conflicts, duplicates, orphans) are quarantined
with their reason; and for every table `input rows = accepted + quarantined (rejected)`.
"""

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
from test_measures_lake import frame

D, T = dt.date, dt.datetime


def span(person: str, **values) -> dict:
    return {"person_id": person, "gender": "female", "birth_date": D(1960, 5, 1),
            "enrollment_start_date": D(2020, 1, 1), "enrollment_end_date": None,
            "payer": "plan", "last_name": "GARCIA", "zip_code": "02118"} | values  # fmt: skip


def line(claim: str, person: str = "P1", **values) -> dict:
    return {"claim_id": claim, "claim_line_number": 1, "claim_type": "professional",
            "person_id": person, "claim_start_date": D(2023, 4, 1),
            "claim_line_start_date": D(2023, 4, 1), "place_of_service_code": "11",
            "hcpcs_code": "99213", "diagnosis_code_type": "icd-10-cm",
            "diagnosis_code_1": "I10"} | values  # fmt: skip


def lab(lab_id: str, result: str, person: str = "P1", **values) -> dict:
    return {"lab_result_id": lab_id, "person_id": person,
            "normalized_component_type": "loinc", "normalized_component_code": "4548-4",
            "status": "final", "result": result,
            "collection_datetime": T(2023, 5, 1, 9, 30)} | values  # fmt: skip


def vital(obs_id: str, result: str, person: str = "P1", **values) -> dict:
    return {"observation_id": obs_id, "person_id": person, "observation_date": D(2023, 5, 1),
            "normalized_code_type": "loinc", "normalized_code": "8480-6",
            "result": result} | values  # fmt: skip


def month(person: str, year_month: str, group: str = "G1", payer: str = "plan") -> dict:
    return {"person_id": person, "year_month": year_month, "payer": payer,
            "payer_attributed_provider_organization": group}  # fmt: skip


def fill(claim: str, ndc: str, person: str = "P1", days: int = 30) -> dict:
    return {"claim_id": claim, "claim_line_number": 1, "person_id": person,
            "dispensing_date": D(2023, 3, 1), "ndc_code": ndc, "days_supply": days}  # fmt: skip


# table -> (rows accepted, [(row, action, reason)] quarantined)
STORIES: dict[str, tuple[list[dict], list[tuple[dict, str, str]]]] = {
    "provider_groups": (
        [{"group_id": "G1", "group_name": "Group one"}, {"group_id": "G2", "group_name": "Two"}],
        [({"group_id": None, "group_name": "no id"}, "rejected", "null key group_id")],
    ),
    "eligibility": (
        [
            span("P1"),  # still enrolled: no end date
            span(
                "P1",
                payer="other-payer",
                enrollment_start_date=D(2018, 1, 1),
                enrollment_end_date=D(2019, 12, 31),
            ),
            span("P2", gender="unknown", zip_code="02118-1234"),
            span("P3", gender="U"),
            span("P4", gender="X", enrollment_end_date=D(2025, 6, 30)),
            span("P5", gender=None),
        ],
        [
            (span("P6", gender="Q"), "flagged", "gender is not a spelling"),
            (span("P7", zip_code="2118"), "flagged", "zip_code is not 5 digits"),
            (span("P8", census_tract="123"), "flagged", "census_tract is not an 11-digit"),
            (span(None), "rejected", "null key person_id"),
            (span("P9", birth_date=D(1850, 1, 1)), "rejected", "birth_date out of range"),
            (span("P9", birth_date=None), "rejected", "null key birth_date"),
            (span("P9", enrollment_end_date=D(2019, 1, 1)), "rejected", "end_date before"),
            (span("P9", death_date=D(1950, 1, 1)), "rejected", "death_date before birth_date"),
        ],
    ),
    "practitioner": (
        [{"npi": "1000000001", "specialty": "Pediatrics"}],
        [
            ({"npi": "1000000002", "specialty": "Pediatrics"}, "rejected", "conflicting rows"),
            ({"npi": "1000000002", "specialty": "Cardiology"}, "rejected", "conflicting rows"),
        ],
    ),
    "race_ethnicity": (
        [
            {
                "person_id": "P1",
                "source": "self_reported",
                "code": "hispanic",
                "recorded_date": D(2022, 3, 1),
            }
        ],
        [
            (
                {
                    "person_id": "P1",
                    "source": "self_reported",
                    "code": "martian",
                    "recorded_date": D(2022, 1, 1),
                },
                "rejected",
                "unknown category code",
            ),
            (
                {
                    "person_id": "P1",
                    "source": "neighbour",
                    "code": "white",
                    "recorded_date": D(2022, 1, 1),
                },
                "rejected",
                "source is not one of",
            ),
            (
                {
                    "person_id": "NOBODY",
                    "source": "self_reported",
                    "code": "white",
                    "recorded_date": D(2022, 1, 1),
                },
                "rejected",
                "orphan: person_id",
            ),
        ],
    ),
    "provider_attribution": (
        [
            month("P1", "202301"),
            month("P1", "202301", payer="other-payer"),  # the same group twice is no conflict
            month("P1", "202302", "G2"),
        ],
        [
            (month("P2", "202313"), "rejected", "year_month is not YYYYMM"),
            (month("P2", "2023-01"), "rejected", "year_month is not YYYYMM"),
            (month("P3", "202303", "G1"), "rejected", "conflicting rows for person_id, year_month"),
            (month("P3", "202303", "G2"), "rejected", "conflicting rows for person_id, year_month"),
            (month("P4", "202301", "G9"), "rejected", "orphan: organization not in provider"),
            (month("NOBODY", "202301"), "rejected", "orphan: person_id not in eligibility"),
            ({"person_id": "P5", "year_month": "202301"}, "rejected", "null payer_attributed"),
        ],
    ),
    "medical_claim": (
        [
            line("C1"),
            line(
                "C2",
                diagnosis_code_type="ICD-10-CM",
                diagnosis_code_1="I10",
                diagnosis_code_2="E11.9",
                diagnosis_code_25="Z23",
            ),
            line("C3", diagnosis_code_type="ICD10CM", hcpcs_code="3074F", hcpcs_modifier_1="8P"),
            line(
                "C4",
                claim_type="institutional",
                place_of_service_code=None,
                bill_type_code="0811",
                revenue_center_code="0651",
                hcpcs_code=None,
            ),
            line(
                "C5",
                claim_type="undetermined",
                procedure_code_type="icd-10-pcs",
                procedure_code_1="0HTV0ZZ",
                procedure_date_1=D(2023, 4, 2),
            ),
            line("C6", diagnosis_code_type=None, diagnosis_code_1=None),  # a line without dx
        ],
        [
            (line("C7", claim_type="outpatient"), "flagged", "claim_type is not one of"),
            (line("C1"), "rejected", "duplicate row"),
            (line("C8", diagnosis_code_type="icd-11"), "rejected", "unknown or null diagnosis"),
            (line("C9", diagnosis_code_type=None), "rejected", "unknown or null diagnosis"),
            (line("C10", procedure_code_1="0HTV0ZZ"), "rejected", "unknown or null procedure"),
            (line("C11", claim_start_date=None), "rejected", "null key claim_start_date"),
            (line("C12", claim_start_date=D(2200, 1, 1)), "rejected", "claim_start_date out of"),
            (line("C13", hcpcs_code="99214"), "rejected", "conflicting rows for claim_id"),
            (line("C13", hcpcs_code="99215"), "rejected", "conflicting rows for claim_id"),
            (line("C14", "NOBODY"), "rejected", "orphan: person_id not in eligibility"),
        ],
    ),
    "pharmacy_claim": (
        [fill("R1", "65841080901"), fill("R2", "00088-2220-33", days=90)],
        [
            (fill("R3", "12345"), "rejected", "ndc_code is not 11 digits"),
            (fill("R4", "65841080901", days=-30), "rejected", "days_supply is negative"),
            (fill("R5", "65841080901", "NOBODY"), "rejected", "orphan: person_id"),
        ],
    ),
    "lab_result": (
        [
            lab("L1", "7.2"),
            lab("L2", "7.2%"),
            lab("L3", "<7.0"),
            lab("L4", "", status="preliminary"),  # unresulted: a test without a result
            lab("L5", "positive"),  # does not parse: kept as no result
            lab("L6", "", status="cancelled"),  # kept in silver; not an event
            lab(
                "L7",
                "8.1",
                normalized_component_type=None,
                normalized_component_code=None,
                source_component_type="LOINC",
                source_component_code="4548-4",
            ),
            lab("L8", "7.9", collection_datetime=None, result_datetime=T(2023, 5, 2)),
        ],
        [
            (lab("L9", "7.2", normalized_component_code=None), "rejected", "no code"),
            (lab("L10", "7.2", normalized_component_type="lab"), "rejected", "unknown code type"),
            (lab("L11", "7.2", collection_datetime=None), "rejected", "no date"),
            (lab("L12", "80"), "rejected", "impossible value for 4548-4"),
            (lab("L13", "7.2", "NOBODY"), "rejected", "orphan: person_id"),
            (lab("L14", "7.2"), "rejected", "conflicting rows for lab_result_id"),
            (lab("L14", "7.3"), "rejected", "conflicting rows for lab_result_id"),
        ],
    ),
    "observation": (
        [vital("O1", "128"), vital("O2", "128 mm[Hg]"), vital("O3", "")],
        [
            (vital("O4", "900"), "rejected", "impossible value for 8480-6"),
            (vital("O5", "120", normalized_code=None), "rejected", "no code"),
            (vital("O6", "120", observation_date=None), "rejected", "null key observation_date"),
        ],
    ),
}


@pytest.fixture()
def ctx(spark, cfg) -> RunContext:
    return RunContext.create(spark, load_settings(cfg))


def write_raw(ctx: RunContext, stories=STORIES, **replaced) -> None:
    """Write every raw table; `replaced` gives a DataFrame to land instead of a table's rows."""
    for table, (good, bad) in stories.items():
        rows = good + [row for row, _, _ in bad]
        df = replaced.get(table) or frame(ctx.spark, table, rows)
        ctx.store.write(df, ctx.path(INPUTS[table]), "overwrite")


def test_every_realistic_value_is_accepted_or_quarantined_as_stated(ctx):
    write_raw(ctx)
    counts = validation.run(ctx)
    quarantine = [(q["table"], q["action"], q["reason"], q["row_json"]) for q in
                  ctx.read(QUARANTINE).collect()]  # fmt: skip
    for table, (good, bad) in STORIES.items():
        rejected = sum(action == "rejected" for _, action, _ in bad)
        flagged = sum(action == "flagged" for _, action, _ in bad)
        assert counts[table] == {
            "raw": len(good) + len(bad),
            "silver": len(good) + flagged,
            "rejected": rejected,
            "flagged": flagged,
        }, table
        for row, action, reason in bad:
            hits = [q for q in quarantine if q[0] == table and q[1] == action and reason in q[2]]
            assert hits, f"no {action} quarantine row for {table}: {reason} ({row})"
    # a flagged value is kept as unknown, the row is accepted and recorded as it came
    silver = ctx.read(INPUTS["eligibility"].in_layer("silver"))
    (p7,) = silver.filter(F.col("person_id") == "P7").collect()
    assert p7["zip_code"] is None and p7["payer"] == "plan"
    flagged_zip = [json.loads(q[3]) for q in quarantine if "zip_code" in q[2]]
    assert len(flagged_zip) == 1 and flagged_zip[0]["zip_code"] == "2118"
    # a feed may carry all 25 diagnosis slots: the 25th is kept
    claims = ctx.read(INPUTS["medical_claim"].in_layer("silver"))
    assert claims.filter(F.col("diagnosis_code_25") == "Z23").count() == 1


def test_a_feed_without_the_optional_slots_and_with_extra_tuva_columns_is_read(ctx):
    good, _ = STORIES["medical_claim"]
    optional = [c.name for c in INPUTS["medical_claim"].columns if not c.required]
    narrow = (
        frame(ctx.spark, "medical_claim", good[:1])
        .drop(*optional)
        .withColumn("paid_amount", F.lit(12.5))  # a Tuva column p4e does not read
    )
    stories = {t: (g, []) for t, (g, _) in STORIES.items()}
    write_raw(ctx, stories, medical_claim=narrow)
    counts = validation.run(ctx)
    assert counts["medical_claim"] == {"raw": 1, "silver": 1, "rejected": 0, "flagged": 0}
    silver = ctx.read(INPUTS["medical_claim"].in_layer("silver"))
    assert silver.columns == INPUTS["medical_claim"].names  # the slots read as nulls
    assert silver.first()["diagnosis_code_2"] is None


def test_a_missing_required_column_stops_the_run_naming_table_and_column(ctx):
    good, _ = STORIES["medical_claim"]
    claims = frame(ctx.spark, "medical_claim", good).drop("diagnosis_code_type")
    write_raw(ctx, medical_claim=claims)
    with pytest.raises(
        P4eError, match="input table 'medical_claim': column 'diagnosis_code_type' is missing"
    ):
        validation.run(ctx)


def test_a_wrong_type_stops_the_run(ctx):
    good, _ = STORIES["pharmacy_claim"]
    fills = frame(ctx.spark, "pharmacy_claim", good)
    write_raw(
        ctx, pharmacy_claim=fills.withColumn("days_supply", F.col("days_supply").cast("string"))
    )
    with pytest.raises(P4eError, match="column 'days_supply' is string, expected int"):
        validation.run(ctx)
