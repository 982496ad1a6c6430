"""An OMOP CDM v5.4 extract as p4e's input layer (the Tuva Project Input Layer).

`read_omop` reads the OMOP tables of a folder with the columns `OMOP` declares,
typed by the declaration (never by inference); `omop_to_input_layer` maps them to
the tables of `p4e.tables.inputs.INPUTS`, each with exactly its declared columns.
OMOP tables, columns and concepts: OMOP CDM v5.4,
https://ohdsi.github.io/CommonDataModel/cdm54.html. Ids become text; a code is the
concept of the event's `*_source_concept_id` when it is not 0 or null, else of its
standard `*_concept_id`, and its type comes from the concept's vocabulary
(`CODE_TYPES`). An input column with no OMOP equivalent is null.

==================== ==============================================================
input table          OMOP source
==================== ==============================================================
eligibility          one row per observation_period joined to person: gender from
                     gender_concept_id (8532 female, 8507 male, else unknown);
                     birth_date = birth_datetime's date, else year/month/day_of_birth
                     (missing month or day: 1); death_date = death.death_date;
                     enrollment dates = observation_period_start/end_date; payer =
                     the `payer` argument; zip_code = first 5 characters of
                     location.zip (person.location_id); plan, names, census_tract null
                     (OMOP is de-identified)
race_ethnicity       person.ethnicity_concept_id 38003563 -> hispanic, else
                     race_concept_id (`RACE_CODES`); other concepts give no row.
                     source provider_reported: an EHR record, not the person's own
                     answer; recorded_date = earliest observation_period_start_date
provider_groups      person.care_site_id: group_id, group_name = care_site_name (else
                     the id)
provider_attribution person x each calendar month of the person's observation periods,
                     attributed to person.care_site_id; payer = the `payer` argument
medical_claim        condition_occurrence -> claim "C<id>" line 1: diagnosis_code_type
                     and diagnosis_code_1 at condition_start_date;
                     procedure_occurrence -> claim "P<id>" line 1 at procedure_date:
                     CPT4/HCPCS in hcpcs_code (modifier_source_value in
                     hcpcs_modifier_1), ICD9Proc/ICD10PCS in procedure_code_type,
                     procedure_code_1, procedure_date_1; claim_type, bill type and
                     place of service from the visit's visit_concept_id (`VISITS`; no
                     or another visit: undetermined); rendering_npi = provider.npi of
                     the event's provider_id, else the visit's
pharmacy_claim       drug_exposure with an NDC code -> claim "D<id>" line 1: ndc_code
                     without dashes, dispensing_date = drug_exposure_start_date,
                     days_supply
observation          measurement with a LOINC "Clinical Observation" concept (vital
                     signs) -> "M<id>", observation_date = measurement_date, result =
                     value_as_number (whole numbers without ".0"), else
                     value_source_value
lab_result           any other measurement -> "M<id>", normalized component from the
                     concept, status final (a value) or pending, result as for
                     observation (else ""), collection_datetime = measurement_datetime,
                     else measurement_date at midnight
practitioner         provider with an npi: specialty = the specialty concept's name,
                     else specialty_source_value; empty without `provider`
==================== ==============================================================

Events whose code has no place in the input layer (a condition of another
vocabulary, a procedure neither CPT4/HCPCS nor ICD, a drug without an NDC) are left
out, each table's count logged as one warning.
"""

from __future__ import annotations

from collections.abc import Mapping

from pyspark.sql import DataFrame, SparkSession

from p4e.config import Settings
from p4e.errors import P4eError
from p4e.imports.landing import land
from p4e.imports.omop import events, persons
from p4e.imports.omop.codes import LOG, RACE_CODES, code_concepts, with_code
from p4e.imports.omop.read import read_omop
from p4e.storage import open_store
from p4e.tables.inputs import INPUTS
from p4e.tables.omop import REQUIRED_TABLES

__all__ = ["RACE_CODES", "import_omop", "omop_to_input_layer", "read_omop"]


def omop_to_input_layer(omop: Mapping[str, DataFrame], *, payer: str) -> dict[str, DataFrame]:
    """The input-layer tables of an OMOP extract, as `read_omop` returns it.

    The tables are lazy; only counting the left-out events (one warning per table)
    runs Spark jobs here.

    Args:
        omop: OMOP table name -> DataFrame with `OMOP`'s columns: the `REQUIRED_TABLES`,
            and death, location, care_site and provider when the extract has them.
        payer: payer of the eligibility spans and of the attribution.

    Returns:
        Input table name -> DataFrame with exactly `INPUTS[name].schema()`'s columns:
        eligibility, race_ethnicity, provider_groups, provider_attribution,
        medical_claim, pharmacy_claim, lab_result, observation, practitioner.

    Raises:
        P4eError: a required OMOP table is not in `omop`.
    """
    missing = [name for name in REQUIRED_TABLES if name not in omop]
    if missing:
        raise P4eError(f"OMOP extract lacks table(s) {', '.join(missing)}")
    person, periods = omop["person"], omop["observation_period"]
    concepts = code_concepts(omop["concept"])
    provider = omop.get("provider")
    visits = events.visits(omop["visit_occurrence"])
    measurements = with_code(omop["measurement"], concepts, "measurement")
    return {
        "eligibility": persons.eligibility(
            person, periods, payer=payer, death=omop.get("death"), location=omop.get("location")
        ),
        "race_ethnicity": persons.race_ethnicity(person, periods),
        "provider_groups": persons.provider_groups(person, omop.get("care_site")),
        "provider_attribution": persons.provider_attribution(person, periods, payer=payer),
        "medical_claim": events.medical_claim(
            omop["condition_occurrence"], omop["procedure_occurrence"], concepts, visits, provider
        ),
        "pharmacy_claim": events.pharmacy_claim(omop["drug_exposure"], concepts),
        "lab_result": events.lab_result(measurements),
        "observation": events.observation(measurements),
        "practitioner": events.practitioner(provider, omop["concept"]),
    }


def import_omop(
    spark: SparkSession, settings: Settings, source: str, *, payer: str | None = None
) -> dict[str, int]:
    """Map the OMOP extract in `source` into the input layer and land it under raw/.

    Args:
        spark: the session.
        settings: the run's settings (lakehouse, storage engine, the plan's payers).
        source: the OMOP folder (`read_omop`).
        payer: payer of the eligibility spans and attribution (default: the plan's first).

    Returns:
        Rows landed per input table.
    """
    tables = omop_to_input_layer(read_omop(spark, source), payer=payer or settings.plan.payers[0])
    store = open_store(spark, settings.engine)
    counts = {name: land(store, settings, INPUTS[name], df) for name, df in tables.items()}
    LOG.info("imported OMOP %s: %s", source, ", ".join(f"{t}={n}" for t, n in counts.items()))
    return counts
