"""Measure definitions: loading and validating `conf/measures/*.yaml` (SPEC §3).

A measure is data. Each file `<ID>.yaml` describes one measure; `_common.yaml`
holds the defaults (age anchor, enrollment rule) and the exclusions every
measure shares. Files whose name starts with `_` are not measures.

Windows are relative to the measurement year (MY): an anchor
`{years: -9, month: 1, day: 1}` is Jan 1 of MY-9; a window is
`{from: <anchor>, to: <anchor>}` with either end optional (open), or the
alias `measurement_year` (Jan 1 - Dec 31 of MY). Every error names the file
and the field.
"""

from __future__ import annotations

import calendar
import itertools
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any, NoReturn

from p4e.config import read_yaml
from p4e.errors import ConfigError
from p4e.measures.valuesets import ValueSets, load_valuesets
from p4e.tables import RAW_SCHEMAS

COMMON_FILE = "_common.yaml"
DIRECTIONS = ("higher", "lower")
OPERATORS = ("<", "<=", ">", ">=")
AGGREGATES = ("min", "max")
SEXES = ("F", "M")
MEMBER_DATE_COLUMNS = tuple(
    f.name for f in RAW_SCHEMAS["members"].fields if f.dataType.simpleString() == "date"
)
MY_ALIAS = "measurement_year"
MEASURE_FIELDS = (
    "id", "name", "description", "direction", "population", "denominator", "exclusions",
    "common_exclusions", "numerator",
)  # fmt: skip


@dataclass(frozen=True)
class Anchor:
    """A calendar date relative to the measurement year."""

    years: int
    month: int
    day: int

    def resolve(self, year: int) -> date:
        return date(year + self.years, self.month, self.day)


@dataclass(frozen=True)
class Window:
    """Inclusive date range relative to the measurement year; a None end is open."""

    start: Anchor | None
    end: Anchor | None

    def bounds(self, year: int) -> tuple[date | None, date | None]:
        return (
            self.start.resolve(year) if self.start else None,
            self.end.resolve(year) if self.end else None,
        )


@dataclass(frozen=True)
class EventCriterion:
    """Met when coded events of `value_sets` fall in `window` on >= `min_count` distinct dates.

    Attributes:
        key: unique column-safe name of the criterion inside one definition set.
        place_of_service: when set, only claims with one of these places count.
    """

    key: str
    value_sets: tuple[str, ...]
    window: Window
    place_of_service: tuple[str, ...] | None = None
    min_count: int = 1


@dataclass(frozen=True)
class MemberDateCriterion:
    """Met when the member's date column (e.g. death_date) falls in `window`."""

    key: str
    column: str
    window: Window


Criterion = EventCriterion | MemberDateCriterion


@dataclass(frozen=True)
class Exclusion:
    """Excludes the member with `reason` when all criteria are met (and age >= min_age)."""

    reason: str
    criteria: tuple[Criterion, ...]
    min_age: int | None = None


@dataclass(frozen=True)
class CodedRange:
    """A code (via its value set) that reports a value range instead of a number."""

    value_set: str
    low: float
    high: float


@dataclass(frozen=True)
class ResultComponent:
    """One component of a result (e.g. systolic), with its pass test.

    A reading is a range [low, high] (a numeric observation has low = high);
    the test passes only when the whole range satisfies it.
    """

    name: str
    observation_value_sets: tuple[str, ...]
    coded: tuple[CodedRange, ...]
    operator: str
    threshold: float


@dataclass(frozen=True)
class ResultRule:
    """Representative reading: the most recent date in `window` on which every component
    has a reading; per component the lowest (`aggregate: min`) or highest reading of that
    date; met when every component passes, or `missing` when there is no such date."""

    key: str
    window: Window
    aggregate: str
    missing: bool
    components: tuple[ResultComponent, ...]

    @property
    def value_sets(self) -> set[str]:
        """Names of every value set the components read."""
        return {
            name
            for comp in self.components
            for name in (*comp.observation_value_sets, *(r.value_set for r in comp.coded))
        }


