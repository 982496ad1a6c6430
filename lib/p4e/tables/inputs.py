"""The input tables: the Tuva Project Input Layer, plus p4e's two extensions.

p4e reads a plan's claims and clinical data as the Tuva Project Input Layer
defines them (Apache-2.0; column names, types and meanings of
`tuva-health/tuva` v0.18.0, `models/input_layer/input_layer__<table>.yml`), so a
plan that maps its data for Tuva points p4e at the same tables. Only the columns
p4e reads are declared; other Tuva columns may be present and are ignored. A
column declared `required=False` may be absent (repeated slots beyond the first,
p4e's `census_tract`, fallback codes): it reads as nulls. p4e's extensions are
`race_ethnicity` (answers to the dimension's question) and `provider_groups`.

Each table lives as Delta under `<lakehouse>/raw/<table>` unless `inputs.<table>`
names a catalog table or a Parquet folder; validation copies the accepted rows to
`<lakehouse>/silver/<table>` with exactly the declared columns. The generator
writes these tables and, beside them, its planted truth (`raw/truth_rates`).
"""

from __future__ import annotations

from p4e.tables.model import Column, Table, columns, optional

PERSON = Column("person_id", "STRING", "the person (Tuva `person_id`; p4e's member_id)")
DIAGNOSIS_SLOTS, PROCEDURE_SLOTS, MODIFIER_SLOTS = 25, 25, 5
# The person's dates a measure's `member_date` criterion may test (from eligibility).
PERSON_DATES = ("birth_date", "death_date")


def slots(prefix: str, n: int, kind: str, doc: str) -> tuple[Column, ...]:
    """`prefix_1` .. `prefix_n`; the first required, the others optional (`{}`: the slot)."""
    return tuple(
        Column(f"{prefix}_{i}", kind, doc.format(i), required=i == 1) for i in range(1, n + 1)
    )


