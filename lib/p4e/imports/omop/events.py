"""OMOP events as claim lines, pharmacy fills, lab results, vital signs and practitioners."""

from __future__ import annotations

from pyspark.sql import Column, DataFrame
from pyspark.sql import functions as F

from p4e.imports.omop.codes import (
    HCPCS_VOCABULARIES,
    ICD_PROCEDURE_VOCABULARIES,
    VISITS,
    VITAL_SIGNS,
    as_input,
    left_out,
    lookup,
    with_code,
)
from p4e.tables.inputs import INPUTS


def visits(visit_occurrence: DataFrame) -> DataFrame:
    """Per visit: claim_type, bill_type_code, place_of_service_code and its provider."""
    kind = F.col("visit_concept_id")
    return visit_occurrence.select(
        "visit_occurrence_id",
        lookup(kind, {k: v[0] for k, v in VISITS.items()}).alias("claim_type"),
        lookup(kind, {k: v[1] for k, v in VISITS.items()}).alias("bill_type_code"),
        lookup(kind, {k: v[2] for k, v in VISITS.items()}).alias("place_of_service_code"),
        F.col("provider_id").alias("visit_provider_id"),
    )


def _claim_lines(
    events: DataFrame,
    visits: DataFrame,
    provider: DataFrame | None,
    *,
    prefix: str,
    id_column: str,
    date_column: str,
) -> tuple[DataFrame, dict[str, Column]]:
    """`events` with their visit and rendering NPI, and the claim line columns they share."""
    lines = events.join(visits, on="visit_occurrence_id", how="left")
    if provider is None:
        lines = lines.withColumn("npi", F.lit(None).cast("string"))
    else:
        npis = provider.select(F.col("provider_id").alias("rendering_id"), "npi")
        rendering = F.coalesce("provider_id", "visit_provider_id")
        lines = lines.withColumn("rendering_id", rendering).join(
            npis, on="rendering_id", how="left"
        )
    date = F.col(date_column)
    return lines, {
        "claim_id": F.concat(F.lit(prefix), F.col(id_column).cast("string")),
        "claim_line_number": F.lit(1),
        "claim_type": F.coalesce("claim_type", F.lit("undetermined")),
        "person_id": F.col("person_id"),
        "claim_start_date": date,
        "claim_line_start_date": date,
        "place_of_service_code": F.col("place_of_service_code"),
        "bill_type_code": F.col("bill_type_code"),
        "rendering_npi": F.col("npi"),
    }


def medical_claim(
    conditions: DataFrame,
    procedures: DataFrame,
    concepts: DataFrame,
    visits: DataFrame,
    provider: DataFrame | None,
) -> DataFrame:
    """One claim line per condition and per CPT4/HCPCS or ICD procedure."""
    diagnoses = with_code(conditions, concepts, "condition")
    has_type = F.col("code_type").isNotNull()
    left_out(diagnoses, ~has_type, "condition_occurrence rows without a Tuva code type")
    diagnoses, shared = _claim_lines(
        diagnoses.where(has_type),
        visits,
        provider,
        prefix="C",
        id_column="condition_occurrence_id",
        date_column="condition_start_date",
    )
    diagnosis_lines = as_input(
        diagnoses,
        "medical_claim",
        {
            **shared,
            "diagnosis_code_type": F.col("code_type"),
            "diagnosis_code_1": F.col("concept_code"),
        },
    )
    coded = with_code(procedures, concepts, "procedure")
    is_hcpcs = F.col("vocabulary_id").isin(*HCPCS_VOCABULARIES)
    is_icd = F.col("vocabulary_id").isin(*ICD_PROCEDURE_VOCABULARIES)
    is_kept = is_hcpcs | is_icd
    left_out(coded, ~is_kept, "procedure_occurrence rows neither CPT4/HCPCS nor ICD")
    coded, shared = _claim_lines(
        coded.where(is_kept),
        visits,
        provider,
        prefix="P",
        id_column="procedure_occurrence_id",
        date_column="procedure_date",
    )
    procedure_lines = as_input(
        coded,
        "medical_claim",
        {
            **shared,
            "hcpcs_code": F.when(is_hcpcs, F.col("concept_code")),
            "hcpcs_modifier_1": F.when(is_hcpcs, F.col("modifier_source_value")),
            "procedure_code_type": F.when(is_icd, F.col("code_type")),
            "procedure_code_1": F.when(is_icd, F.col("concept_code")),
            "procedure_date_1": F.when(is_icd, F.col("procedure_date")),
        },
    )
    return diagnosis_lines.unionByName(procedure_lines)


