"""The OMOP concepts p4e maps, and the helpers every OMOP table's mapping shares."""

from __future__ import annotations

import logging
from collections.abc import Mapping

from pyspark.sql import Column, DataFrame
from pyspark.sql import functions as F

from p4e.tables.inputs import INPUTS

LOG = logging.getLogger(__name__)

CODE_TYPES = {
    "ICD10CM": "icd-10-cm",
    "ICD9CM": "icd-9-cm",
    "ICD10PCS": "icd-10-pcs",
    "ICD9Proc": "icd-9-pcs",
    "CPT4": "hcpcs",
    "HCPCS": "hcpcs",
    "SNOMED": "snomed-ct",
    "LOINC": "loinc",
    "NDC": "ndc",
    "RxNorm": "rxnorm",
}
HCPCS_VOCABULARIES = ("CPT4", "HCPCS")
ICD_PROCEDURE_VOCABULARIES = ("ICD10PCS", "ICD9Proc")
GENDERS = {8532: "female", 8507: "male"}
HISPANIC = 38003563
# OMOP race concepts -> category codes of conf/dimensions/race_ethnicity.yaml.
RACE_CODES = {8527: "white", 8516: "black", 8515: "asian", 8657: "aian", 8557: "nhpi"}
# visit_concept_id -> (claim_type, bill_type_code, place_of_service_code).
VISITS: dict[int, tuple[str, str | None, str | None]] = {
    9201: ("institutional", "0111", None),  # inpatient visit
    9202: ("professional", None, "11"),  # outpatient visit
    9203: ("professional", None, "23"),  # emergency room visit
    262: ("institutional", "0111", None),  # emergency room and inpatient visit
    581477: ("professional", None, "11"),  # office visit
}
VITAL_SIGNS = ("LOINC", "Clinical Observation")  # vocabulary_id, concept_class_id


def as_input(df: DataFrame, name: str, values: Mapping[str, Column]) -> DataFrame:
    """Input table `name` from `df`: each declared column from `values`, cast to its
    declared type; a column `values` leaves out (no OMOP equivalent) is null."""
    schema = INPUTS[name].schema()
    unknown = sorted(set(values) - set(schema.names))
    if unknown:
        raise ValueError(f"input table {name} declares no column(s) {', '.join(unknown)}")
    return df.select(
        *[values.get(f.name, F.lit(None)).cast(f.dataType).alias(f.name) for f in schema.fields]
    )


def lookup(column: Column, mapping: Mapping[int, str | None] | Mapping[str, str]) -> Column:
    """`mapping[column]` as a CASE expression; null for a value `mapping` lacks."""
    expression = F.lit(None).cast("string")
    for key, value in mapping.items():
        if value is not None:
            expression = F.when(column == key, value).otherwise(expression)
    return expression


def code_concepts(concept: DataFrame) -> DataFrame:
    """The concepts as codes: code_concept_id, vocabulary_id, concept_class_id,
    concept_code and its Tuva code_type (null for another vocabulary)."""
    return concept.select(
        F.col("concept_id").alias("code_concept_id"),
        "vocabulary_id",
        "concept_class_id",
        "concept_code",
        lookup(F.col("vocabulary_id"), CODE_TYPES).alias("code_type"),
    )


def with_code(events: DataFrame, concepts: DataFrame, prefix: str) -> DataFrame:
    """`events` with their code: the concept of `<prefix>_source_concept_id` when it is
    not 0 or null, else of `<prefix>_concept_id` (code columns null for an unknown one)."""
    source = F.col(f"{prefix}_source_concept_id")
    concept_id = F.when(source.isNotNull() & (source != 0), source).otherwise(
        F.col(f"{prefix}_concept_id")
    )
    return events.withColumn("code_concept_id", concept_id).join(
        concepts, on="code_concept_id", how="left"
    )


def left_out(df: DataFrame, is_left_out: Column, what: str) -> None:
    """Log one warning with the number of rows of `df` where `is_left_out` holds."""
    count = df.where(F.coalesce(is_left_out, F.lit(True))).count()
    if count:
        LOG.warning("OMOP import: %d %s left out", count, what)
