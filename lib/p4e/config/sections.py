"""The small sections of `conf/p4e.yaml`: Spark, storage, generator, the plan, inputs,
validation."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
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


ATTRIBUTION_RULES = ("latest_month", "most_months")
ATTRIBUTION_ORGANIZATIONS = ("payer", "custom")
INPUT_KINDS = ("delta", "table", "parquet")
GENDERS = ("female", "male", "unknown")


@dataclass(frozen=True)
class PlanSettings:
    """The health plan.

    Attributes:
        payers: the `payer` values of eligibility spans that are the plan's own coverage.
        attribution_rule: how one group per person and year is picked from the monthly
            attribution: latest_month (the group of the latest attributed month of the
            year) or most_months (the group of most months; ties: the latest of them).
        attribution_organization: which column names the group: payer
            (payer_attributed_provider_organization) or custom.
    """

    payers: tuple[str, ...]
    attribution_rule: str = "latest_month"
    attribution_organization: str = "payer"


@dataclass(frozen=True)
class InputLocation:
    """Where an input table is read: Delta at a path (default `<lakehouse>/raw/<table>`),
    a catalog table, or a Parquet folder."""

    kind: str
    where: str | None = None


@dataclass(frozen=True)
class InputSettings:
    """How the input layer is read.

    Attributes:
        locations: input table -> where it is read from (absent: Delta under raw/).
        genders: spelling (lower case) -> female, male or unknown.
        not_performed: lab result statuses (lower case) of a test that did not happen.
    """

    locations: Mapping[str, InputLocation]
    genders: Mapping[str, str]
    not_performed: tuple[str, ...]


@dataclass(frozen=True)
class ValidationSettings:
    """What validation accepts: the plausible range of numeric results per LOINC code."""

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
    section.mapping(("payers", "attribution"))
    payers = tuple(item.text() for item in section["payers"].items(non_empty=True))
    attribution = section["attribution"]
    if not attribution.is_given:
        return PlanSettings(payers)
    attribution.mapping(("rule", "organization"))
    return PlanSettings(
        payers,
        attribution["rule"].choice(ATTRIBUTION_RULES, "latest_month"),
        attribution["organization"].choice(ATTRIBUTION_ORGANIZATIONS, "payer"),
    )


def parse_inputs(section: Field, tables: Iterable[str]) -> InputSettings:
    """The `inputs` section; `tables` are the input tables a location may name."""
    known = tuple(tables)
    section.mapping((*known, "genders", "not_performed"))
    locations = {}
    for name in known:
        if section[name].is_given:
            where = section[name].mapping(INPUT_KINDS)
            if len(where.keys()) != 1:
                where.fail(f"must name one of {', '.join(INPUT_KINDS)}")
            kind = where.keys()[0]
            locations[name] = InputLocation(kind, where[kind].text())
    genders = {}
    for gender, spellings in section["genders"].mapping(GENDERS).entries():
        for item in (gender, *(i.text() for i in spellings.items())):
            genders[item.strip().lower()] = gender
    not_performed = tuple(i.text().strip().lower() for i in section["not_performed"].items())
    return InputSettings(locations, genders, not_performed)


def parse_validation(section: Field) -> ValidationSettings:
    section.mapping(("value_ranges",))
    ranges = {}
    for code, bounds in section["value_ranges"].mapping().entries():
        items = bounds.items()
        if len(items) != 2:
            bounds.fail(f"must be [lowest, highest], not {bounds.value!r}")
        low, high = (item.number() for item in items)
        if low > high:
            bounds.fail(f"must be [lowest, highest], not {bounds.value!r}")
        ranges[code] = (low, high)
    return ValidationSettings(ranges)
