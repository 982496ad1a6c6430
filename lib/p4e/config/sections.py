"""The small sections of `conf/p4e.yaml`: Spark, storage, generator, the plan, validation."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from p4e.config.fields import Field, settings_of

ENGINES = ("auto", "spark", "rs")


@dataclass(frozen=True)
class SparkSettings:
    """How a local run builds its Spark session (spark-submit and SPARK_REMOTE override the
    master)."""

    master: str = "local[*]"
    app_name: str = "p4e"
    conf: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class GenerateSettings:
    """Defaults of `p4e generate`: member count, seed, number of background groups."""

    members: int = 20000
    seed: int = 0
    groups: int = 50


@dataclass(frozen=True)
class PlanSettings:
    """The health plan: which `payer` values of the enrollment spans are its own coverage."""

    payers: tuple[str, ...]


@dataclass(frozen=True)
class ValidationSettings:
    """What validation accepts: the code systems of claims, observations and value sets, and
    the plausible range of numeric results per LOINC code."""

    code_systems: tuple[str, ...]
    value_ranges: Mapping[str, tuple[float, float]]


def parse_spark(section: Field) -> SparkSettings:
    return settings_of(
        SparkSettings,
        section,
        {
            "master": Field.text,
            "app_name": Field.text,
            "conf": lambda f: {key: str(item.value) for key, item in f.entries()},
        },
    )


def parse_storage(section: Field) -> str:
    section.mapping(("engine",))
    return section["engine"].choice(ENGINES, "auto")


def parse_generate(section: Field) -> GenerateSettings:
    return settings_of(
        GenerateSettings,
        section,
        {
            "members": lambda f: f.integer(low=1),
            "seed": Field.integer,
            "groups": lambda f: f.integer(low=1, high=900),
        },
    )


def parse_plan(section: Field) -> PlanSettings:
    section.mapping(("payers",))
    payers = tuple(item.text() for item in section["payers"].items(non_empty=True))
    return PlanSettings(payers)


def parse_validation(section: Field) -> ValidationSettings:
    section.mapping(("code_systems", "value_ranges"))
    systems = tuple(item.text().upper() for item in section["code_systems"].items(non_empty=True))
    ranges = {}
    for code, bounds in section["value_ranges"].mapping().entries():
        items = bounds.items()
        if len(items) != 2:
            bounds.fail(f"must be [lowest, highest], not {bounds.value!r}")
        low, high = (item.number() for item in items)
        if low > high:
            bounds.fail(f"must be [lowest, highest], not {bounds.value!r}")
        ranges[code] = (low, high)
    return ValidationSettings(systems, ranges)