@dataclass(frozen=True)
class Measure:
    """One quality measure as configured."""

    id: str
    name: str
    direction: str
    min_age: int
    max_age: int
    age_at: tuple[int, int]
    sexes: tuple[str, ...] | None
    max_gaps: int
    max_gap_days: int
    denominator: tuple[Criterion, ...]
    exclusions: tuple[Exclusion, ...]
    numerator_events: tuple[EventCriterion, ...]
    numerator_result: ResultRule | None
    source: Path

    @property
    def value_sets(self) -> set[str]:
        """Names of every value set the measure refers to."""
        used = {vs for c in self.criteria if isinstance(c, EventCriterion) for vs in c.value_sets}
        return used | (self.numerator_result.value_sets if self.numerator_result else set())

    @property
    def criteria(self) -> list[Criterion]:
        """Every criterion of the measure (denominator, exclusions, numerator events)."""
        found = list(self.denominator) + list(self.numerator_events)
        for exclusion in self.exclusions:
            found += exclusion.criteria
        return found


@dataclass(frozen=True)
class Definitions:
    """All measures (in file-name order) and the value sets they use."""

    measures: tuple[Measure, ...]
    valuesets: ValueSets

    def event_criteria(self) -> list[EventCriterion]:
        return _unique(
            c for m in self.measures for c in m.criteria if isinstance(c, EventCriterion)
        )

    def date_criteria(self) -> list[MemberDateCriterion]:
        return _unique(
            c for m in self.measures for c in m.criteria if isinstance(c, MemberDateCriterion)
        )

    def result_rules(self) -> list[ResultRule]:
        return [m.numerator_result for m in self.measures if m.numerator_result is not None]


def load_definitions(measures_dir: Path, valuesets_dir: Path) -> Definitions:
    """Load and validate every measure YAML and value-set CSV.

    Args:
        measures_dir: folder of `<ID>.yaml` measure files and `_common.yaml`.
        valuesets_dir: folder of value-set CSV files.

    Returns:
        The validated definitions.

    Raises:
        ConfigError: a file is missing or malformed, naming the file and the field.
    """
    valuesets = load_valuesets(Path(valuesets_dir))
    measures_dir = Path(measures_dir)
    files = sorted(p for p in measures_dir.glob("*.yaml") if not p.name.startswith("_"))
    if not files:
        raise ConfigError(f"no measure files (*.yaml) in {measures_dir}")
    common_path = measures_dir / COMMON_FILE
    common = read_yaml(common_path) if common_path.is_file() else {}
    common_at = _Field(common_path)
    defaults = common_at.child("defaults").mapping(common.get("defaults", {}))
    exc_at = common_at.child("exclusions")
    key = _key_source("common")
    shared = tuple(
        _parse_exclusion(exc_at.child(i), item, key)
        for i, item in enumerate(exc_at.items(common.get("exclusions", [])))
    )
    measures = tuple(_parse_measure(path, read_yaml(path), defaults, shared) for path in files)
    for measure in measures:
        _check_value_sets(measure, valuesets)
    return Definitions(measures, valuesets)


