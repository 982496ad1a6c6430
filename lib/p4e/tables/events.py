"""silver/events: every coded event of the inputs that a configured value set lists."""

from __future__ import annotations

from p4e.tables.model import Column, Table, columns

EVENTS = Table(
    "silver",
    "events",
    "one row per (event, value set listing its code)",
    "The measure engine's only input for codes, built once per run by the events step from "
    "medical_claim (each diagnosis, ICD procedure, HCPCS/CPT and revenue code), "
    "pharmacy_claim (NDC), lab_result and observation (LOINC, with the result parsed).",
    columns(
        Column("member_id", "STRING", "the person (input person_id)", nullable=False),
        ("event_date", "DATE", "date of the event"),
        ("source", "STRING", "input table: medical_claim, pharmacy_claim, lab_result, observation"),
        ("namespace", "STRING", "code namespace (p4e.yaml `codes`; CPT, CPT II, HCPCS: PROCEDURE)"),
        ("code", "STRING", "the code, upper case, without dots"),
        ("value_set", "STRING", "a value set listing the code (or a prefix of it)"),
        ("claim_id", "STRING", "claim of the event (claims only)"),
        ("claim_type", "STRING", "professional, institutional or undetermined (medical claims)"),
        ("place_of_service", "STRING", "place of service, 2 digits (medical claims)"),
        ("bill_type", "STRING", "type of bill (institutional claims)"),
        ("revenue_code", "STRING", "revenue code of the line, 4 digits (institutional claims)"),
        ("modifiers", "ARRAY<STRING>", "HCPCS modifiers of the line"),
        ("specialty", "STRING", "rendering practitioner's specialty, lower case"),
        ("encounter_id", "STRING", "encounter (lab results and observations)"),
        ("value", "DOUBLE", "numeric result; null when the result does not parse"),
        (
            "value_bound",
            "STRING",
            "'<' or '>' when the result was reported as a bound ('<7.0'), else null",
        ),
        ("result_status", "STRING", "lab result status, lower case"),
        ("days_supply", "INT", "days of supply (pharmacy claims)"),
    ),
    partition_by=(),
)
