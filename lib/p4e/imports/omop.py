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

import logging
from collections.abc import Mapping

from pyspark.errors import AnalysisException
from pyspark.sql import Column, DataFrame, SparkSession
from pyspark.sql import functions as F

from p4e.config import Settings
from p4e.errors import P4eError
from p4e.imports.landing import land
from p4e.storage import open_store
from p4e.tables.inputs import INPUTS
from p4e.tables.model import Table
from p4e.tables.omop import OMOP, REQUIRED_TABLES

LOG = logging.getLogger(__name__)

CODE_TYPES = {
    "ICD10CM": "icd-10-cm",
    "ICD9CM": "icd-9-cm",
    "ICD10PCS": "icd-10-pcs",
    "ICD9Proc": "icd-9-pcs",
    "CPT4": "hcpcs",
    "HCPCS": "hcpcs",
    "SNOMED": "snomed-ct",
    "LOINC": "loinc",
    "NDC": "ndc",
    "RxNorm": "rxnorm",
}
HCPCS_VOCABULARIES = ("CPT4", "HCPCS")
ICD_PROCEDURE_VOCABULARIES = ("ICD10PCS", "ICD9Proc")
GENDERS = {8532: "female", 8507: "male"}
HISPANIC = 38003563
# OMOP race concepts -> category codes of conf/dimensions/race_ethnicity.yaml.
RACE_CODES = {8527: "white", 8516: "black", 8515: "asian", 8657: "aian", 8557: "nhpi"}
# visit_concept_id -> (claim_type, bill_type_code, place_of_service_code).
VISITS: dict[int, tuple[str, str | None, str | None]] = {
    9201: ("institutional", "0111", None),  # inpatient visit
    9202: ("professional", None, "11"),  # outpatient visit
    9203: ("professional", None, "23"),  # emergency room visit
    262: ("institutional", "0111", None),  # emergency room and inpatient visit
    581477: ("professional", None, "11"),  # office visit
}
VITAL_SIGNS = ("LOINC", "Clinical Observation")  # vocabulary_id, concept_class_id


def read_omop(spark: SparkSession, source: str) -> dict[str, DataFrame]:
    """The OMOP tables of folder `source`, with the columns and types `OMOP` declares.

    A table is `<source>/<table>.csv` (comma-separated, with a header), a Parquet
    folder `<source>/<table>/` or `<source>/<table>.parquet`, tried in that order.
    CSV values are read as text and cast to the declared types by column name, so
    types never depend on inference and extra columns (the rest of OMOP) are ignored;
    a declared optional column the file lacks reads as nulls.

    Args:
        spark: the session.
        source: folder (or URI readable by Spark) holding the tables.

    Returns:
        Table name -> DataFrame: the required tables (`REQUIRED_TABLES`) and those of
        death, location, care_site and provider that are present.

    Raises:
        P4eError: a required table is missing, or a table lacks a required column.
    """
    tables: dict[str, DataFrame] = {}
    for name, table in OMOP.items():
        df = _read_table(spark, source.rstrip("/"), name)
        if df is None:
            if name in REQUIRED_TABLES:
                raise P4eError(
                    f"OMOP table {name!r} not found in {source}: expected {name}.csv, "
                    f"a Parquet folder {name}/ or {name}.parquet there"
                )
            continue
        tables[name] = _typed(df, table, source)
    return tables


def _read_table(spark: SparkSession, source: str, name: str) -> DataFrame | None:
    """The first of `<name>.csv`, `<name>/`, `<name>.parquet` under `source`; None if none."""
    base = f"{source}/{name}"
    for path, fmt in ((f"{base}.csv", "csv"), (base, "parquet"), (f"{base}.parquet", "parquet")):
        reader = spark.read.format(fmt)
        if fmt == "csv":
            # Text columns (no inference); RFC 4180 quotes; malformed lines fail the read.
            reader = reader.options(header="true", inferSchema="false", escape='"', mode="FAILFAST")
        try:
            df = reader.load(path)
            df.columns  # noqa: B018 - Spark Connect resolves the path only on analysis
        except AnalysisException as exc:
            if exc.getCondition() == "PATH_NOT_FOUND":
                continue
            raise
        return df
    return None