class _Field:
    """A position in a YAML document, for error messages: file + dotted field path."""

    def __init__(self, file: Path, path: str = "") -> None:
        self.file = file
        self.path = path

    def child(self, name: str | int) -> _Field:
        part = f"[{name}]" if isinstance(name, int) else (f".{name}" if self.path else name)
        return _Field(self.file, f"{self.path}{part}")

    def error(self, message: str) -> ConfigError:
        where = f" field {self.path}" if self.path else ""
        return ConfigError(f"{self.file}{where}: {message}")

    def required(self, data: dict[str, Any], key: str) -> Any:
        if not isinstance(data, dict) or data.get(key) is None:
            _fail(self.child(key), "is required")
        return data[key]

    def mapping(self, value: Any) -> dict[str, Any]:
        if not isinstance(value, dict):
            _fail(self, f"must be a mapping, got {value!r}")
        return value

    def items(self, value: Any) -> list[Any]:
        if not isinstance(value, list):
            _fail(self, f"must be a list, got {value!r}")
        return value

    def integer(self, value: Any, low: int | None = None, high: int | None = None) -> int:
        if isinstance(value, bool) or not isinstance(value, int):
            _fail(self, f"must be an integer, got {value!r}")
        if (low is not None and value < low) or (high is not None and value > high):
            _fail(self, f"must be between {low} and {high}, got {value}")
        return value

    def number(self, value: Any) -> float:
        if isinstance(value, bool) or not isinstance(value, int | float):
            _fail(self, f"must be a number, got {value!r}")
        return float(value)

    def choice(self, value: Any, allowed: tuple[str, ...]) -> str:
        if value not in allowed:
            _fail(self, f"must be one of {', '.join(allowed)}, got {value!r}")
        return value


def _fail(at: _Field, message: str) -> NoReturn:
    raise at.error(message)


def _parse_measure(
    path: Path, data: dict[str, Any], defaults: dict[str, Any], shared: tuple[Exclusion, ...]
) -> Measure:
    at = _Field(path)
    for name in data:
        if name not in MEASURE_FIELDS:
            _fail(at.child(name), f"unknown field; use one of {', '.join(MEASURE_FIELDS)}")
    measure_id = str(at.required(data, "id"))
    if measure_id != path.stem:
        _fail(at.child("id"), f"is {measure_id!r} but the file is named {path.name}")
    if not measure_id.replace("_", "").isalnum():
        _fail(at.child("id"), "may hold letters, digits and '_' only")
    key = _key_source(measure_id)
    den_at = at.child("denominator").child("all_of")
    den = at.child("denominator").mapping(data.get("denominator") or {"all_of": []})
    denominator = tuple(
        _parse_criterion(den_at.child(i), c, key)
        for i, c in enumerate(den_at.items(den.get("all_of", [])))
    )
    exclusions = list(shared) if data.get("common_exclusions", True) else []
    exc_at = at.child("exclusions")
    for i, item in enumerate(exc_at.items(data.get("exclusions", []))):
        exclusions.append(_parse_exclusion(exc_at.child(i), item, key))
    reasons = [e.reason for e in exclusions]
    if len(set(reasons)) != len(reasons):
        _fail(exc_at, f"exclusion reasons must be unique, got {reasons}")
    events, result = _parse_numerator(at.child("numerator"), at.required(data, "numerator"), key)
    return Measure(
        id=measure_id,
        name=str(at.required(data, "name")),
        direction=at.child("direction").choice(at.required(data, "direction"), DIRECTIONS),
        **_parse_population(at.child("population"), data.get("population", {}), defaults),
        denominator=denominator,
        exclusions=tuple(exclusions),
        numerator_events=events,
        numerator_result=result,
        source=path,
    )


def _parse_population(at: _Field, data: Any, defaults: dict[str, Any]) -> dict[str, Any]:
    """Age band, anchor, sex and enrollment rule, the measure's own over the defaults."""
    population = {**defaults.get("population", {}), **at.mapping(data)}
    age_at = at.child("age")
    age = age_at.mapping(at.required(population, "age"))
    min_age = age_at.child("min").integer(age.get("min"), 0, 150)
    sexes = population.get("sex")
    if sexes is not None:
        sexes = tuple(at.child("sex").choice(s, SEXES) for s in _as_list(sexes))
    enrollment_at = at.child("enrollment")
    enrollment = enrollment_at.mapping(at.required(population, "enrollment"))
    return {
        "min_age": min_age,
        "max_age": age_at.child("max").integer(age.get("max"), min_age, 150),
        "age_at": _parse_month_day(
            at.child("age_at"), population.get("age_at", {"month": 12, "day": 31})
        ),
        "sexes": sexes,
        "max_gaps": enrollment_at.child("max_gaps").integer(enrollment.get("max_gaps"), 0, 366),
        "max_gap_days": enrollment_at.child("max_gap_days").integer(
            enrollment.get("max_gap_days"), 0, 366
        ),
    }


