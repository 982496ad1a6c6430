"""The data contract: names, schemas and partitioning of the input tables (SPEC §7).

Raw inputs land in `<lakehouse>/raw/<table>`; validation copies the accepted rows,
with the same schema, to `<lakehouse>/silver/<table>`.
"""

from __future__ import annotations

from pyspark.sql.types import StructType

RAW_SCHEMAS: dict[str, StructType] = {
    name: StructType.fromDDL(ddl)
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
TRUTH_SCHEMA = StructType.fromDDL(
    "group_id STRING, scenario STRING, measure_id STRING, year INT, category STRING, rate DOUBLE"
)

CODE_SYSTEMS = ("CPT", "CPT2", "HCPCS", "ICD10CM", "ICD10PCS", "LOINC")
PLAN_PAYER = "plan"
UNATTRIBUTED = "UNATTRIBUTED"
ALL_GROUPS = "ALL_GROUPS"
