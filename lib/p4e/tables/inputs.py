"""The input tables: raw as delivered (`<lakehouse>/raw/<table>`), silver once validated.

Validation copies the accepted rows, with the same schema, to
`<lakehouse>/silver/<table>`; the generator writes these tables and, beside them,
its planted truth (`raw/truth_rates`, not an input of the pipeline).
"""

from __future__ import annotations

from p4e.tables.model import Table, columns

MEMBER = ("member_id", "STRING", "member id")

PROVIDER_GROUPS = Table(
    "raw",
    "provider_groups",
    "one row per provider group",
    "The provider groups members are attributed to.",
    columns(
        ("group_id", "STRING", "provider group id"),
        ("group_name", "STRING", "provider group name"),
    ),
)
MEMBERS = Table(
    "raw",
    "members",
    "one row per member",
    "Who the members are: birth date and sex for the measures' bands, names and "
    "geography for BISG, death for the exclusions.",
    columns(
        MEMBER,
        ("birth_date", "DATE", "date of birth"),
        ("sex", "STRING", "F or M"),
        ("first_name", "STRING", "first name"),
        ("surname", "STRING", "surname (BISG)"),
        ("zip", "STRING", "5-digit ZIP code (BISG geography when the tract is unknown)"),
        ("tract", "STRING", "11-digit census tract GEOID (BISG geography)"),
        ("death_date", "DATE", "date of death, null when alive"),
    ),
)
RACE_ETHNICITY = Table(
    "raw",
    "race_ethnicity",
    "one row per recorded answer",
    "Answers to the dimension's question (the table is named by the dimension's `source_table`).",
    columns(
        MEMBER,
        ("source", "STRING", "self_reported or provider_reported"),
        ("code", "STRING", "a category code of the dimension, or its declined code"),
        ("recorded_date", "DATE", "date the answer was recorded"),
    ),
)
ENROLLMENT = Table(
    "raw",
    "enrollment",
    "one row per coverage span",
    "Coverage spans per payer, for continuous enrollment and member months.",
    columns(
        MEMBER,
        ("payer", "STRING", "payer of the span (the plan's own: `plan.payers`)"),
        ("start_date", "DATE", "first covered day"),
        ("end_date", "DATE", "last covered day"),
    ),
)
ATTRIBUTION = Table(
    "raw",
    "attribution",
    "one row per (member, year)",
    "The provider group each member is attributed to in a year.",
    columns(
        MEMBER,
        ("group_id", "STRING", "attributed provider group"),
        ("year", "INT", "year"),
    ),
)
CLAIMS = Table(
    "raw",
    "claims",
    "one row per coded service",
    "Procedures and diagnoses billed, one code per row.",
    columns(
        ("claim_id", "STRING", "claim id"),
        MEMBER,
        ("service_date", "DATE", "date of service"),
        ("code_system", "STRING", "code system (`validation.code_systems`)"),
        ("code", "STRING", "the code"),
        ("place_of_service", "STRING", "CMS place-of-service code"),
    ),
)
OBSERVATIONS = Table(
    "raw",
    "observations",
    "one row per result",
    "Clinical results with a value: blood pressure, HbA1c.",
    columns(
        ("observation_id", "STRING", "observation id"),
        MEMBER,
        ("observation_date", "DATE", "date of the result"),
        ("code_system", "STRING", "code system (LOINC)"),
        ("code", "STRING", "the code"),
        ("value", "DOUBLE", "numeric result"),
        ("unit", "STRING", "unit of the result"),
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
        MEMBERS,
        RACE_ETHNICITY,
        ENROLLMENT,
        ATTRIBUTION,
        CLAIMS,
        OBSERVATIONS,
    )
}
