"""The OMOP CDM v5.4 import: a hand-made extract in, the input-layer rows written out by hand."""

from __future__ import annotations

import csv
import datetime as dt
import logging
import re
from pathlib import Path
from typing import Any

import pytest
import yaml
from pyspark.sql import DataFrame
from pyspark.sql import functions as F

from p4e.cli import main
from p4e.config import load_settings
from p4e.errors import P4eError
from p4e.imports.omop import RACE_CODES, omop_to_input_layer, read_omop
from p4e.pipeline import STEPS, run_steps
from p4e.storage import open_store
from p4e.tables.inputs import INPUTS

CONF = Path(__file__).resolve().parents[1] / "conf"
D = dt.date
OPTIONAL_TABLES = ("death", "location", "care_site", "provider")

# fmt: off
# Persons: 1 female, white, two observation periods, care site 10, an outpatient visit with
# hypertension (ICD10CM I10), a screening mammogram (CPT4 77067), HbA1c 7.2 and systolic BP
# 128; 2 male, Hispanic, born per birth_datetime, care site 11 (not in care_site), an NDC
# and a non-NDC drug, a diabetes diagnosis without a visit, a cholesterol test without a
# result; 3 gender concept 0, no race, dead, an inpatient ICD10PCS procedure by provider 500
# and a SNOMED-only procedure; 4 female, Asian, no events.
OMOP_FIXTURE: dict[str, list[dict[str, Any]]] = {
    "person": [
        {"person_id": 1, "gender_concept_id": 8532, "year_of_birth": 1960, "month_of_birth": 5,
         "day_of_birth": 15, "race_concept_id": 8527, "ethnicity_concept_id": 38003564,
         "location_id": 1, "care_site_id": 10, "person_source_value": "a"},
        {"person_id": 2, "gender_concept_id": 8507, "year_of_birth": 1975,
         "birth_datetime": "1975-03-02 08:00:00", "race_concept_id": 8516,
         "ethnicity_concept_id": 38003563, "care_site_id": 11, "person_source_value": "b"},
        {"person_id": 3, "gender_concept_id": 0, "year_of_birth": 1990, "race_concept_id": 0,
         "ethnicity_concept_id": 0, "person_source_value": "c"},
        {"person_id": 4, "gender_concept_id": 8532, "year_of_birth": 1985, "month_of_birth": 7,
         "race_concept_id": 8515, "ethnicity_concept_id": 0, "location_id": 2,
         "person_source_value": "d"},
    ],
    "observation_period": [
        {"observation_period_id": i, "person_id": person,
         "observation_period_start_date": start, "observation_period_end_date": end}
        for i, person, start, end in (
            (1, 1, "2020-01-15", "2020-03-10"),
            (2, 1, "2020-11-01", "2021-01-31"),
            (3, 2, "2021-06-01", "2021-07-31"),
            (4, 3, "2022-01-01", "2022-12-31"),
            (5, 4, "2023-01-01", "2023-06-30"),
        )
    ],
    "visit_occurrence": [
        {"visit_occurrence_id": 100, "person_id": 1, "visit_concept_id": 9202},
        {"visit_occurrence_id": 101, "person_id": 3, "visit_concept_id": 9201},
    ],
    "condition_occurrence": [
        {"condition_occurrence_id": 1000, "person_id": 1, "condition_concept_id": 320128,
         "condition_start_date": "2020-02-01", "visit_occurrence_id": 100,
         "condition_source_concept_id": 35207668},
        {"condition_occurrence_id": 1001, "person_id": 2, "condition_concept_id": 201826,
         "condition_start_date": "2021-06-15", "condition_source_concept_id": 45576876},
    ],
    "procedure_occurrence": [
        {"procedure_occurrence_id": 2000, "person_id": 1, "procedure_concept_id": 900001,
         "procedure_date": "2020-02-01", "visit_occurrence_id": 100,
         "procedure_source_concept_id": 0, "modifier_source_value": "GG"},
        {"procedure_occurrence_id": 2001, "person_id": 3, "procedure_concept_id": 900003,
         "procedure_date": "2022-03-04", "provider_id": 500, "visit_occurrence_id": 101,
         "procedure_source_concept_id": 900002},
        {"procedure_occurrence_id": 2002, "person_id": 3, "procedure_concept_id": 900003,
         "procedure_date": "2022-05-06"},
    ],
    "drug_exposure": [
        {"drug_exposure_id": 4000, "person_id": 2, "drug_concept_id": 900010,
         "drug_exposure_start_date": "2021-06-15", "days_supply": 30,
         "drug_source_concept_id": 900011},
        {"drug_exposure_id": 4001, "person_id": 2, "drug_concept_id": 900010,
         "drug_exposure_start_date": "2021-07-01", "days_supply": 90,
         "drug_source_concept_id": 0},
    ],
    # No measurement_source_concept_id column: an optional column the extract leaves out.
    "measurement": [
        {"measurement_id": 3000, "person_id": 1, "measurement_concept_id": 3004410,
         "measurement_date": "2020-02-01", "measurement_datetime": "2020-02-01 09:30:00",
         "value_as_number": "7.2", "value_source_value": "7.2 %", "visit_occurrence_id": 100},
        {"measurement_id": 3001, "person_id": 1, "measurement_concept_id": 3004249,
         "measurement_date": "2020-02-01", "value_as_number": "128.0",
         "visit_occurrence_id": 100},
        {"measurement_id": 3002, "person_id": 2, "measurement_concept_id": 3027114,
         "measurement_date": "2021-06-15"},
    ],
    "concept": [
        {"concept_id": 35207668, "concept_name": "Essential (primary) hypertension",
         "vocabulary_id": "ICD10CM", "concept_class_id": "3-char billing code",
         "concept_code": "I10"},
        {"concept_id": 320128, "concept_name": "Essential hypertension",
         "vocabulary_id": "SNOMED", "concept_class_id": "Clinical Finding",
         "concept_code": "59621000"},
        {"concept_id": 45576876, "concept_name": "Type 2 diabetes mellitus without complications",
         "vocabulary_id": "ICD10CM", "concept_class_id": "4-char billing code",
         "concept_code": "E11.9"},
        {"concept_id": 201826, "concept_name": "Type 2 diabetes mellitus",
         "vocabulary_id": "SNOMED", "concept_class_id": "Clinical Finding",
         "concept_code": "44054006"},
        {"concept_id": 900001, "concept_name": "Screening mammography, bilateral",
         "vocabulary_id": "CPT4", "concept_class_id": "CPT4", "concept_code": "77067"},
        {"concept_id": 900002, "concept_name": "Resection of Appendix, Endo",
         "vocabulary_id": "ICD10PCS", "concept_class_id": "ICD10PCS",
         "concept_code": "0DTJ4ZZ"},
        {"concept_id": 900003, "concept_name": "Appendectomy", "vocabulary_id": "SNOMED",
         "concept_class_id": "Procedure", "concept_code": "80146002"},
        {"concept_id": 900010, "concept_name": "metformin 500 MG Oral Tablet",
         "vocabulary_id": "RxNorm", "concept_class_id": "Clinical Drug",
         "concept_code": "861007"},
        {"concept_id": 900011, "concept_name": "metformin 500 MG Oral Tablet",
         "vocabulary_id": "NDC", "concept_class_id": "11-digit NDC",
         "concept_code": "00093-1048-01"},
        {"concept_id": 3004410, "concept_name": "Hemoglobin A1c/Hemoglobin.total in Blood",
         "vocabulary_id": "LOINC", "concept_class_id": "Lab Test", "concept_code": "4548-4"},
        {"concept_id": 3004249, "concept_name": "Systolic blood pressure",
         "vocabulary_id": "LOINC", "concept_class_id": "Clinical Observation",
         "concept_code": "8480-6"},
        {"concept_id": 3027114, "concept_name": "Cholesterol [Mass/volume] in Serum or Plasma",
         "vocabulary_id": "LOINC", "concept_class_id": "Lab Test", "concept_code": "2093-3"},
        {"concept_id": 38004447, "concept_name": "General Surgery",
         "vocabulary_id": "Medicare Specialty", "concept_class_id": "Medicare Specialty",
         "concept_code": "02"},
    ],
    "death": [{"person_id": 3, "death_date": "2022-12-31"}],
    "location": [
        {"location_id": 1, "zip": "02139-4307"},
        {"location_id": 2, "zip": "10001"},
    ],
    "care_site": [{"care_site_id": 10, "care_site_name": "Main Street Clinic"}],
    "provider": [
        {"provider_id": 500, "npi": "1234567893", "specialty_concept_id": 38004447},
        {"provider_id": 501, "specialty_source_value": "Nurse"},
    ],
}
# Columns of each file: the ones the import reads (and an extra OMOP column in person).
OMOP_COLUMNS = {
    "person": [
        "person_id", "gender_concept_id", "year_of_birth", "month_of_birth", "day_of_birth",
        "birth_datetime", "race_concept_id", "ethnicity_concept_id", "location_id",
        "care_site_id", "person_source_value",
    ],
    "observation_period": [
        "observation_period_id", "person_id", "observation_period_start_date",
        "observation_period_end_date",
    ],
    "visit_occurrence": ["visit_occurrence_id", "person_id", "visit_concept_id", "provider_id"],
    "condition_occurrence": [
        "condition_occurrence_id", "person_id", "condition_concept_id", "condition_start_date",
        "provider_id", "visit_occurrence_id", "condition_source_concept_id",
    ],
    "procedure_occurrence": [
        "procedure_occurrence_id", "person_id", "procedure_concept_id", "procedure_date",
        "provider_id", "visit_occurrence_id", "procedure_source_concept_id",
        "modifier_source_value",
    ],
    "drug_exposure": [
        "drug_exposure_id", "person_id", "drug_concept_id", "drug_exposure_start_date",
        "days_supply", "drug_source_concept_id",
    ],
    "measurement": [
        "measurement_id", "person_id", "measurement_concept_id", "measurement_date",
        "measurement_datetime", "value_as_number", "value_source_value", "visit_occurrence_id",
    ],
    "concept": ["concept_id", "concept_name", "vocabulary_id", "concept_class_id", "concept_code"],
    "death": ["person_id", "death_date"],
    "location": ["location_id", "zip"],
    "care_site": ["care_site_id", "care_site_name"],
    "provider": ["provider_id", "npi", "specialty_concept_id", "specialty_source_value"],
}
# fmt: on