def _typed(df: DataFrame, table: Table, source: str) -> DataFrame:
    """`df` with exactly the declared columns, cast by name; absent optional ones null."""
    have = {c.lower(): c for c in df.columns}
    missing = [c.name for c in table.columns if c.required and c.name not in have]
    if missing:
        raise P4eError(
            f"OMOP table {table.name!r} in {source} lacks column(s) {', '.join(missing)}"
        )
    return df.select(
        *[
            (F.col(have[c.name]) if c.name in have else F.lit(None))
            .cast(c.field.dataType)
            .alias(c.name)
            for c in table.columns
        ]
    )


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
    concepts = _concepts(omop["concept"])
    provider = omop.get("provider")
    visits = _visits(omop["visit_occurrence"])
    measurements = _coded(omop["measurement"], concepts, "measurement")
    return {
        "eligibility": _eligibility(
            person, periods, payer=payer, death=omop.get("death"), location=omop.get("location")
        ),
        "race_ethnicity": _race_ethnicity(person, periods),
        "provider_groups": _provider_groups(person, omop.get("care_site")),
        "provider_attribution": _provider_attribution(person, periods, payer=payer),
        "medical_claim": _medical_claim(
            omop["condition_occurrence"], omop["procedure_occurrence"], concepts, visits, provider
        ),
        "pharmacy_claim": _pharmacy_claim(omop["drug_exposure"], concepts),
        "lab_result": _lab_result(measurements),
        "observation": _observation(measurements),
        "practitioner": _practitioner(provider, omop["concept"]),
    }


def _as_input(df: DataFrame, name: str, values: Mapping[str, Column]) -> DataFrame:
    """Input table `name` from `df`: each declared column from `values`, cast to its
    declared type; a column `values` leaves out (no OMOP equivalent) is null."""
    schema = INPUTS[name].schema()
    unknown = sorted(set(values) - set(schema.names))
    if unknown:
        raise ValueError(f"input table {name} declares no column(s) {', '.join(unknown)}")
    return df.select(
        *[values.get(f.name, F.lit(None)).cast(f.dataType).alias(f.name) for f in schema.fields]
    )


def _lookup(column: Column, mapping: Mapping[int, str | None] | Mapping[str, str]) -> Column:
    """`mapping[column]` as a CASE expression; null for a value `mapping` lacks."""
    expression = F.lit(None).cast("string")
    for key, value in mapping.items():
        if value is not None:
            expression = F.when(column == key, value).otherwise(expression)
    return expression


def _concepts(concept: DataFrame) -> DataFrame:
    """The concepts as codes: code_concept_id, vocabulary_id, concept_class_id,
    concept_code and its Tuva code_type (null for another vocabulary)."""
    return concept.select(
        F.col("concept_id").alias("code_concept_id"),
        "vocabulary_id",
        "concept_class_id",
        "concept_code",
        _lookup(F.col("vocabulary_id"), CODE_TYPES).alias("code_type"),
    )


def _coded(events: DataFrame, concepts: DataFrame, prefix: str) -> DataFrame:
    """`events` with their code: the concept of `<prefix>_source_concept_id` when it is
    not 0 or null, else of `<prefix>_concept_id` (code columns null for an unknown one)."""
    source = F.col(f"{prefix}_source_concept_id")
    concept_id = F.when(source.isNotNull() & (source != 0), source).otherwise(
        F.col(f"{prefix}_concept_id")
    )
    return events.withColumn("code_concept_id", concept_id).join(
        concepts, on="code_concept_id", how="left"
    )


def _left_out(df: DataFrame, is_left_out: Column, what: str) -> None:
    """Log one warning with the number of rows of `df` where `is_left_out` holds."""
    count = df.where(F.coalesce(is_left_out, F.lit(True))).count()
    if count:
        LOG.warning("OMOP import: %d %s left out", count, what)