def _parse_numerator(
    at: _Field, data: Any, key: Callable[[], str]
) -> tuple[tuple[EventCriterion, ...], ResultRule | None]:
    """Either any_of event criteria or one result rule."""
    data = at.mapping(data)
    if ("any_of" in data) == ("result" in data):
        _fail(at, "needs exactly one of any_of (events) or result (a value test)")
    if "result" in data:
        return (), _parse_result(at.child("result"), data["result"], key())
    any_at = at.child("any_of")
    events = tuple(
        _parse_event(any_at.child(i), c, key) for i, c in enumerate(any_at.items(data["any_of"]))
    )
    if not events:
        _fail(any_at, "needs at least one event criterion")
    return events, None


def _key_source(prefix: str) -> Callable[[], str]:
    """Hands out unique, column-safe criterion keys `<prefix>__c1`, `<prefix>__c2`, ..."""
    counter = itertools.count(1)
    return lambda: f"{prefix}__c{next(counter)}"


def _parse_exclusion(at: _Field, data: Any, key: Callable[[], str]) -> Exclusion:
    data = at.mapping(data)
    reason = str(at.required(data, "reason"))
    min_age = data.get("min_age")
    if min_age is not None:
        min_age = at.child("min_age").integer(min_age, 0, 150)
    if "all_of" in data:
        all_at = at.child("all_of")
        criteria = tuple(
            _parse_criterion(all_at.child(i), c, key)
            for i, c in enumerate(all_at.items(data["all_of"]))
        )
        if not criteria:
            _fail(all_at, "needs at least one criterion")
    else:
        body = {k: v for k, v in data.items() if k not in ("reason", "min_age")}
        criteria = (_parse_criterion(at, body, key),)
    return Exclusion(reason, criteria, min_age)


def _parse_criterion(at: _Field, data: Any, key: Callable[[], str]) -> Criterion:
    data = at.mapping(data)
    if "member_date" in data:
        extra = set(data) - {"member_date", "window"}
        if extra:
            _fail(at.child(sorted(extra)[0]), "is not allowed with member_date")
        column = at.child("member_date").choice(data["member_date"], MEMBER_DATE_COLUMNS)
        return MemberDateCriterion(
            key(), column, _parse_window(at.child("window"), data.get("window"))
        )
    return _parse_event(at, data, key)


def _parse_event(at: _Field, data: Any, key: Callable[[], str]) -> EventCriterion:
    data = at.mapping(data)
    extra = set(data) - {"value_sets", "window", "place_of_service", "min_count"}
    if extra:
        _fail(
            at.child(sorted(extra)[0]),
            "unknown field; use value_sets, window, place_of_service, min_count",
        )
    value_sets = tuple(str(v) for v in _as_list(at.required(data, "value_sets")))
    if not value_sets:
        _fail(at.child("value_sets"), "needs at least one value set")
    pos = data.get("place_of_service")
    if pos is not None:
        pos = tuple(normalize_place_of_service(p) for p in _as_list(pos))
    return EventCriterion(
        key=key(),
        value_sets=value_sets,
        window=_parse_window(at.child("window"), at.required(data, "window")),
        place_of_service=pos,
        min_count=at.child("min_count").integer(data.get("min_count", 1), 1, 366),
    )