def write_omop(folder: Path) -> Path:
    """The fixture as one CSV per table (absent values: empty fields)."""
    folder.mkdir(parents=True, exist_ok=True)
    for table, rows in OMOP_FIXTURE.items():
        with open(folder / f"{table}.csv", "w", newline="") as out:
            writer = csv.DictWriter(out, fieldnames=OMOP_COLUMNS[table])
            writer.writeheader()
            writer.writerows(rows)
    return folder


@pytest.fixture(scope="module")
def omop_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_omop(tmp_path_factory.mktemp("omop"))


@pytest.fixture(scope="module")
def inputs(spark, omop_dir: Path) -> dict[str, DataFrame]:
    return omop_to_input_layer(read_omop(spark, str(omop_dir)), payer="plan")


def rows(df: DataFrame, *order: str) -> list[dict[str, Any]]:
    """`df`'s rows as dicts, timestamps as UTC text, ordered by `order`."""
    texts = {
        f.name: F.date_format(f.name, "yyyy-MM-dd HH:mm:ss")
        for f in df.schema.fields
        if f.dataType.simpleString() == "timestamp"
    }
    return [r.asDict() for r in df.withColumns(texts).orderBy(*order).collect()]


def full(name: str, **values: Any) -> dict[str, Any]:
    """A row of input table `name`: the given values, every other column null."""
    names = INPUTS[name].schema().names
    assert set(values) <= set(names)
    return {column: values.get(column) for column in names}