PROVIDER_GROUPS = Table(
    "raw",
    "provider_groups",
    "one row per provider group",
    "p4e's extension: the provider groups, named as provider_attribution's organizations.",
    columns(
        ("group_id", "STRING", "provider group id (= an attributed organization)"),
        ("group_name", "STRING", "provider group name"),
    ),
)
ELIGIBILITY = Table(
    "raw",
    "eligibility",
    "one row per person, enrollment span, payer and plan",
    "Coverage spans, and who the person is: birth date and gender for the measures' bands, "
    "names and geography for BISG, death for the exclusions (the latest span's values).",
    columns(
        PERSON,
        ("gender", "STRING", "female, male or unknown (spellings: inputs.genders)"),
        ("birth_date", "DATE", "date of birth"),
        optional("death_date", "DATE", "date of death, null when alive"),
        ("enrollment_start_date", "DATE", "first covered day of the span"),
        ("enrollment_end_date", "DATE", "last covered day; null = still enrolled"),
        ("payer", "STRING", "payer of the span (the plan's own coverage: plan.payers)"),
        optional("plan", "STRING", "plan (sub-contract) of the span"),
        optional("first_name", "STRING", "first name"),
        ("last_name", "STRING", "surname (BISG)"),
        ("zip_code", "STRING", "ZIP code, 5 digits or ZIP+4 (BISG geography)"),
        optional(
            "census_tract",
            "STRING",
            "p4e's extension: 11-digit census tract GEOID (BISG geography before the ZIP)",
        ),
    ),
)
RACE_ETHNICITY = Table(
    "raw",
    "race_ethnicity",
    "one row per recorded answer",
    "p4e's extension: answers to the dimension's question (the table is named by the "
    "dimension's `source_table`).",
    columns(
        PERSON,
        ("source", "STRING", "self_reported or provider_reported"),
        ("code", "STRING", "a category code of the dimension, or its declined code"),
        ("recorded_date", "DATE", "date the answer was recorded"),
    ),
)
PROVIDER_ATTRIBUTION = Table(
    "raw",
    "provider_attribution",
    "one row per person, month, payer and plan",
    "The provider organization each person is attributed to, month by month; one group "
    "per person and year is picked by plan.attribution.",
    columns(
        PERSON,
        ("year_month", "STRING", "attributed month, YYYYMM"),
        optional("payer", "STRING", "payer that attributed the month"),
        (
            "payer_attributed_provider_organization",
            "STRING",
            "organization the payer attributed (a provider_groups group_id)",
        ),
        optional(
            "custom_attributed_provider_organization",
            "STRING",
            "organization of a custom attribution (read when plan.attribution.organization "
            "is custom)",
        ),
    ),
)
MEDICAL_CLAIM = Table(
    "raw",
    "medical_claim",
    "one row per claim line",
    "Professional and institutional claim lines: HCPCS/CPT with modifiers, place of "
    "service, bill type, revenue code, rendering provider, and the claim's diagnoses and "
    "ICD procedures.",
    columns(
        ("claim_id", "STRING", "claim id"),
        ("claim_line_number", "INT", "line number within the claim"),
        ("claim_type", "STRING", "professional, institutional or undetermined"),
        PERSON,
        ("claim_start_date", "DATE", "first date of service of the claim (its diagnoses' date)"),
        ("claim_line_start_date", "DATE", "date of service of the line (else the claim's)"),
        ("place_of_service_code", "STRING", "CMS place of service, 2 digits (professional)"),
        ("bill_type_code", "STRING", "UB-04 type of bill (institutional)"),
        ("revenue_center_code", "STRING", "UB-04 revenue code of the line (institutional)"),
        ("hcpcs_code", "STRING", "HCPCS or CPT (incl. CPT II) code of the line"),
        *slots("hcpcs_modifier", MODIFIER_SLOTS, "STRING", "modifier {} of the HCPCS code"),
        ("rendering_npi", "STRING", "NPI of the rendering practitioner (practitioner.npi)"),
        ("diagnosis_code_type", "STRING", "code type of the diagnoses, e.g. icd-10-cm"),
        *slots("diagnosis_code", DIAGNOSIS_SLOTS, "STRING", "diagnosis {} of the claim"),
        ("procedure_code_type", "STRING", "code type of the ICD procedures, e.g. icd-10-pcs"),
        *slots("procedure_code", PROCEDURE_SLOTS, "STRING", "ICD procedure {} of the claim"),
        *slots("procedure_date", PROCEDURE_SLOTS, "DATE", "date of ICD procedure {}"),
    ),
)
PHARMACY_CLAIM = Table(
    "raw",
    "pharmacy_claim",
    "one row per pharmacy claim line",
    "Dispensed medications.",
    columns(
        ("claim_id", "STRING", "claim id"),
        ("claim_line_number", "INT", "line number within the claim"),
        PERSON,
        ("dispensing_date", "DATE", "date dispensed"),
        ("ndc_code", "STRING", "11-digit NDC (dashes are removed)"),
        ("days_supply", "INT", "days of supply dispensed"),
    ),
)
LAB_RESULT = Table(
    "raw",
    "lab_result",
    "one row per lab result",
    "Laboratory tests and their results (HbA1c, FIT, ...). The code read is the first "
    "present of the normalized component, normalized order, source component and source "
    "order (Tuva's own order).",
    columns(
        ("lab_result_id", "STRING", "lab result id"),
        PERSON,
        optional("encounter_id", "STRING", "encounter of the test"),
        ("normalized_component_type", "STRING", "code type of the component, e.g. loinc"),
        ("normalized_component_code", "STRING", "code of the component"),
        ("normalized_order_type", "STRING", "code type of the order"),
        ("normalized_order_code", "STRING", "code of the order"),
        optional("source_component_type", "STRING", "source code type of the component"),
        optional("source_component_code", "STRING", "source code of the component"),
        optional("source_order_type", "STRING", "source code type of the order"),
        optional("source_order_code", "STRING", "source code of the order"),
        ("status", "STRING", "status of the result (not performed: inputs.not_performed)"),
        ("result", "STRING", 'the result as reported ("7.2", "7.2%", "<7.0", "")'),
        ("result_datetime", "TIMESTAMP", "when the result was reported"),
        ("collection_datetime", "TIMESTAMP", "when the specimen was collected (the test date)"),
    ),
)
OBSERVATION = Table(
    "raw",
    "observation",
    "one row per observation",
    "Clinical observations with a result: vital signs (blood pressure).",
    columns(
        ("observation_id", "STRING", "observation id"),
        PERSON,
        optional("encounter_id", "STRING", "encounter of the observation"),
        ("observation_date", "DATE", "date of the observation"),
        ("normalized_code_type", "STRING", "code type, e.g. loinc"),
        ("normalized_code", "STRING", "the code"),
        optional("source_code_type", "STRING", "source code type (when not normalized)"),
        optional("source_code", "STRING", "source code (when not normalized)"),
        ("result", "STRING", 'the result as reported ("128", "128 mm[Hg]")'),
    ),
)
PRACTITIONER = Table(
    "raw",
    "practitioner",
    "one row per practitioner",
    "Practitioners by NPI, for the rendering provider's specialty.",
    columns(
        ("npi", "STRING", "NPI"),
        ("specialty", "STRING", "specialty (free text, e.g. Family Medicine)"),
    ),
)
TRUTH_RATES = Table(
    "raw",
    "truth_rates",
    "one row per (planted group, scenario, measure, year, true category)",
    "The generator's planted truth: the rate the measure engine should find.",
    columns(
        ("group_id", "STRING", "provider group"),
        ("scenario", "STRING", "planted scenario, or background"),
        ("measure_id", "STRING", "measure id"),
        ("year", "INT", "measurement year"),
        ("category", "STRING", "true category of the members"),
        ("rate", "DOUBLE", "expected measured rate, proportion"),
    ),
)

INPUTS: dict[str, Table] = {
    t.name: t
    for t in (
        PROVIDER_GROUPS,
        ELIGIBILITY,
        RACE_ETHNICITY,
        PROVIDER_ATTRIBUTION,
        MEDICAL_CLAIM,
        PHARMACY_CLAIM,
        LAB_RESULT,
        OBSERVATION,
        PRACTITIONER,
    )
}
# Tables whose rows belong to a person of eligibility (a row of another person is an orphan).
PERSON_TABLES = (
    "race_ethnicity",
    "provider_attribution",
    "medical_claim",
    "pharmacy_claim",
    "lab_result",
    "observation",
)