def _birth_date() -> Column:
    """birth_datetime's date, else year/month/day_of_birth (a missing month or day: 1)."""
    month, day = F.coalesce("month_of_birth", F.lit(1)), F.coalesce("day_of_birth", F.lit(1))
    return F.coalesce(F.to_date("birth_datetime"), F.make_date("year_of_birth", month, day))


def _eligibility(
    person: DataFrame,
    periods: DataFrame,
    *,
    payer: str,
    death: DataFrame | None,
    location: DataFrame | None,
) -> DataFrame:
    """One row per observation period of a person."""
    people = person.select(
        "person_id",
        "location_id",
        F.coalesce(_lookup(F.col("gender_concept_id"), GENDERS), F.lit("unknown")).alias("gender"),
        _birth_date().alias("birth_date"),
    )
    if death is None:
        people = people.withColumn("death_date", F.lit(None).cast("date"))
    else:
        deaths = death.groupBy("person_id").agg(F.min("death_date").alias("death_date"))
        people = people.join(deaths, on="person_id", how="left")
    if location is None:
        people = people.withColumn("zip_code", F.lit(None).cast("string"))
    else:
        zips = location.select("location_id", F.substring("zip", 1, 5).alias("zip_code"))
        people = people.join(zips, on="location_id", how="left")
    return _as_input(
        periods.join(people, on="person_id", how="inner"),
        "eligibility",
        {
            "person_id": F.col("person_id"),
            "gender": F.col("gender"),
            "birth_date": F.col("birth_date"),
            "death_date": F.col("death_date"),
            "enrollment_start_date": F.col("observation_period_start_date"),
            "enrollment_end_date": F.col("observation_period_end_date"),
            "payer": F.lit(payer),
            "zip_code": F.col("zip_code"),
        },
    )


def _race_ethnicity(person: DataFrame, periods: DataFrame) -> DataFrame:
    """One provider-reported answer per person whose race or ethnicity has a category."""
    code = F.when(F.col("ethnicity_concept_id") == HISPANIC, "hispanic").otherwise(
        _lookup(F.col("race_concept_id"), RACE_CODES)
    )
    first_start = periods.groupBy("person_id").agg(
        F.min("observation_period_start_date").alias("recorded_date")
    )
    answers = (
        person.select("person_id", code.alias("code"))
        .where(F.col("code").isNotNull())
        .join(first_start, on="person_id", how="inner")
    )
    return _as_input(
        answers,
        "race_ethnicity",
        {
            "person_id": F.col("person_id"),
            "source": F.lit("provider_reported"),
            "code": F.col("code"),
            "recorded_date": F.col("recorded_date"),
        },
    )


def _provider_groups(person: DataFrame, care_site: DataFrame | None) -> DataFrame:
    """One group per care site persons are attributed to."""
    sites = person.where(F.col("care_site_id").isNotNull()).select("care_site_id").distinct()
    if care_site is None:
        sites = sites.withColumn("care_site_name", F.lit(None).cast("string"))
    else:
        names = care_site.select("care_site_id", "care_site_name")
        sites = sites.join(names, on="care_site_id", how="left")
    return _as_input(
        sites,
        "provider_groups",
        {
            "group_id": F.col("care_site_id"),
            "group_name": F.coalesce("care_site_name", F.col("care_site_id").cast("string")),
        },
    )


def _provider_attribution(person: DataFrame, periods: DataFrame, *, payer: str) -> DataFrame:
    """One row per person with a care site and calendar month of their observation periods."""
    start, end = F.col("observation_period_start_date"), F.col("observation_period_end_date")
    months = F.sequence(F.trunc(start, "month"), F.trunc(end, "month"), F.expr("INTERVAL 1 MONTH"))
    attributed = (
        person.where(F.col("care_site_id").isNotNull())
        .select("person_id", "care_site_id")
        .join(periods.where(end >= start), on="person_id", how="inner")
        .select("person_id", "care_site_id", F.explode(months).alias("month"))
        .select("person_id", "care_site_id", F.date_format("month", "yyyyMM").alias("year_month"))
        .distinct()
    )
    return _as_input(
        attributed,
        "provider_attribution",
        {
            "person_id": F.col("person_id"),
            "year_month": F.col("year_month"),
            "payer": F.lit(payer),
            "payer_attributed_provider_organization": F.col("care_site_id"),
        },
    )


