"""The normalised events: claim lines unpivoted, codes matched however a feed spells them.

Expected rows are written by hand from the input rows of each story.
"""

from __future__ import annotations

import datetime as dt

import pytest
from pyspark.sql import functions as F

from p4e.config import load_settings
from p4e.events import build_events
from p4e.events.values import result_bound, result_value
from test_measures_lake import TABLES, frame

D, T = dt.date, dt.datetime


def line(claim: str, number: int = 1, **values) -> dict:
    base = {"claim_id": claim, "claim_line_number": number, "claim_type": "professional",
            "person_id": "P1", "claim_start_date": D(2023, 4, 1),
            "claim_line_start_date": D(2023, 4, 1), "place_of_service_code": "11"}  # fmt: skip
    return base | values


@pytest.fixture(scope="module")
def settings(base_config):
    return load_settings(base_config)


def events_of(spark, settings, **rows):
    tables = {t: frame(spark, t, rows.get(t, [])) for t in TABLES}
    return build_events(spark, settings, tables)


def test_every_slot_of_a_claim_line_is_an_event_and_empty_slots_are_not(spark, settings):
    claims = [
        line(
            "C1",
            diagnosis_code_type="icd-10-cm",
            diagnosis_code_1="I10",
            diagnosis_code_2="Z00.129",
            diagnosis_code_3=None,
            diagnosis_code_25="e11.9",
            hcpcs_code="99213",
            rendering_npi="1000000001",
        ),
        # the same claim's second line repeats its diagnoses (Tuva: header level)
        line(
            "C1",
            2,
            diagnosis_code_type="icd-10-cm",
            diagnosis_code_1="I10",
            diagnosis_code_2="Z00.129",
            diagnosis_code_25="e11.9",
            hcpcs_code="3074F",
            place_of_service_code="2",
            claim_line_start_date=D(2023, 4, 2),
        ),
        line(
            "C2",
            claim_type="institutional",
            place_of_service_code=None,
            bill_type_code="811",
            revenue_center_code="651",
            procedure_code_type="ICD10PCS",
            procedure_code_1="0HTV0ZZ",
            procedure_date_1=D(2023, 4, 3),
        ),
    ]
    practitioner = [{"npi": "1000000001", "specialty": "Family Medicine "}]
    df = events_of(spark, settings, medical_claim=claims, practitioner=practitioner)
    got = {
        (r["claim_id"], r["namespace"], r["code"], r["value_set"], r["event_date"],
         r["place_of_service"], r["revenue_code"], r["specialty"])
        for r in df.collect()
    }  # fmt: skip
    assert got == {
        # diagnoses once per claim, on the claim's date, lowest place of service and specialty
        ("C1", "ICD10CM", "I10", "hypertension", D(2023, 4, 1), "02", None, "family medicine"),
        ("C1", "ICD10CM", "Z00129", "well_care", D(2023, 4, 1), "02", None, "family medicine"),
        ("C1", "ICD10CM", "E119", "diabetes", D(2023, 4, 1), "02", None, "family medicine"),
        # line codes on the line's date
        ("C1", "PROCEDURE", "99213", "outpatient", D(2023, 4, 1), "11", None, "family medicine"),
        ("C1", "PROCEDURE", "3074F", "systolic_lt_130", D(2023, 4, 2), "02", None, None),
        ("C2", "UBREV", "0651", "hospice", D(2023, 4, 1), None, "0651", None),
        ("C2", "UBTOB", "0811", "hospice", D(2023, 4, 1), None, None, None),
        ("C2", "ICD10PCS", "0HTV0ZZ", "bilateral_mastectomy", D(2023, 4, 3), None, None, None),
    }
    assert df.filter(F.col("claim_id") == "C2").select("bill_type").distinct().collect()[0][0] == (
        "0811"
    )
    assert df.schema.simpleString().startswith("struct<member_id:string,event_date:date")