def test_every_table_has_its_declared_schema(inputs):
    assert sorted(inputs) == sorted(INPUTS)
    for name, df in inputs.items():
        assert df.schema.simpleString() == INPUTS[name].schema().simpleString(), name


def test_eligibility_one_row_per_observation_period(inputs):
    def span(person, gender, birth, start, end, zip_code=None, death=None):
        return full(
            "eligibility",
            person_id=person,
            gender=gender,
            birth_date=birth,
            death_date=death,
            enrollment_start_date=start,
            enrollment_end_date=end,
            payer="plan",
            zip_code=zip_code,
        )

    assert rows(inputs["eligibility"], "person_id", "enrollment_start_date") == [
        span("1", "female", D(1960, 5, 15), D(2020, 1, 15), D(2020, 3, 10), "02139"),
        span("1", "female", D(1960, 5, 15), D(2020, 11, 1), D(2021, 1, 31), "02139"),
        span("2", "male", D(1975, 3, 2), D(2021, 6, 1), D(2021, 7, 31)),
        span("3", "unknown", D(1990, 1, 1), D(2022, 1, 1), D(2022, 12, 31), None, D(2022, 12, 31)),
        span("4", "female", D(1985, 7, 1), D(2023, 1, 1), D(2023, 6, 30), "10001"),
    ]