def _visits(visit_occurrence: DataFrame) -> DataFrame:
    """Per visit: claim_type, bill_type_code, place_of_service_code and its provider."""
    kind = F.col("visit_concept_id")
    return visit_occurrence.select(
        "visit_occurrence_id",
        _lookup(kind, {k: v[0] for k, v in VISITS.items()}).alias("claim_type"),
        _lookup(kind, {k: v[1] for k, v in VISITS.items()}).alias("bill_type_code"),
        _lookup(kind, {k: v[2] for k, v in VISITS.items()}).alias("place_of_service_code"),
        F.col("provider_id").alias("visit_provider_id"),
    )


def _claim_lines(
    events: DataFrame,
    visits: DataFrame,
    provider: DataFrame | None,
    *,
    prefix: str,
    id_column: str,
    date_column: str,
) -> tuple[DataFrame, dict[str, Column]]:
    """`events` with their visit and rendering NPI, and the claim line columns they share."""
    lines = events.join(visits, on="visit_occurrence_id", how="left")
    if provider is None:
        lines = lines.withColumn("npi", F.lit(None).cast("string"))
    else:
        npis = provider.select(F.col("provider_id").alias("rendering_id"), "npi")
        rendering = F.coalesce("provider_id", "visit_provider_id")
        lines = lines.withColumn("rendering_id", rendering).join(
            npis, on="rendering_id", how="left"
        )
    date = F.col(date_column)
    return lines, {
        "claim_id": F.concat(F.lit(prefix), F.col(id_column).cast("string")),
        "claim_line_number": F.lit(1),
        "claim_type": F.coalesce("claim_type", F.lit("undetermined")),
        "person_id": F.col("person_id"),
        "claim_start_date": date,
        "claim_line_start_date": date,
        "place_of_service_code": F.col("place_of_service_code"),
        "bill_type_code": F.col("bill_type_code"),
        "rendering_npi": F.col("npi"),
    }


def _medical_claim(
    conditions: DataFrame,
    procedures: DataFrame,
    concepts: DataFrame,
    visits: DataFrame,
    provider: DataFrame | None,
) -> DataFrame:
    """One claim line per condition and per CPT4/HCPCS or ICD procedure."""
    diagnoses = _coded(conditions, concepts, "condition")
    has_type = F.col("code_type").isNotNull()
    _left_out(diagnoses, ~has_type, "condition_occurrence rows without a Tuva code type")
    diagnoses, shared = _claim_lines(
        diagnoses.where(has_type),
        visits,
        provider,
        prefix="C",
        id_column="condition_occurrence_id",
        date_column="condition_start_date",
    )
    diagnosis_lines = _as_input(
        diagnoses,
        "medical_claim",
        {
            **shared,
            "diagnosis_code_type": F.col("code_type"),
            "diagnosis_code_1": F.col("concept_code"),
        },
    )
    coded = _coded(procedures, concepts, "procedure")
    is_hcpcs = F.col("vocabulary_id").isin(*HCPCS_VOCABULARIES)
    is_icd = F.col("vocabulary_id").isin(*ICD_PROCEDURE_VOCABULARIES)
    is_kept = is_hcpcs | is_icd
    _left_out(coded, ~is_kept, "procedure_occurrence rows neither CPT4/HCPCS nor ICD")
    coded, shared = _claim_lines(
        coded.where(is_kept),
        visits,
        provider,
        prefix="P",
        id_column="procedure_occurrence_id",
        date_column="procedure_date",
    )
    procedure_lines = _as_input(
        coded,
        "medical_claim",
        {
            **shared,
            "hcpcs_code": F.when(is_hcpcs, F.col("concept_code")),
            "hcpcs_modifier_1": F.when(is_hcpcs, F.col("modifier_source_value")),
            "procedure_code_type": F.when(is_icd, F.col("code_type")),
            "procedure_code_1": F.when(is_icd, F.col("concept_code")),
            "procedure_date_1": F.when(is_icd, F.col("procedure_date")),
        },
    )
    return diagnosis_lines.unionByName(procedure_lines)


