"""The events step: silver/events from the validated claims and clinical tables."""

from __future__ import annotations

from collections.abc import Mapping

from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F

from p4e.config import Settings
from p4e.context import RunContext
from p4e.events.claims import claim_events, medical_events, pharmacy_events
from p4e.events.clinical import lab_events, observation_events
from p4e.events.matching import match_value_sets
from p4e.sail import union_by_name
from p4e.tables.events import EVENTS
from p4e.tables.inputs import INPUTS

SOURCES = ("medical_claim", "pharmacy_claim", "lab_result", "observation", "practitioner")


def build_events(
    spark: SparkSession, settings: Settings, tables: Mapping[str, DataFrame]
) -> DataFrame:
    """silver/events from the silver tables in `tables` (`SOURCES`), every column of
    `p4e.tables.events.EVENTS`; codes no value set lists are left out."""
    codes, valuesets = settings.codes, settings.measures.valuesets
    specialty = (
        tables["practitioner"]
        .groupBy(F.trim("npi").alias("npi"))
        .agg(F.min(F.lower(F.trim("specialty"))).alias("specialty"))
    )
    medical = claim_events(
        match_value_sets(spark, medical_events(tables["medical_claim"], codes), valuesets)
        .join(specialty, on="npi", how="left")
        .drop("npi")
    ).drop("level")
    others = [
        pharmacy_events(tables["pharmacy_claim"]),
        lab_events(tables["lab_result"], codes, settings.inputs.not_performed),
        observation_events(tables["observation"], codes),
    ]
    matched = [medical] + [match_value_sets(spark, df, valuesets) for df in others]
    return EVENTS.conform(union_by_name(matched))


def run(ctx: RunContext) -> dict[str, int]:
    """Pipeline step: rewrite silver/events; returns {"events": rows}."""
    tables = {name: ctx.read(INPUTS[name].in_layer("silver")) for name in SOURCES}
    ctx.write(EVENTS, build_events(ctx.spark, ctx.settings, tables))
    return {"events": ctx.read(EVENTS).count()}
