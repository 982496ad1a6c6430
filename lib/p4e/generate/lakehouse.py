"""`generate_lakehouse`: write every input-layer table and the planted truth to the lakehouse."""

from __future__ import annotations

import logging

from pyspark.sql import DataFrame, SparkSession

from p4e.config import Settings
from p4e.errors import ConfigError
from p4e.generate import demographics, events, feeds, population, rates
from p4e.generate.plan import make_plan
from p4e.imports.landing import land
from p4e.storage import open_store
from p4e.tables import INPUTS, TRUTH_RATES

log = logging.getLogger(__name__)

MAX_YEARS = 10  # a pre-period colonoscopy must still count in the last measurement year


def generate_lakehouse(
    spark: SparkSession, settings: Settings, *, members: int, seed: int
) -> dict[str, int]:
    """Generate a synthetic lakehouse: every raw input table plus `raw/truth_rates`.

    Tables are overwritten, so rerunning on an existing lakehouse replaces them.
    The same seed, member count and configuration give identical tables.

    Args:
        spark: session.
        settings: the run's settings (lakehouse, storage, years, generate.groups, the
            plan's payer).
        members: number of members (the planted groups need a few thousand).
        seed: run seed.

    Returns:
        Rows written per table name.

    Raises:
        ConfigError: members or years are unusable.
    """
    if members < 1:
        raise ConfigError(f"members must be a positive number, got {members}")
    if len(settings.years) > MAX_YEARS:
        raise ConfigError(f"years may span at most {MAX_YEARS} years for the generator")
    plan = make_plan(settings, members=members, seed=seed, measures=rates.MEASURES)
    targets = rates.target_rates(plan)
    probs = spark.createDataFrame(rates.event_probabilities(targets))
    frame = population.members_frame(spark, plan).where(population.ever_enrolled(plan)).persist()
    payer = settings.plan.payers[0]
    try:
        member_years = events.member_years(frame, plan, probs)
        claims = events.claims(member_years, plan)
        results = events.observations(member_years, plan)
        tables: dict[str, DataFrame] = {
            "provider_groups": population.provider_groups(spark, plan),
            "eligibility": population.eligibility(frame, plan, payer),
            "race_ethnicity": demographics.race_ethnicity(spark, frame, plan),
            "provider_attribution": population.provider_attribution(frame, plan, payer),
            "medical_claim": feeds.medical_claim(spark, plan, claims),
            "pharmacy_claim": feeds.pharmacy_claim(plan, claims),
            "lab_result": feeds.lab_result(plan, results),
            "observation": feeds.observation(plan, results),
            "practitioner": feeds.practitioners(spark, plan),
        }
        store = open_store(spark, settings.engine)
        counts = {}
        for name, df in tables.items():
            counts[name] = land(store, settings, INPUTS[name], df)
            log.info("generated raw/%s: %d rows", name, counts[name])
        truth = spark.createDataFrame(rates.truth_rates(plan, targets))
        counts[TRUTH_RATES.name] = land(store, settings, TRUTH_RATES, truth)
    finally:
        frame.unpersist()
    return counts
