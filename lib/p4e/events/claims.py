"""Events of medical and pharmacy claims.

A medical claim line yields an event per code it carries, unpivoted (the slots
exploded, the empty ones dropped):

| from | namespace | date |
|---|---|---|
| `hcpcs_code` | PROCEDURE (CPT, CPT II, HCPCS) | the line's date (else the claim's) |
| `revenue_center_code` (4 digits) | UBREV | the line's date |
| `diagnosis_code_1..25` | of `diagnosis_code_type` | `claim_start_date` |
| `procedure_code_1..25` | of `procedure_code_type` | `procedure_date_n` (else the claim's) |
| `bill_type_code` (4 digits) | UBTOB | `claim_start_date` |

Diagnoses, ICD procedures and the bill type belong to the claim (Tuva repeats them
on every line): `claim_events` keeps one event per claim, with the lowest place of
service and specialty of its lines and no line-level revenue code or modifiers.
A pharmacy claim line yields one NDC event on its dispensing date. Code types are
resolved to namespaces by p4e.yaml `codes` (validation has rejected unknown ones).
"""

from __future__ import annotations

from pyspark.sql import Column, DataFrame
from pyspark.sql import functions as F

from p4e.config.codes import CodeSystems
from p4e.events.matching import normalize_code
from p4e.tables.inputs import DIAGNOSIS_SLOTS, MODIFIER_SLOTS, PROCEDURE_SLOTS

LINE, CLAIM = "line", "claim"


def _slot(level: str, namespace: Column, code: Column, date: Column) -> Column:
    """The slot's event as a struct, null when the slot holds no code: only the filled
    slots reach the explode, and codes are normalised once exploded."""
    return F.when(
        code.isNotNull() & (F.trim(code) != ""),
        F.struct(
            F.lit(level).alias("level"),
            namespace.alias("namespace"),
            code.alias("code"),
            date.alias("event_date"),
        ),
    )


def _padded(column: str, width: int) -> Column:
    """A numeric code left-padded with zeros ('651' -> '0651'); blank -> null."""
    trimmed = F.trim(column)
    return F.when(trimmed != "", F.lpad(trimmed, width, "0"))


def medical_events(claims: DataFrame, codes: CodeSystems) -> DataFrame:
    """One row per code of every claim line (see the module table), with the line's
    attributes: member_id, event_date, source, namespace, code, level (line or claim),
    claim_id, claim_type, place_of_service, bill_type, revenue_code, modifiers, npi."""
    line_date = F.coalesce("claim_line_start_date", "claim_start_date")
    claim_date = F.col("claim_start_date")
    per_line = {  # once per line, not once per slot
        "_diagnosis_namespace": codes.namespace_column(F.col("diagnosis_code_type")),
        "_procedure_namespace": codes.namespace_column(F.col("procedure_code_type")),
        "_revenue": _padded("revenue_center_code", 4),
        "_bill_type": _padded("bill_type_code", 4),
    }
    diagnosis, procedure, revenue, bill_type = (F.col(name) for name in per_line)
    slots = [
        _slot(LINE, F.lit("PROCEDURE"), F.col("hcpcs_code"), line_date),
        _slot(LINE, F.lit("UBREV"), revenue, line_date),
        _slot(CLAIM, F.lit("UBTOB"), bill_type, claim_date),
        *[
            _slot(CLAIM, diagnosis, F.col(f"diagnosis_code_{i}"), claim_date)
            for i in range(1, DIAGNOSIS_SLOTS + 1)
        ],
        *[
            _slot(
                CLAIM,
                procedure,
                F.col(f"procedure_code_{i}"),
                F.coalesce(F.col(f"procedure_date_{i}"), claim_date),
            )
            for i in range(1, PROCEDURE_SLOTS + 1)
        ],
    ]
    modifiers = F.array_compact(
        F.array(*[F.upper(F.trim(f"hcpcs_modifier_{i}")) for i in range(1, MODIFIER_SLOTS + 1)])
    )
    return (
        claims.withColumns(per_line)
        .select(
            F.col("person_id").alias("member_id"),
            "claim_id",
            F.lower(F.trim("claim_type")).alias("claim_type"),
            _padded("place_of_service_code", 2).alias("place_of_service"),
            bill_type.alias("bill_type"),
            revenue.alias("revenue_code"),
            modifiers.alias("modifiers"),
            F.trim("rendering_npi").alias("npi"),
            # Empty slots are nulls, dropped before the explode multiplies the line.
            F.explode(F.array_compact(F.array(*slots))).alias("e"),
        )
        .withColumn("code", normalize_code(F.col("e.code")))
        .filter(F.col("code") != "")
        .select(
            "member_id",
            "e.event_date",
            F.lit("medical_claim").alias("source"),
            "e.namespace",
            "code",
            "e.level",
            "claim_id",
            "claim_type",
            "place_of_service",
            "bill_type",
            F.when(F.col("e.level") == LINE, F.col("revenue_code")).alias("revenue_code"),
            F.when(F.col("e.level") == LINE, F.col("modifiers")).alias("modifiers"),
            "npi",
        )
    )


def claim_events(matched: DataFrame) -> DataFrame:
    """Matched medical events (with `specialty`, without `npi`) with the claim-level ones
    reduced to one per claim, code, date and value set (the lowest place of service and
    specialty of the claim's lines); line-level ones stay one per line (identical ones
    once). One aggregation, so the claims are read and unpivoted once."""
    own = ("place_of_service", "specialty")
    keys = [c for c in matched.columns if c not in own]
    is_line = F.col("level") == LINE
    return (
        matched.groupBy(*keys, *[F.when(is_line, F.col(c)).alias(f"_line_{c}") for c in own])
        .agg(*[F.min(c).alias(c) for c in own])
        .drop(*[f"_line_{c}" for c in own])
    )


def pharmacy_events(pharmacy: DataFrame) -> DataFrame:
    """One NDC event per pharmacy claim line: member_id, event_date, source, namespace,
    code (digits only), claim_id, days_supply."""
    return pharmacy.select(
        F.col("person_id").alias("member_id"),
        F.col("dispensing_date").alias("event_date"),
        F.lit("pharmacy_claim").alias("source"),
        F.lit("NDC").alias("namespace"),
        F.regexp_replace("ndc_code", "[^0-9]", "").alias("code"),
        "claim_id",
        "days_supply",
    )