def _pharmacy_claim(drugs: DataFrame, concepts: DataFrame) -> DataFrame:
    """One claim line per drug exposure with an NDC code."""
    coded = _coded(drugs, concepts, "drug")
    is_ndc = F.col("vocabulary_id") == "NDC"
    _left_out(coded, ~is_ndc, "drug_exposure rows without an NDC code (pharmacy_claim)")
    return _as_input(
        coded.where(is_ndc),
        "pharmacy_claim",
        {
            "claim_id": F.concat(F.lit("D"), F.col("drug_exposure_id").cast("string")),
            "claim_line_number": F.lit(1),
            "person_id": F.col("person_id"),
            "dispensing_date": F.col("drug_exposure_start_date"),
            "ndc_code": F.regexp_replace("concept_code", "-", ""),
            "days_supply": F.col("days_supply"),
        },
    )


def _number_text(value: Column) -> Column:
    """A number as text, a whole number without ".0" ("128", "7.2")."""
    is_whole = (value % 1 == 0) & (F.abs(value) < 1e15)
    return F.when(is_whole, value.cast("bigint").cast("string")).otherwise(value.cast("string"))


def _is_vital_sign() -> Column:
    """True for a vital sign: a LOINC concept of class Clinical Observation."""
    vocabulary, concept_class = VITAL_SIGNS
    is_vital = (F.col("vocabulary_id") == vocabulary) & (F.col("concept_class_id") == concept_class)
    return F.coalesce(is_vital, F.lit(False))


def _observation(measurements: DataFrame) -> DataFrame:
    """One observation per vital-sign measurement (a LOINC Clinical Observation)."""
    return _as_input(
        measurements.where(_is_vital_sign()),
        "observation",
        {
            "observation_id": F.concat(F.lit("M"), F.col("measurement_id").cast("string")),
            "person_id": F.col("person_id"),
            "encounter_id": F.col("visit_occurrence_id"),
            "observation_date": F.col("measurement_date"),
            "normalized_code_type": F.col("code_type"),
            "normalized_code": F.col("concept_code"),
            "result": F.coalesce(_number_text(F.col("value_as_number")), "value_source_value"),
        },
    )


def _lab_result(measurements: DataFrame) -> DataFrame:
    """One lab result per measurement that is not a vital sign."""
    has_value = F.col("value_as_number").isNotNull() | F.col("value_source_value").isNotNull()
    return _as_input(
        measurements.where(~_is_vital_sign()),
        "lab_result",
        {
            "lab_result_id": F.concat(F.lit("M"), F.col("measurement_id").cast("string")),
            "person_id": F.col("person_id"),
            "encounter_id": F.col("visit_occurrence_id"),
            "normalized_component_type": F.col("code_type"),
            "normalized_component_code": F.col("concept_code"),
            "status": F.when(has_value, "final").otherwise("pending"),
            "result": F.coalesce(
                _number_text(F.col("value_as_number")), "value_source_value", F.lit("")
            ),
            "collection_datetime": F.coalesce(
                "measurement_datetime", F.col("measurement_date").cast("timestamp")
            ),
        },
    )


def _practitioner(provider: DataFrame | None, concept: DataFrame) -> DataFrame:
    """One row per provider NPI and specialty; empty without the provider table."""
    if provider is None:
        return concept.sparkSession.createDataFrame([], INPUTS["practitioner"].schema())
    specialties = concept.select(
        F.col("concept_id").alias("specialty_concept_id"), F.col("concept_name").alias("name")
    )
    named = (
        provider.where(F.col("npi").isNotNull())
        .join(specialties, on="specialty_concept_id", how="left")
        .select(
            "npi",
            F.coalesce(
                F.when(F.col("specialty_concept_id") != 0, F.col("name")),
                "specialty_source_value",
            ).alias("specialty"),
        )
        .distinct()
    )
    return _as_input(named, "practitioner", {"npi": F.col("npi"), "specialty": F.col("specialty")})


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
