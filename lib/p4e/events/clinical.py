"""Events of lab results and observations, their text results read as numbers.

The code of a lab result is the first present of its normalized component,
normalized order, source component and source order codes (Tuva's order,
`core__stg_clinical_lab_result`), with that pair's code type; its date is the
collection date, else the result date. A result whose status is listed in
`inputs.not_performed` is a test that did not happen and yields no event. An
observation's code is its normalized code, else its source code.
"""

from __future__ import annotations

from collections.abc import Sequence

from pyspark.sql import Column, DataFrame
from pyspark.sql import functions as F

from p4e.config.codes import CodeSystems
from p4e.events.matching import normalize_code
from p4e.events.values import result_bound, result_value

LAB_CODES = ("normalized_component", "normalized_order", "source_component", "source_order")


def lab_code(codes: CodeSystems) -> tuple[Column, Column]:
    """(namespace, code) of a lab result: the first code pair present."""
    present = [
        (F.col(f"{pair}_code").isNotNull() & (F.trim(f"{pair}_code") != ""), pair)
        for pair in LAB_CODES
    ]
    namespace, code = F.lit(None).cast("string"), F.lit(None).cast("string")
    for condition, pair in reversed(present):
        namespace = F.when(condition, codes.namespace_column(F.col(f"{pair}_type"))).otherwise(
            namespace
        )
        code = F.when(condition, F.col(f"{pair}_code")).otherwise(code)
    return namespace, normalize_code(code)


def observation_code(codes: CodeSystems) -> tuple[Column, Column]:
    """(namespace, code) of an observation: normalized, else source."""
    normalized = F.col("normalized_code").isNotNull() & (F.trim("normalized_code") != "")
    namespace = F.when(normalized, codes.namespace_column(F.col("normalized_code_type"))).otherwise(
        codes.namespace_column(F.col("source_code_type"))
    )
    code = F.when(normalized, F.col("normalized_code")).otherwise(F.col("source_code"))
    return namespace, normalize_code(code)


def lab_events(labs: DataFrame, codes: CodeSystems, not_performed: Sequence[str]) -> DataFrame:
    """member_id, event_date, source, namespace, code, encounter_id, value, value_bound,
    result_status of every performed lab test."""
    namespace, code = lab_code(codes)
    status = F.lower(F.trim("status"))
    return labs.filter(~F.coalesce(status.isin(*not_performed), F.lit(False))).select(
        F.col("person_id").alias("member_id"),
        F.to_date(F.coalesce("collection_datetime", "result_datetime")).alias("event_date"),
        F.lit("lab_result").alias("source"),
        namespace.alias("namespace"),
        code.alias("code"),
        "encounter_id",
        *_result(),
        status.alias("result_status"),
    )


def observation_events(observations: DataFrame, codes: CodeSystems) -> DataFrame:
    """member_id, event_date, source, namespace, code, encounter_id, value, value_bound."""
    namespace, code = observation_code(codes)
    return observations.select(
        F.col("person_id").alias("member_id"),
        F.col("observation_date").alias("event_date"),
        F.lit("observation").alias("source"),
        namespace.alias("namespace"),
        code.alias("code"),
        "encounter_id",
        *_result(),
    )


def _result() -> list[Column]:
    """value and value_bound of the text `result`."""
    result = F.col("result")
    return [result_value(result).alias("value"), result_bound(result).alias("value_bound")]
