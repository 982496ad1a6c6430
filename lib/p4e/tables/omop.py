"""The OMOP CDM v5.4 tables `p4e import omop` reads, with the columns it reads.

OMOP CDM v5.4: https://ohdsi.github.io/CommonDataModel/cdm54.html. A column declared
`required=False` may be absent from an extract (it reads as nulls).
"""

from __future__ import annotations

from p4e.tables.model import Column, Table, columns, optional


def _omop(name: str, grain: str, *specs: tuple[str, str, str] | Column) -> Table:
    """An OMOP table's declaration: the columns the import reads."""
    return Table(
        "omop", name, grain, f"OMOP CDM v5.4 {name} (the columns the import reads)", columns(*specs)
    )


OMOP: dict[str, Table] = {
    t.name: t
    for t in (
        _omop(
            "person",
            "one row per person",
            ("person_id", "BIGINT", "the person"),
            ("gender_concept_id", "BIGINT", "gender concept"),
            ("year_of_birth", "INT", "year of birth"),
            optional("month_of_birth", "INT", "month of birth"),
            optional("day_of_birth", "INT", "day of birth"),
            optional("birth_datetime", "TIMESTAMP", "date and time of birth"),
            ("race_concept_id", "BIGINT", "race concept"),
            ("ethnicity_concept_id", "BIGINT", "ethnicity concept"),
            optional("location_id", "BIGINT", "the person's location"),
            optional("care_site_id", "BIGINT", "the person's primary care site"),
        ),
        _omop(
            "observation_period",
            "one row per span the person's events are recorded",
            ("observation_period_id", "BIGINT", "the span"),
            ("person_id", "BIGINT", "the person"),
            ("observation_period_start_date", "DATE", "first day"),
            ("observation_period_end_date", "DATE", "last day"),
        ),
        _omop(
            "visit_occurrence",
            "one row per visit",
            ("visit_occurrence_id", "BIGINT", "the visit"),
            ("person_id", "BIGINT", "the person"),
            ("visit_concept_id", "BIGINT", "kind of visit (9201 inpatient, 9202 outpatient, ...)"),
            optional("provider_id", "BIGINT", "provider of the visit"),
        ),
        _omop(
            "condition_occurrence",
            "one row per recorded condition",
            ("condition_occurrence_id", "BIGINT", "the record"),
            ("person_id", "BIGINT", "the person"),
            ("condition_concept_id", "BIGINT", "standard concept"),
            ("condition_start_date", "DATE", "date recorded"),
            optional("provider_id", "BIGINT", "provider who recorded it"),
            optional("visit_occurrence_id", "BIGINT", "visit it was recorded at"),
            optional("condition_source_concept_id", "BIGINT", "source concept (e.g. ICD10CM)"),
        ),
        _omop(
            "procedure_occurrence",
            "one row per procedure",
            ("procedure_occurrence_id", "BIGINT", "the record"),
            ("person_id", "BIGINT", "the person"),
            ("procedure_concept_id", "BIGINT", "standard concept"),
            ("procedure_date", "DATE", "date performed"),
            optional("provider_id", "BIGINT", "provider who performed it"),
            optional("visit_occurrence_id", "BIGINT", "visit it was performed at"),
            optional("procedure_source_concept_id", "BIGINT", "source concept (e.g. CPT4)"),
            optional("modifier_source_value", "STRING", "procedure modifier as recorded"),
        ),
        _omop(
            "drug_exposure",
            "one row per drug exposure",
            ("drug_exposure_id", "BIGINT", "the record"),
            ("person_id", "BIGINT", "the person"),
            ("drug_concept_id", "BIGINT", "standard concept (RxNorm)"),
            ("drug_exposure_start_date", "DATE", "start (dispensing) date"),
            optional("days_supply", "INT", "days of supply"),
            optional("drug_source_concept_id", "BIGINT", "source concept (e.g. NDC)"),
        ),
        _omop(
            "measurement",
            "one row per measurement",
            ("measurement_id", "BIGINT", "the record"),
            ("person_id", "BIGINT", "the person"),
            ("measurement_concept_id", "BIGINT", "standard concept (LOINC)"),
            ("measurement_date", "DATE", "date measured"),
            optional("measurement_datetime", "TIMESTAMP", "date and time measured"),
            optional("value_as_number", "DOUBLE", "numeric result"),
            optional("value_source_value", "STRING", "result as recorded"),
            optional("visit_occurrence_id", "BIGINT", "visit it was measured at"),
            optional("measurement_source_concept_id", "BIGINT", "source concept"),
        ),
        _omop(
            "concept",
            "one row per concept",
            ("concept_id", "BIGINT", "the concept"),
            ("concept_name", "STRING", "name"),
            ("vocabulary_id", "STRING", "vocabulary (ICD10CM, CPT4, LOINC, NDC, ...)"),
            ("concept_class_id", "STRING", "class within the vocabulary"),
            ("concept_code", "STRING", "the code in its vocabulary"),
        ),
        _omop(
            "death",
            "one row per deceased person",
            ("person_id", "BIGINT", "the person"),
            ("death_date", "DATE", "date of death"),
        ),
        _omop(
            "location",
            "one row per address",
            ("location_id", "BIGINT", "the location"),
            optional("zip", "STRING", "ZIP code"),
        ),
        _omop(
            "care_site",
            "one row per care site",
            ("care_site_id", "BIGINT", "the care site"),
            optional("care_site_name", "STRING", "name"),
        ),
        _omop(
            "provider",
            "one row per provider",
            ("provider_id", "BIGINT", "the provider"),
            optional("npi", "STRING", "NPI"),
            optional("specialty_concept_id", "BIGINT", "specialty concept"),
            optional("specialty_source_value", "STRING", "specialty as recorded"),
        ),
    )
}
REQUIRED_TABLES = (
    "person",
    "observation_period",
    "visit_occurrence",
    "condition_occurrence",
    "procedure_occurrence",
    "drug_exposure",
    "measurement",
    "concept",
)
