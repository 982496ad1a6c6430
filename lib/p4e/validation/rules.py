"""Row rules of every input table, as Spark expressions naming what is wrong.

A rule is (reason, condition): the row breaks the rule where the condition is
true. Rules that *reject* keep a row out of silver; rules that *flag* keep the
row but null the offending value (a malformed ZIP leaves the person in, with
unknown geography; an unknown gender reads as unknown). Both write a quarantine
row with the reason. Orphans (a row of a person not in eligibility, an
attribution to an organization not in provider_groups) are rejected by
`p4e.validation` with the columns it joins on (`ORPHAN_PERSON`, `ORPHAN_GROUP`).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass

from pyspark.sql import Column
from pyspark.sql import functions as F

from p4e.config import Settings
from p4e.config.codes import CodeSystems
from p4e.events.clinical import LAB_CODES, lab_code, observation_code
from p4e.events.values import result_value
from p4e.membership.attribution import ORGANIZATION
from p4e.tables.inputs import DIAGNOSIS_SLOTS, PROCEDURE_SLOTS

EARLIEST = dt.date(1900, 1, 1)
LATEST = dt.date(2100, 12, 31)
CLAIM_TYPES = ("professional", "institutional", "undetermined")
YEAR_MONTH = r"^[0-9]{4}(0[1-9]|1[0-2])$"
# Helper columns validation adds before the rules run (True: no parent row).
ORPHAN_PERSON, ORPHAN_GROUP = "_orphan_person", "_orphan_group"

KEYS: dict[str, tuple[str, ...]] = {
    "provider_groups": ("group_id",),
    "eligibility": ("person_id", "enrollment_start_date", "payer", "birth_date"),
    "race_ethnicity": ("person_id", "source", "code", "recorded_date"),
    "provider_attribution": ("person_id", "year_month"),
    "medical_claim": ("claim_id", "claim_line_number", "person_id", "claim_start_date"),
    "pharmacy_claim": ("claim_id", "claim_line_number", "person_id", "dispensing_date"),
    "lab_result": ("lab_result_id", "person_id"),
    "observation": ("observation_id", "person_id", "observation_date"),
    "practitioner": ("npi",),
}
DATES: dict[str, tuple[str, ...]] = {
    "eligibility": ("birth_date", "death_date", "enrollment_start_date", "enrollment_end_date"),
    "race_ethnicity": ("recorded_date",),
    "medical_claim": (
        "claim_start_date",
        "claim_line_start_date",
        *[f"procedure_date_{i}" for i in range(1, PROCEDURE_SLOTS + 1)],
    ),
    "pharmacy_claim": ("dispensing_date",),
    "lab_result": ("result_datetime", "collection_datetime"),
    "observation": ("observation_date",),
}
# Columns that identify one row, and the columns whose values must agree across its
# rows (all rows of a key whose values differ are rejected: no rule says which is right).
UNIQUE: dict[str, tuple[tuple[str, ...], tuple[str, ...] | None]] = {
    "provider_groups": (("group_id",), ("group_name",)),
    "provider_attribution": (("person_id", "year_month"), tuple(ORGANIZATION.values())),
    "medical_claim": (("claim_id", "claim_line_number"), None),
    "pharmacy_claim": (("claim_id", "claim_line_number"), None),
    "lab_result": (("lab_result_id",), None),
    "observation": (("observation_id",), None),
    "practitioner": (("npi",), ("specialty",)),
}


@dataclass(frozen=True)
class Rule:
    """One check: rows where `broken` is true get `reason`; `flags` names the column
    nulled instead of rejecting the row (None = reject)."""

    reason: str
    broken: Column
    flags: str | None = None


def _out_of_range(column: str) -> Column:
    day = F.to_date(column)
    return day.isNotNull() & ((day < F.lit(EARLIEST)) | (day > F.lit(LATEST)))


def _blank(column: str) -> Column:
    return F.col(column).isNull() | (F.trim(F.col(column).cast("string")) == "")


def table_rules(
    table: str,
    settings: Settings,
    *,
    answer_codes: Sequence[str],
    answer_sources: Sequence[str],
) -> list[Rule]:
    """The rules of `table`.

    Args:
        table: input table name (the dimension's answers as `race_ethnicity`).
        settings: the run's settings (code namespaces, genders, value ranges).
        answer_codes: codes the dimension's answers may hold (categories and declined).
        answer_sources: sources the answers may name.
    """
    rules = [Rule(f"null key {key}", _blank(key)) for key in KEYS.get(table, ())]
    rules += [
        Rule(f"{column} out of range {EARLIEST}..{LATEST}", _out_of_range(column))
        for column in DATES.get(table, ())
    ]
    codes = settings.codes
    if table == "eligibility":
        rules += _eligibility_rules(list(settings.inputs.genders))
    elif table == "race_ethnicity":
        rules += [
            Rule(
                f"source is not one of {', '.join(answer_sources)}",
                ~F.col("source").isin(*answer_sources),
            ),
            Rule("unknown category code", ~F.col("code").isin(*answer_codes)),
        ]
    elif table == "provider_attribution":
        column = ORGANIZATION[settings.plan.attribution_organization]
        rules += [
            Rule(
                "year_month is not YYYYMM", ~F.col("year_month").rlike(r"^[0-9]{4}(0[1-9]|1[0-2])$")
            ),
            Rule(f"null {column}", _blank(column)),
        ]
    elif table == "medical_claim":
        rules += _claim_rules(codes)
    elif table == "pharmacy_claim":
        ndc = F.regexp_replace("ndc_code", "-", "")
        rules += [
            Rule("ndc_code is not 11 digits", ~ndc.rlike(r"^[0-9]{11}$")),
            Rule("days_supply is negative", F.col("days_supply") < 0),
        ]
    elif table == "lab_result":
        namespace, code = lab_code(codes)
        present = [~_blank(f"{pair}_code") for pair in LAB_CODES]
        has_code = present[0] | present[1] | present[2] | present[3]
        rules += [
            Rule("no code", ~has_code),
            Rule("unknown code type", has_code & namespace.isNull()),
            Rule(
                "no date (collection_datetime and result_datetime are null)",
                F.col("collection_datetime").isNull() & F.col("result_datetime").isNull(),
            ),
            *_value_rules(settings, code, namespace),
        ]
    elif table == "observation":
        namespace, code = observation_code(codes)
        rules += [
            Rule("no code", code.isNull() | (code == "")),
            Rule("unknown code type", ~(code.isNull() | (code == "")) & namespace.isNull()),
            *_value_rules(settings, code, namespace),
        ]
    if table == "provider_attribution":
        rules.append(Rule("orphan: organization not in provider_groups", F.col(ORPHAN_GROUP)))
    return rules


def orphan_rule() -> Rule:
    """A row of a person eligibility does not hold."""
    return Rule("orphan: person_id not in eligibility", F.col(ORPHAN_PERSON))


def _eligibility_rules(genders: Sequence[str]) -> list[Rule]:
    return [
        Rule(
            "enrollment_end_date before enrollment_start_date",
            F.col("enrollment_end_date") < F.col("enrollment_start_date"),
        ),
        Rule("death_date before birth_date", F.col("death_date") < F.col("birth_date")),
        Rule(
            "gender is not a spelling of female, male or unknown (kept as unknown)",
            ~_blank("gender") & ~F.lower(F.trim("gender")).isin(*genders),
            flags="gender",
        ),
        Rule(
            "zip_code is not 5 digits or ZIP+4 (kept as unknown geography)",
            ~_blank("zip_code") & ~F.trim("zip_code").rlike(r"^[0-9]{5}(-?[0-9]{4})?$"),
            flags="zip_code",
        ),
        Rule(
            "census_tract is not an 11-digit GEOID (kept as unknown tract)",
            ~_blank("census_tract") & ~F.col("census_tract").rlike(r"^[0-9]{11}$"),
            flags="census_tract",
        ),
    ]


def _claim_rules(codes: CodeSystems) -> list[Rule]:
    """Claim type, and the code types of the claim's diagnoses and ICD procedures."""
    rules = [
        Rule(
            f"claim_type is not one of {', '.join(CLAIM_TYPES)} (kept as unknown)",
            ~_blank("claim_type") & ~F.lower(F.trim("claim_type")).isin(*CLAIM_TYPES),
            flags="claim_type",
        )
    ]
    for kind, slots in (("diagnosis", DIAGNOSIS_SLOTS), ("procedure", PROCEDURE_SLOTS)):
        has_code = F.lit(False)
        for i in range(1, slots + 1):
            has_code |= ~_blank(f"{kind}_code_{i}")
        namespace = codes.namespace_column(F.col(f"{kind}_code_type"))
        rules.append(Rule(f"unknown or null {kind}_code_type", has_code & namespace.isNull()))
    return rules


def _value_rules(settings: Settings, code: Column, namespace: Column) -> list[Rule]:
    """A numeric result must lie inside the plausible range of its LOINC code (`code`
    normalised, as `p4e.events.matching.normalize_code` gives it)."""
    value = result_value(F.col("result"))
    return [
        Rule(
            f"impossible value for {loinc} (outside {low}..{high})",
            (namespace == "LOINC") & (code == loinc.upper()) & ((value < low) | (value > high)),
        )
        for loinc, (low, high) in sorted(settings.validation.value_ranges.items())
    ]
