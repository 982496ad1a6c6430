"""The generated events written as a plan's feed: Tuva input-layer tables.

Each generated claim event (`p4e.generate.events.claims`) becomes one claim line,
its code where a real feed carries it:

| code system | table | claim line |
|---|---|---|
| CPT, CPT2, HCPCS | medical_claim | professional; `hcpcs_code`, place of service, a diagnosis |
| ICD10CM | medical_claim | professional office visit (99213); the code as diagnosis 1, |
| | | and up to three unrelated diagnoses after it |
| ICD10PCS | medical_claim | institutional inpatient (bill type 0111, revenue 0360); |
| | | `procedure_code_1` and its date |
| UBREV | medical_claim | institutional hospice (bill type 0811); the revenue code |
| NDC | pharmacy_claim | a fill of 30 or 90 days |

Every line has a rendering NPI from the member's home group, of the specialty the
service calls for (`practitioners`). Clinical results
(`p4e.generate.events.observations`) become lab results (HbA1c, LOINC 4548-4, text
results such as "7.2", "7.2%" or "<7.0"; tests without a result have "") or
observations (blood pressure, "128" or "128 mm[Hg]").
"""

from __future__ import annotations

import pandas as pd
from pyspark.sql import Column, DataFrame, SparkSession
from pyspark.sql import functions as F

from p4e.generate.hashing import below, pick, uniform
from p4e.generate.plan import Plan
from p4e.tables.inputs import LAB_RESULT, MEDICAL_CLAIM, OBSERVATION

PROCEDURE_SYSTEMS = ("CPT", "CPT2", "HCPCS")
VISIT = "99213"
# Diagnoses no value set lists: the reason for a procedure, and the other diagnoses of a visit.
SCREENING_DIAGNOSIS = {"77067": "Z12.31", "45378": "Z12.11", "82270": "Z12.12", "82274": "Z12.12"}
OTHER_DIAGNOSIS = "R69"
UNRELATED = ("E78.5", "J06.9", "M54.50", "K21.9", "R05.9", "Z23")
SPECIALTIES = (
    "Family Medicine",
    "Internal Medicine",
    "Pediatrics",
    "Obstetrics & Gynecology",
    "Diagnostic Radiology",
    "Gastroenterology",
    "Nephrology",
    "Hospice and Palliative Medicine",
    "General Surgery",
)
# Code -> the specialty that renders it (others: family or internal medicine).
RENDERED_BY = {
    "77067": "Diagnostic Radiology",
    "45378": "Gastroenterology",
    "90935": "Nephrology",
    "Q5003": "Hospice and Palliative Medicine",
    "0651": "Hospice and Palliative Medicine",
    "44150": "General Surgery",
    "0HTV0ZZ": "General Surgery",
}
LAB_CODES = ("4548-4",)


def practitioners(spark: SparkSession, plan: Plan) -> DataFrame:
    """practitioner(npi, specialty): one practitioner per provider group and specialty.

    NPIs are synthetic 10-digit numbers (1, the group's index, the specialty's index).
    """
    rows = [
        (npi(k, s), specialty)
        for k in range(len(plan.groups))
        for s, specialty in enumerate(SPECIALTIES)
    ]
    return spark.createDataFrame(pd.DataFrame(rows, columns=["npi", "specialty"]))


def npi(group_index: int, specialty_index: int) -> str:
    return f"1{group_index:06d}{specialty_index:02d}"


def _npi(plan: Plan, spark: SparkSession, claims: DataFrame) -> DataFrame:
    """`claims` with rendering_npi: the home group's practitioner of the code's specialty."""
    index = spark.createDataFrame(
        pd.DataFrame({"group_id": plan.groups["group_id"], "group_index": range(len(plan.groups))})
    )
    specialty = F.lit(None).cast("int")
    for code, name in RENDERED_BY.items():
        specialty = F.when(F.col("code") == code, SPECIALTIES.index(name)).otherwise(specialty)
    primary = below(uniform(plan.seed, "pcp", "member_id"), 0, 1)  # family or internal
    return claims.join(F.broadcast(index), on="group_id", how="left").withColumn(
        "rendering_npi",
        F.format_string(
            "1%06d%02d", F.col("group_index"), F.coalesce(specialty, primary).cast("int")
        ),
    )