def _parse_result(at: _Field, data: Any, key: str) -> ResultRule:
    data = at.mapping(data)
    comps_at = at.child("components")
    comps = comps_at.mapping(at.required(data, "components"))
    if not comps:
        _fail(comps_at, "needs at least one component")
    missing = data.get("missing_counts_as", False)
    if not isinstance(missing, bool):
        _fail(at.child("missing_counts_as"), f"must be true or false, got {missing!r}")
    return ResultRule(
        key=key,
        window=_parse_window(at.child("window"), at.required(data, "window")),
        aggregate=at.child("aggregate").choice(data.get("aggregate", "min"), AGGREGATES),
        missing=missing,
        components=tuple(_parse_component(comps_at.child(n), str(n), c) for n, c in comps.items()),
    )


def _parse_component(at: _Field, name: str, data: Any) -> ResultComponent:
    data = at.mapping(data)
    test_at = at.child("test")
    test = test_at.mapping(at.required(data, "test"))
    coded = []
    coded_at = at.child("coded")
    for i, item in enumerate(coded_at.items(data.get("coded", []))):
        item_at = coded_at.child(i)
        item = item_at.mapping(item)
        low = item.get("low")
        high = item.get("high")
        if low is None and high is None:
            _fail(item_at, "needs low, high or both")
        low = float("-inf") if low is None else item_at.child("low").number(low)
        high = float("inf") if high is None else item_at.child("high").number(high)
        if low > high:
            _fail(item_at, f"low {low} is above high {high}")
        coded.append(CodedRange(str(item_at.required(item, "value_set")), low, high))
    observed = tuple(str(v) for v in _as_list(data.get("observations", [])))
    if not observed and not coded:
        _fail(at, "needs observations (value sets of numeric results), coded ranges, or both")
    return ResultComponent(
        name=name,
        observation_value_sets=observed,
        coded=tuple(coded),
        operator=test_at.child("operator").choice(test_at.required(test, "operator"), OPERATORS),
        threshold=test_at.child("value").number(test_at.required(test, "value")),
    )


def _parse_window(at: _Field, data: Any) -> Window:
    if data == MY_ALIAS:
        return Window(Anchor(0, 1, 1), Anchor(0, 12, 31))
    data = at.mapping(data)
    extra = set(data) - {"from", "to"}
    if extra or not data:
        _fail(at, f"use {{from: <anchor>, to: <anchor>}} or {MY_ALIAS!r}, got {data!r}")
    start = _parse_anchor(at.child("from"), data["from"]) if data.get("from") is not None else None
    end = _parse_anchor(at.child("to"), data["to"]) if data.get("to") is not None else None
    if start and end and start.resolve(2001) > end.resolve(2001):
        _fail(at, "from is after to")
    return Window(start, end)


def _parse_anchor(at: _Field, data: Any) -> Anchor:
    data = at.mapping(data)
    extra = set(data) - {"years", "month", "day"}
    if extra:
        _fail(at.child(sorted(extra)[0]), "unknown field; use years, month, day")
    years = at.child("years").integer(data.get("years", 0), -100, 100)
    month, day = _parse_month_day(at, data)
    return Anchor(years, month, day)


def _parse_month_day(at: _Field, data: Any) -> tuple[int, int]:
    data = at.mapping(data)
    month = at.child("month").integer(at.required(data, "month"), 1, 12)
    # February 29 is refused: the anchor must exist in every year.
    day = at.child("day").integer(at.required(data, "day"), 1, calendar.monthrange(2001, month)[1])
    return month, day


def normalize_place_of_service(value: Any) -> str:
    """Place-of-service code as two digits ('2' and '02' are the same place)."""
    return str(value).strip().zfill(2)


def _check_value_sets(measure: Measure, valuesets: ValueSets) -> None:
    unknown = sorted(measure.value_sets - valuesets.names)
    if unknown:
        raise ConfigError(
            f"{measure.source}: value sets {unknown} are not defined in any value-set CSV "
            f"(known: {', '.join(sorted(valuesets.names))})"
        )


def _as_list(value: Any) -> list[Any]:
    return list(value) if isinstance(value, list | tuple) else [value]


def _unique(items):
    seen: dict[str, Any] = {}
    for item in items:
        seen.setdefault(item.key, item)
    return list(seen.values())