def pharmacy_claim(drugs: DataFrame, concepts: DataFrame) -> DataFrame:
    """One claim line per drug exposure with an NDC code."""
    coded = with_code(drugs, concepts, "drug")
    is_ndc = F.col("vocabulary_id") == "NDC"
    left_out(coded, ~is_ndc, "drug_exposure rows without an NDC code (pharmacy_claim)")
    return as_input(
        coded.where(is_ndc),
        "pharmacy_claim",
        {
            "claim_id": F.concat(F.lit("D"), F.col("drug_exposure_id").cast("string")),
            "claim_line_number": F.lit(1),
            "person_id": F.col("person_id"),
            "dispensing_date": F.col("drug_exposure_start_date"),
            "ndc_code": F.regexp_replace("concept_code", "-", ""),
            "days_supply": F.col("days_supply"),
        },
    )


def _number_text(value: Column) -> Column:
    """A number as text, a whole number without ".0" ("128", "7.2")."""
    is_whole = (value % 1 == 0) & (F.abs(value) < 1e15)
    return F.when(is_whole, value.cast("bigint").cast("string")).otherwise(value.cast("string"))


def _is_vital_sign() -> Column:
    """True for a vital sign: a LOINC concept of class Clinical Observation."""
    vocabulary, concept_class = VITAL_SIGNS
    is_vital = (F.col("vocabulary_id") == vocabulary) & (F.col("concept_class_id") == concept_class)
    return F.coalesce(is_vital, F.lit(False))


def observation(measurements: DataFrame) -> DataFrame:
    """One observation per vital-sign measurement (a LOINC Clinical Observation)."""
    return as_input(
        measurements.where(_is_vital_sign()),
        "observation",
        {
            "observation_id": F.concat(F.lit("M"), F.col("measurement_id").cast("string")),
            "person_id": F.col("person_id"),
            "encounter_id": F.col("visit_occurrence_id"),
            "observation_date": F.col("measurement_date"),
            "normalized_code_type": F.col("code_type"),
            "normalized_code": F.col("concept_code"),
            "result": F.coalesce(_number_text(F.col("value_as_number")), "value_source_value"),
        },
    )


def lab_result(measurements: DataFrame) -> DataFrame:
    """One lab result per measurement that is not a vital sign."""
    has_value = F.col("value_as_number").isNotNull() | F.col("value_source_value").isNotNull()
    return as_input(
        measurements.where(~_is_vital_sign()),
        "lab_result",
        {
            "lab_result_id": F.concat(F.lit("M"), F.col("measurement_id").cast("string")),
            "person_id": F.col("person_id"),
            "encounter_id": F.col("visit_occurrence_id"),
            "normalized_component_type": F.col("code_type"),
            "normalized_component_code": F.col("concept_code"),
            "status": F.when(has_value, "final").otherwise("pending"),
            "result": F.coalesce(
                _number_text(F.col("value_as_number")), "value_source_value", F.lit("")
            ),
            "collection_datetime": F.coalesce(
                "measurement_datetime", F.col("measurement_date").cast("timestamp")
            ),
        },
    )


def practitioner(provider: DataFrame | None, concept: DataFrame) -> DataFrame:
    """One row per provider NPI and specialty; empty without the provider table."""
    if provider is None:
        return concept.sparkSession.createDataFrame([], INPUTS["practitioner"].schema())
    specialties = concept.select(
        F.col("concept_id").alias("specialty_concept_id"), F.col("concept_name").alias("name")
    )
    named = (
        provider.where(F.col("npi").isNotNull())
        .join(specialties, on="specialty_concept_id", how="left")
        .select(
            "npi",
            F.coalesce(
                F.when(F.col("specialty_concept_id") != 0, F.col("name")),
                "specialty_source_value",
            ).alias("specialty"),
        )
        .distinct()
    )
    return as_input(named, "practitioner", {"npi": F.col("npi"), "specialty": F.col("specialty")})