def medical_claim(spark: SparkSession, plan: Plan, claims: DataFrame) -> DataFrame:
    """medical_claim lines of every claim event but NDC fills (module table)."""
    system, code = F.col("code_system"), F.col("code")
    is_procedure = system.isin(*PROCEDURE_SYSTEMS)
    is_diagnosis = system == "ICD10CM"
    is_pcs = system == "ICD10PCS"
    is_hospice = system == "UBREV"
    reasons = F.create_map(*[F.lit(x) for pair in SCREENING_DIAGNOSIS.items() for x in pair])
    reason = F.coalesce(F.try_element_at(reasons, code), F.lit(OTHER_DIAGNOSIS))
    modifier = is_diagnosis & (uniform(plan.seed, "modifier", "claim_id") < 0.1)
    extra = below(uniform(plan.seed, "extra_dx", "claim_id"), 0, 3)
    unrelated = [
        F.when(
            is_diagnosis & (extra >= i), pick(UNRELATED, uniform(plan.seed, f"dx{i}", "claim_id"))
        )
        for i in range(1, 4)
    ]
    institutional = is_pcs | is_hospice
    lines = _npi(plan, spark, claims.filter(system != "NDC")).select(
        "claim_id",
        F.lit(1).alias("claim_line_number"),
        F.when(institutional, "institutional").otherwise("professional").alias("claim_type"),
        F.col("member_id").alias("person_id"),
        F.col("service_date").alias("claim_start_date"),
        F.col("service_date").alias("claim_line_start_date"),
        F.when(~institutional, F.col("place_of_service")).alias("place_of_service_code"),
        F.when(is_pcs, "0111").when(is_hospice, "0811").alias("bill_type_code"),
        F.when(is_pcs, "0360").when(is_hospice, code).alias("revenue_center_code"),
        F.when(is_procedure, code).when(is_diagnosis, VISIT).alias("hcpcs_code"),
        F.when(modifier, "25").alias("hcpcs_modifier_1"),
        "rendering_npi",
        F.lit("icd-10-cm").alias("diagnosis_code_type"),
        F.when(is_diagnosis, code).otherwise(reason).alias("diagnosis_code_1"),
        *[u.alias(f"diagnosis_code_{i + 2}") for i, u in enumerate(unrelated)],
        F.when(is_pcs, "icd-10-pcs").alias("procedure_code_type"),
        F.when(is_pcs, code).alias("procedure_code_1"),
        F.when(is_pcs, F.col("service_date")).alias("procedure_date_1"),
    )
    return _declared(lines, MEDICAL_CLAIM.names)


def pharmacy_claim(plan: Plan, claims: DataFrame) -> DataFrame:
    """pharmacy_claim lines of the NDC fill events."""
    days = F.when(uniform(plan.seed, "days_supply", "claim_id") < 0.7, 30).otherwise(90)
    return claims.filter(F.col("code_system") == "NDC").select(
        "claim_id",
        F.lit(1).alias("claim_line_number"),
        F.col("member_id").alias("person_id"),
        F.col("service_date").alias("dispensing_date"),
        F.col("code").alias("ndc_code"),
        days.cast("int").alias("days_supply"),
    )


def _text(plan: Plan, value: Column, unit: str, salt: str) -> Column:
    """A result as a feed writes it: the number, sometimes with its unit; "" for none."""
    with_unit = uniform(plan.seed, salt, "observation_id") < 0.2
    number = F.format_number(value, 1) if unit == "%" else value.cast("int").cast("string")
    suffix = "%" if unit == "%" else f" {unit}"
    text = F.when(with_unit, F.concat(number, F.lit(suffix))).otherwise(number)
    return F.coalesce(text, F.lit(""))


def lab_result(plan: Plan, observations: DataFrame) -> DataFrame:
    """lab_result rows of the HbA1c results (a few results below 7 reported as "<7.0")."""
    labs = observations.filter(F.col("code").isin(*LAB_CODES))
    bounded = (F.col("value") < 7.0) & (uniform(plan.seed, "bound", "observation_id") < 0.1)
    collected = F.to_timestamp(F.col("observation_date"))
    rows = labs.select(
        F.col("observation_id").alias("lab_result_id"),
        F.col("member_id").alias("person_id"),
        F.lit("loinc").alias("normalized_component_type"),
        F.col("code").alias("normalized_component_code"),
        F.lit("loinc").alias("normalized_order_type"),
        F.col("code").alias("normalized_order_code"),
        "status",
        F.when(bounded, F.lit("<7.0"))
        .otherwise(_text(plan, F.col("value"), "%", "unit"))
        .alias("result"),
        F.when(F.col("value").isNotNull(), collected + F.expr("INTERVAL 1 DAY")).alias(
            "result_datetime"
        ),
        collected.alias("collection_datetime"),
    )
    return _declared(rows, LAB_RESULT.names)


def observation(plan: Plan, observations: DataFrame) -> DataFrame:
    """observation rows of the blood pressure readings."""
    rows = observations.filter(~F.col("code").isin(*LAB_CODES)).select(
        "observation_id",
        F.col("member_id").alias("person_id"),
        F.concat(F.lit("E"), "member_id", F.date_format("observation_date", "yyyyMMdd")).alias(
            "encounter_id"
        ),
        "observation_date",
        F.lit("loinc").alias("normalized_code_type"),
        F.col("code").alias("normalized_code"),
        _text(plan, F.col("value"), "mm[Hg]", "unit").alias("result"),
    )
    return _declared(rows, OBSERVATION.names)


def _declared(df: DataFrame, names: list[str]) -> DataFrame:
    """`df` with the declared columns it has, in order: like a real feed, it leaves out
    optional columns it does not fill (diagnosis slots 5-25, modifiers 2-5, ...)."""
    return df.select(*[n for n in names if n in df.columns])