def test_race_ethnicity_provider_reported_at_first_observation(inputs):
    assert rows(inputs["race_ethnicity"], "person_id") == [
        {"person_id": "1", "source": "provider_reported", "code": "white",
         "recorded_date": D(2020, 1, 15)},
        {"person_id": "2", "source": "provider_reported", "code": "hispanic",
         "recorded_date": D(2021, 6, 1)},
        {"person_id": "4", "source": "provider_reported", "code": "asian",
         "recorded_date": D(2023, 1, 1)},
    ]  # fmt: skip
    dimension = yaml.safe_load((CONF / "dimensions" / "race_ethnicity.yaml").read_text())
    codes = {category["code"] for category in dimension["categories"]}
    assert {*RACE_CODES.values(), "hispanic"} <= codes


def test_provider_groups_and_monthly_attribution(inputs):
    assert rows(inputs["provider_groups"], "group_id") == [
        {"group_id": "10", "group_name": "Main Street Clinic"},
        {"group_id": "11", "group_name": "11"},
    ]
    months = {
        "1": ["202001", "202002", "202003", "202011", "202012", "202101"],
        "2": ["202106", "202107"],
    }
    groups = {"1": "10", "2": "11"}
    assert rows(inputs["provider_attribution"], "person_id", "year_month") == [
        full(
            "provider_attribution",
            person_id=person,
            year_month=month,
            payer="plan",
            payer_attributed_provider_organization=groups[person],
        )
        for person, person_months in months.items()
        for month in person_months
    ]


def test_medical_claim_lines(inputs):
    assert rows(inputs["medical_claim"], "claim_id") == [
        full(
            "medical_claim",
            claim_id="C1000",
            claim_line_number=1,
            claim_type="professional",
            person_id="1",
            claim_start_date=D(2020, 2, 1),
            claim_line_start_date=D(2020, 2, 1),
            place_of_service_code="11",
            diagnosis_code_type="icd-10-cm",
            diagnosis_code_1="I10",
        ),
        full(
            "medical_claim",
            claim_id="C1001",
            claim_line_number=1,
            claim_type="undetermined",
            person_id="2",
            claim_start_date=D(2021, 6, 15),
            claim_line_start_date=D(2021, 6, 15),
            diagnosis_code_type="icd-10-cm",
            diagnosis_code_1="E11.9",
        ),
        full(
            "medical_claim",
            claim_id="P2000",
            claim_line_number=1,
            claim_type="professional",
            person_id="1",
            claim_start_date=D(2020, 2, 1),
            claim_line_start_date=D(2020, 2, 1),
            place_of_service_code="11",
            hcpcs_code="77067",
            hcpcs_modifier_1="GG",
        ),
        full(
            "medical_claim",
            claim_id="P2001",
            claim_line_number=1,
            claim_type="institutional",
            person_id="3",
            claim_start_date=D(2022, 3, 4),
            claim_line_start_date=D(2022, 3, 4),
            bill_type_code="0111",
            rendering_npi="1234567893",
            procedure_code_type="icd-10-pcs",
            procedure_code_1="0DTJ4ZZ",
            procedure_date_1=D(2022, 3, 4),
        ),
    ]


def test_pharmacy_claim_ndc_only_and_the_rest_counted(spark, omop_dir, caplog):
    with caplog.at_level(logging.WARNING, logger="p4e.imports.omop"):
        inputs = omop_to_input_layer(read_omop(spark, str(omop_dir)), payer="plan")
    assert rows(inputs["pharmacy_claim"], "claim_id") == [
        {"claim_id": "D4000", "claim_line_number": 1, "person_id": "2",
         "dispensing_date": D(2021, 6, 15), "ndc_code": "00093104801", "days_supply": 30},
    ]  # fmt: skip
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert "OMOP import: 1 drug_exposure rows without an NDC code (pharmacy_claim) left out" in (
        warnings
    )
    assert "OMOP import: 1 procedure_occurrence rows neither CPT4/HCPCS nor ICD left out" in (
        warnings
    )
    assert not any("condition_occurrence" in w for w in warnings)


