"""A tiny hand-built input layer for the measure engine tests (helpers only, no tests).

Rows are written as a plan exports them to the Tuva input layer: eligibility spans,
monthly attribution, claim lines with the code where a feed carries it, lab results
and observations with text results.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from pyspark.sql import DataFrame, SparkSession

from p4e.config import Settings
from p4e.events import build_events
from p4e.measures import member_measures
from p4e.measures.enrollment import enrollment_checks
from p4e.measures.events import coded_events
from p4e.membership import members, spans, yearly_attribution
from p4e.tables import INPUTS

# Enrolled through every measure's period of MY2023 (BCS's from Oct 1 2021).
FULL_2023 = ((date(2021, 10, 1), date(2023, 12, 31)),)
LAB_LOINC = ("4548-4", "97506-0")
PCP_NPI = "1000000001"  # renders every claim line unless a story says otherwise
TABLES = (
    "eligibility",
    "provider_attribution",
    "medical_claim",
    "pharmacy_claim",
    "lab_result",
    "observation",
    "practitioner",
    "race_ethnicity",
)


def frame(spark: SparkSession, table: str, rows: list[dict[str, Any]]) -> DataFrame:
    """Rows of an input table (dicts; columns left out are null) with its declared schema."""
    names = INPUTS[table].names
    unknown = {k for row in rows for k in row} - set(names)
    assert not unknown, (table, unknown)
    return spark.createDataFrame(
        [tuple(row.get(n) for n in names) for row in rows], INPUTS[table].schema()
    )


def claim_line(claim_id: str, person: str, day: date, system: str, code: str, pos: str | None):
    """A claim line carrying one code where a feed puts it (by its code system)."""
    line: dict[str, Any] = {
        "claim_id": claim_id,
        "claim_line_number": 1,
        "claim_type": "professional",
        "person_id": person,
        "claim_start_date": day,
        "claim_line_start_date": day,
        "place_of_service_code": pos,
        "diagnosis_code_type": "icd-10-cm",
        "rendering_npi": PCP_NPI,
    }
    if system in ("CPT", "CPT2", "HCPCS"):
        line |= {"hcpcs_code": code, "diagnosis_code_1": "R69"}
    elif system == "ICD10CM":
        line |= {"hcpcs_code": "99213", "diagnosis_code_1": code}
    elif system == "ICD10PCS":
        line |= {
            "claim_type": "institutional",
            "place_of_service_code": None,
            "bill_type_code": "0111",
            "procedure_code_type": "icd-10-pcs",
            "procedure_code_1": code,
            "procedure_date_1": day,
        }
    elif system == "UBREV":
        line |= {"claim_type": "institutional", "place_of_service_code": None,
                 "bill_type_code": "0811", "revenue_center_code": code}  # fmt: skip
    else:
        raise ValueError(system)
    return line


@dataclass
class Lake:
    """Rows of the input tables the measure engine reads, added story by story."""

    rows: dict[str, list[dict[str, Any]]] = field(
        default_factory=lambda: (
            {t: [] for t in TABLES}
            | {"practitioner": [{"npi": PCP_NPI, "specialty": "Family Medicine"}]}
        )
    )

    def member(
        self,
        member_id: str,
        birth: date,
        *,
        sex: str = "M",
        death: date | None = None,
        spans: tuple[tuple[date, date | None], ...] = FULL_2023,
        payer: str = "plan",
        groups: tuple[tuple[Any, ...], ...] = (("G1", 2023),),
    ) -> Lake:
        """A person with eligibility spans and attribution: (group, year) for every month
        of the year, or (group, year, months)."""
        gender = {"F": "female", "M": "male"}.get(sex, "unknown")
        self.rows["eligibility"] += [
            {"person_id": member_id, "gender": gender, "birth_date": birth,
             "death_date": death, "enrollment_start_date": start,
             "enrollment_end_date": end, "payer": payer, "first_name": "Ann",
             "last_name": "Smith", "zip_code": "02139"}
            for start, end in spans
        ]  # fmt: skip
        self.rows["provider_attribution"] += [
            {"person_id": member_id, "year_month": f"{year}{month:02d}",
             "payer_attributed_provider_organization": group}
            for group, year, *months in groups
            for month in (months[0] if months else range(1, 13))
        ]  # fmt: skip
        return self

    def claim(self, member_id: str, day: date, system: str, code: str, pos: str = "11") -> Lake:
        claim_id = f"c{len(self.rows['medical_claim'])}"
        self.rows["medical_claim"].append(claim_line(claim_id, member_id, day, system, code, pos))
        return self

    def fill(self, member_id: str, day: date, ndc: str, days: int = 30) -> Lake:
        self.rows["pharmacy_claim"].append(
            {"claim_id": f"d{len(self.rows['pharmacy_claim'])}", "claim_line_number": 1,
             "person_id": member_id, "dispensing_date": day, "ndc_code": ndc,
             "days_supply": days}
        )  # fmt: skip
        return self

    def obs(
        self, member_id: str, day: date, code: str, value: float | str | None, **extra: Any
    ) -> Lake:
        """A result of `code`: a lab result (HbA1c, GMI) or an observation (vitals); a
        number is written as a feed writes it ("7.2"), None as no result ("")."""
        text = "" if value is None else value if isinstance(value, str) else f"{value:g}"
        if code in LAB_LOINC:
            self.rows["lab_result"].append(
                {"lab_result_id": f"l{len(self.rows['lab_result'])}", "person_id": member_id,
                 "normalized_component_type": "loinc", "normalized_component_code": code,
                 "status": "final", "result": text,
                 "collection_datetime": _midnight(day)} | extra
            )  # fmt: skip
        else:
            self.rows["observation"].append(
                {"observation_id": f"o{len(self.rows['observation'])}", "person_id": member_id,
                 "observation_date": day, "normalized_code_type": "loinc",
                 "normalized_code": code, "result": text} | extra
            )  # fmt: skip
        return self

    def answer(self, member_id: str, source: str, code: str, day: date) -> Lake:
        """A recorded race/ethnicity answer."""
        self.rows["race_ethnicity"].append(
            {"person_id": member_id, "source": source, "code": code, "recorded_date": day}
        )
        return self

    def bp(self, member_id: str, day: date, systolic: float, diastolic: float) -> Lake:
        return self.obs(member_id, day, "8480-6", systolic).obs(member_id, day, "8462-4", diastolic)

    def frames(self, spark: SparkSession) -> dict[str, DataFrame]:
        """The input tables as DataFrames with their declared schemas."""
        return {name: frame(spark, name, rows) for name, rows in self.rows.items()}

    def measures(self, spark: SparkSession, settings: Settings, year: int) -> DataFrame:
        """gold/member_measures rows of these members for `year`, through the membership
        and events transforms the pipeline runs."""
        inputs = self.frames(spark)
        eligibility = inputs["eligibility"]
        defs = settings.measures.for_year(settings.spec_year(year))
        return member_measures(
            spark,
            defs,
            year,
            members=members(eligibility, settings.inputs.genders),
            enrollment=enrollment_checks(
                spark,
                spans(eligibility),
                [c for m in defs.measures for c in m.enrollment.checks(year)],
                settings.plan.payers,
            ),
            attribution=yearly_attribution(inputs["provider_attribution"], settings.plan),
            events=coded_events(spark, {year: defs}, build_events(spark, settings, inputs)),
        )


def _midnight(day: date) -> datetime:
    return datetime(day.year, day.month, day.day)