def test_codes_match_however_the_feed_spells_their_type(spark, settings):
    claims = [
        line("A", hcpcs_code="77067"),  # CPT in hcpcs_code, as Tuva files it
        line("B", diagnosis_code_type="ICD10CM", diagnosis_code_1="C18.4"),  # a C18* code
        line("C", diagnosis_code_type="ICD-10-CM", diagnosis_code_1="c184"),  # no dot, lower
        line("D", diagnosis_code_type="icd-10-cm", diagnosis_code_1="C17.9"),  # not C18
    ]
    fills = [{"claim_id": "R1", "claim_line_number": 1, "person_id": "P1",
              "dispensing_date": D(2023, 3, 1), "ndc_code": "00088-2220-33",
              "days_supply": 90}]  # fmt: skip
    df = events_of(spark, settings, medical_claim=claims, pharmacy_claim=fills)
    got = {(r["claim_id"], r["value_set"], r["code"]) for r in df.collect()}
    assert got == {
        ("A", "mammography", "77067"),
        ("B", "colorectal_cancer", "C184"),
        ("C", "colorectal_cancer", "C184"),
        ("R1", "diabetes_medications", "00088222033"),
    }
    (fill,) = df.filter(F.col("source") == "pharmacy_claim").collect()
    assert (fill["days_supply"], fill["event_date"]) == (90, D(2023, 3, 1))


def test_lab_codes_dates_results_and_tests_not_performed(spark, settings):
    def lab(lab_id, result, **values):
        base = {"lab_result_id": lab_id, "person_id": "P1", "status": "final",
                "normalized_component_type": "loinc", "normalized_component_code": "4548-4",
                "result": result, "collection_datetime": T(2023, 5, 1, 23, 59)}  # fmt: skip
        return base | values

    labs = [
        lab("L1", "7.2"),
        lab("L2", "7.2 %", status="Final"),
        lab("L3", "<7.0"),
        lab("L4", "", status="preliminary"),
        lab("L5", "", status="Cancelled"),  # not performed: no event
        lab(
            "L6",
            "9.5",
            normalized_component_code=None,
            normalized_component_type=None,
            normalized_order_type="loinc",
            normalized_order_code="17856-6",
            collection_datetime=None,
            result_datetime=T(2023, 6, 2, 8),
        ),
    ]
    vitals = [{"observation_id": "O1", "person_id": "P1", "observation_date": D(2023, 5, 1),
               "normalized_code_type": None, "normalized_code": None,
               "source_code_type": "LOINC", "source_code": "8480-6",
               "result": "128 mm[Hg]"}]  # fmt: skip
    df = events_of(spark, settings, lab_result=labs, observation=vitals)
    got = {
        (r["source"], r["code"], r["event_date"], r["value"], r["value_bound"], r["result_status"])
        for r in df.collect()
    }
    assert got == {
        ("lab_result", "4548-4", D(2023, 5, 1), 7.2, None, "final"),
        ("lab_result", "4548-4", D(2023, 5, 1), 7.2, None, "final"),
        ("lab_result", "4548-4", D(2023, 5, 1), 7.0, "<", "final"),
        ("lab_result", "4548-4", D(2023, 5, 1), None, None, "preliminary"),
        ("lab_result", "17856-6", D(2023, 6, 2), 9.5, None, "final"),
        ("observation", "8480-6", D(2023, 5, 1), 128.0, None, None),
    }


@pytest.mark.parametrize(
    ("text", "value", "bound"),
    [
        ("7.2", 7.2, None), ("7.2%", 7.2, None), (" 7.2 % ", 7.2, None), ("<7.0", 7.0, "<"),
        (">= 9", 9.0, ">="), ("128 mm[Hg]", 128.0, None), ("-1.5", -1.5, None), (".5", 0.5, None),
        ("", None, None), ("positive", None, None), ("7.2.1", None, None), ("128/82", None, None),
        (None, None, None),
    ],
)  # fmt: skip
def test_text_results_read_as_numbers(spark, text, value, bound):
    row = (
        spark.createDataFrame([(text,)], "r STRING")
        .select(result_value(F.col("r")).alias("v"), result_bound(F.col("r")).alias("b"))
        .first()
    )
    assert (row["v"], row["b"]) == (value, bound)