def test_measurements_vital_signs_to_observation_the_rest_to_lab_result(inputs):
    assert rows(inputs["observation"], "observation_id") == [
        full(
            "observation",
            observation_id="M3001",
            person_id="1",
            encounter_id="100",
            observation_date=D(2020, 2, 1),
            normalized_code_type="loinc",
            normalized_code="8480-6",
            result="128",
        )
    ]
    assert rows(inputs["lab_result"], "lab_result_id") == [
        full(
            "lab_result",
            lab_result_id="M3000",
            person_id="1",
            encounter_id="100",
            normalized_component_type="loinc",
            normalized_component_code="4548-4",
            status="final",
            result="7.2",
            collection_datetime="2020-02-01 09:30:00",
        ),
        full(
            "lab_result",
            lab_result_id="M3002",
            person_id="2",
            normalized_component_type="loinc",
            normalized_component_code="2093-3",
            status="pending",
            result="",
            collection_datetime="2021-06-15 00:00:00",
        ),
    ]


def test_practitioner_from_provider_npis(inputs):
    assert rows(inputs["practitioner"], "npi") == [
        {"npi": "1234567893", "specialty": "General Surgery"}
    ]


def test_without_the_optional_tables(spark, omop_dir):
    omop = {k: v for k, v in read_omop(spark, str(omop_dir)).items() if k not in OPTIONAL_TABLES}
    inputs = omop_to_input_layer(omop, payer="plan")
    eligibility = rows(inputs["eligibility"], "person_id", "enrollment_start_date")
    assert [(r["person_id"], r["zip_code"], r["death_date"]) for r in eligibility] == [
        ("1", None, None),
        ("1", None, None),
        ("2", None, None),
        ("3", None, None),
        ("4", None, None),
    ]
    assert rows(inputs["provider_groups"], "group_id") == [
        {"group_id": "10", "group_name": "10"},
        {"group_id": "11", "group_name": "11"},
    ]
    assert [r["rendering_npi"] for r in rows(inputs["medical_claim"], "claim_id")] == [None] * 4
    practitioner = inputs["practitioner"]
    assert practitioner.schema.simpleString() == INPUTS["practitioner"].schema().simpleString()
    assert practitioner.count() == 0


def test_parquet_table_with_int_ids_reads_as_declared(spark, omop_dir, tmp_path):
    folder = write_omop(tmp_path / "omop")
    (folder / "person.csv").unlink()
    people = read_omop(spark, str(omop_dir))["person"]
    people.withColumn("person_id", F.col("person_id").cast("int")).write.parquet(
        str(folder / "person")
    )
    person = read_omop(spark, str(folder))["person"]
    assert person.schema["person_id"].dataType.simpleString() == "bigint"
    assert sorted(r["person_id"] for r in person.select("person_id").collect()) == [1, 2, 3, 4]


def test_missing_person_table_names_it(spark, tmp_path):
    folder = write_omop(tmp_path / "omop")
    (folder / "person.csv").unlink()
    with pytest.raises(P4eError, match=f"'person' not found in {re.escape(str(folder))}"):
        read_omop(spark, str(folder))


def test_the_nightly_runs_on_an_omop_extract_through_the_importer(spark, cfg, omop_dir):
    """`p4e import omop` lands the extract under raw/; the nightly takes it from there."""
    settings = load_settings(cfg.with_overrides(years=[2021, 2022, 2023]))
    assert main(["import", "omop", "--source", str(omop_dir), "--lakehouse", cfg.lakehouse]) == 0
    record = run_steps(spark, settings, list(STEPS))
    counts = record.row_counts
    for table in INPUTS:  # the mapped rows are all valid
        assert counts[f"validate.{table}.rejected"] == 0, table
    assert counts["validate.eligibility.raw"] == len(OMOP_FIXTURE["observation_period"])
    measured = {
        (r["member_id"], r["measure_id"], r["year"])
        for r in open_store(spark, settings.engine).read(cfg.table_path("gold", "member_measures"))
        .select("member_id", "measure_id", "year").collect()
    }  # fmt: skip
    # person 1, a woman born 1960, is in the COL and BCS bands; person 4 (1985) in neither
    assert {("1", "COL", 2021), ("1", "BCS", 2021)} <= measured
    assert not {m for m in measured if m[0] == "4" and m[1] in ("COL", "BCS")}
