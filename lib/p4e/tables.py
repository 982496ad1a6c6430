"""The data contract: names, schemas and partitioning of the input tables (SPEC §7).

Raw inputs land in `<lakehouse>/raw/<table>`; validation copies the accepted rows,
with the same schema, to `<lakehouse>/silver/<table>`.
"""

from __future__ import annotations

import re

from pyspark.sql import types as T

_PRIMITIVES: dict[str, T.DataType] = {
    "STRING": T.StringType(),
    "BOOLEAN": T.BooleanType(),
    "INT": T.IntegerType(),
    "BIGINT": T.LongType(),
    "DOUBLE": T.DoubleType(),
    "DATE": T.DateType(),
    "TIMESTAMP": T.TimestampType(),
}


def ddl_schema(ddl: str) -> T.StructType:
    """Parse "name TYPE, ..." into a StructType without a Spark session.

    `StructType.fromDDL` needs a live session, which module-level schemas must not.
    Types: STRING, BOOLEAN, INT, BIGINT, DOUBLE, DATE, TIMESTAMP, DECIMAL(p,s), and
    ARRAY<T> / MAP<K,V> of those.
    """
    fields = (field.strip().split(" ", 1) for field in _split_top(ddl))
    return T.StructType([T.StructField(name, _ddl_type(kind.strip())) for name, kind in fields])


def _split_top(text: str) -> list[str]:
    """Split on the commas outside angle brackets and parentheses."""
    parts, depth, start = [], 0, 0
    for i, char in enumerate(text):
        depth += (char in "<(") - (char in ">)")
        if char == "," and depth == 0:
            parts.append(text[start:i])
            start = i + 1
    return [*parts, text[start:]]


def _ddl_type(kind: str) -> T.DataType:
    upper = kind.upper()
    if upper in _PRIMITIVES:
        return _PRIMITIVES[upper]
    if match := re.fullmatch(r"DECIMAL\((\d+),\s*(\d+)\)", upper):
        return T.DecimalType(int(match[1]), int(match[2]))
    if upper.startswith("ARRAY<") and upper.endswith(">"):
        return T.ArrayType(_ddl_type(kind[6:-1].strip()))
    if upper.startswith("MAP<") and upper.endswith(">"):
        key, value = _split_top(kind[4:-1])
        return T.MapType(_ddl_type(key.strip()), _ddl_type(value.strip()))
    raise ValueError(f"unsupported type in schema DDL: {kind!r}")


RAW_SCHEMAS: dict[str, T.StructType] = {
    name: ddl_schema(ddl)
    for name, ddl in {
        "provider_groups": "group_id STRING, group_name STRING",
        "members": (
            "member_id STRING, birth_date DATE, sex STRING, first_name STRING, surname STRING, "
            "zip STRING, tract STRING, death_date DATE"
        ),
        # One row per recorded answer; `code` is a category code of the dimension
        # (or its declined code); `source` is self_reported or provider_reported.
        "race_ethnicity": "member_id STRING, source STRING, code STRING, recorded_date DATE",
        "enrollment": "member_id STRING, payer STRING, start_date DATE, end_date DATE",
        "attribution": "member_id STRING, group_id STRING, year INT",
        "claims": (
            "claim_id STRING, member_id STRING, service_date DATE, code_system STRING, "
            "code STRING, place_of_service STRING"
        ),
        "observations": (
            "observation_id STRING, member_id STRING, observation_date DATE, code_system STRING, "
            "code STRING, value DOUBLE, unit STRING"
        ),
    }.items()
}

# Planted truth the generator writes beside the inputs (not an input of the pipeline).
TRUTH_SCHEMA = ddl_schema(
    "group_id STRING, scenario STRING, measure_id STRING, year INT, category STRING, rate DOUBLE"
)

CODE_SYSTEMS = ("CPT", "CPT2", "HCPCS", "ICD10CM", "ICD10PCS", "LOINC")
PLAN_PAYER = "plan"
UNATTRIBUTED = "UNATTRIBUTED"
ALL_GROUPS = "ALL_GROUPS"
