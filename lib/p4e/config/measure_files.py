"""Reading `conf/measures/*.yaml` into `Definitions` (the format: conf/measures/README.md).

Each file `<ID>.yaml` describes one measure; `_common.yaml` holds the defaults (age
anchor, enrollment rule) and the exclusions every measure shares. Files whose name
starts with `_` are not measures. A window is `{from: <anchor>, to: <anchor>}` with
either end optional (open), or the alias `measurement_year`.
"""

from __future__ import annotations

import calendar
import itertools
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from p4e.config.codes import CodeSystems
from p4e.config.fields import Field
from p4e.config.measures import (
    Anchor,
    CodedRange,
    Criterion,
    Definitions,
    EventCriterion,
    Exclusion,
    Measure,
    MemberDateCriterion,
    ResultComponent,
    ResultRule,
    Window,
)
from p4e.config.valuesets import ValueSets, load_valuesets
from p4e.errors import ConfigError

COMMON_FILE = "_common.yaml"
DIRECTIONS = ("higher", "lower")
OPERATORS = ("<", "<=", ">", ">=")
AGGREGATES = ("min", "max")
SEXES = ("F", "M")
MY_ALIAS = "measurement_year"
MEASURE_FIELDS = (
    "id",
    "name",
    "description",
    "direction",
    "population",
    "denominator",
    "exclusions",
    "common_exclusions",
    "numerator",
)
POPULATION_FIELDS = ("age", "age_at", "sex", "enrollment")
EVENT_FIELDS = ("value_sets", "window", "place_of_service", "min_count")

Keys = Callable[[], str]


def load_definitions(
    measures_dir: Path,
    valuesets_dir: Path,
    *,
    codes: CodeSystems,
    member_dates: Sequence[str],
) -> Definitions:
    """Load and validate every measure YAML and value-set CSV.

    Args:
        measures_dir: folder of `<ID>.yaml` measure files and `_common.yaml`.
        valuesets_dir: folder of value-set CSV files.
        codes: the code namespaces value sets may name.
        member_dates: the members' date columns a `member_date` criterion may test.

    Raises:
        ConfigError: a file is missing or malformed, naming the file and the field.
    """
    valuesets = load_valuesets(Path(valuesets_dir), codes)
    measures_dir = Path(measures_dir)
    files = sorted(p for p in measures_dir.glob("*.yaml") if not p.name.startswith("_"))
    if not files:
        raise ConfigError(f"no measure files (*.yaml) in {measures_dir}")
    common_path = measures_dir / COMMON_FILE
    common = Field.document(common_path) if common_path.is_file() else Field(common_path, {})
    common.mapping(("defaults", "exclusions"))
    defaults: dict[str, Any] = common["defaults"].parsed(
        lambda f: dict(f.mapping(("population",)).value), {}
    )
    reader = _Reader(member_dates)
    shared = reader.exclusions(common["exclusions"], _keys("common"))
    measures = tuple(reader.measure(Field.document(path), path, defaults, shared) for path in files)
    for measure in measures:
        _check_value_sets(measure, valuesets)
    return Definitions(measures, valuesets)


def _keys(prefix: str) -> Keys:
    """Hands out unique, column-safe criterion keys `<prefix>__c1`, `<prefix>__c2`, ..."""
    counter = itertools.count(1)
    return lambda: f"{prefix}__c{next(counter)}"


class _Reader:
    """The parsers of one definition set (they share the member date columns)."""

    def __init__(self, member_dates: Sequence[str]) -> None:
        self.member_dates = tuple(member_dates)

    def measure(
        self, doc: Field, path: Path, defaults: dict[str, Any], shared: tuple[Exclusion, ...]
    ) -> Measure:
        doc.mapping(MEASURE_FIELDS)
        measure_id = str(doc["id"].text())
        if measure_id != path.stem:
            doc["id"].fail(f"is {measure_id!r} but the file is named {path.name}")
        if not measure_id.replace("_", "").isalnum():
            doc["id"].fail("may hold letters, digits and '_' only")
        keys = _keys(measure_id)
        denominator = doc["denominator"].parsed(lambda f: f.mapping(("all_of",))["all_of"], None)
        criteria = () if denominator is None else self.criteria(denominator, keys)
        exclusions = list(shared) if doc["common_exclusions"].boolean(True) else []
        exclusions += self.exclusions(doc["exclusions"], keys)
        reasons = [e.reason for e in exclusions]
        if len(set(reasons)) != len(reasons):
            doc["exclusions"].fail(f"must have unique reasons, got {reasons}")
        events, result = self.numerator(doc["numerator"], keys)
        return Measure(
            id=measure_id,
            name=doc["name"].text(),
            direction=doc["direction"].choice(DIRECTIONS),
            **_population(doc["population"], defaults),
            denominator=criteria,
            exclusions=tuple(exclusions),
            numerator_events=events,
            numerator_result=result,
            source=path,
        )

    def exclusions(self, field: Field, keys: Keys) -> tuple[Exclusion, ...]:
        items: list[Field] = field.parsed(Field.items, [])
        return tuple(self.exclusion(item, keys) for item in items)

    def exclusion(self, field: Field, keys: Keys) -> Exclusion:
        data = field.mapping().value
        reason = field["reason"].text()
        min_age = field["min_age"].parsed(lambda f: f.integer(low=0, high=150), None)
        if "all_of" in data:
            field.mapping(("reason", "min_age", "all_of"))
            criteria = self.criteria(field["all_of"], keys)
            if not criteria:
                field["all_of"].fail("needs at least one criterion")
        else:
            body = {k: v for k, v in data.items() if k not in ("reason", "min_age")}
            criteria = (self.criterion(Field(field.file, body, field.path), keys),)
        return Exclusion(reason, criteria, min_age)

    def criteria(self, field: Field, keys: Keys) -> tuple[Criterion, ...]:
        return tuple(self.criterion(item, keys) for item in field.items())

    def criterion(self, field: Field, keys: Keys) -> Criterion:
        if "member_date" in field.mapping().value:
            field.mapping(("member_date", "window"))
            column = field["member_date"].choice(self.member_dates)
            return MemberDateCriterion(keys(), column, _window(field["window"]))
        return _event(field, keys)

    def numerator(
        self, field: Field, keys: Keys
    ) -> tuple[tuple[EventCriterion, ...], ResultRule | None]:
        """Either any_of event criteria or one result rule."""
        data = field.mapping(("any_of", "result")).value
        if ("any_of" in data) == ("result" in data):
            field.fail("needs exactly one of any_of (events) or result (a value test)")
        if "result" in data:
            return (), _result(field["result"], keys())
        events = tuple(_event(item, keys) for item in field["any_of"].items())
        if not events:
            field["any_of"].fail("needs at least one event criterion")
        return events, None


def _population(field: Field, defaults: dict[str, Any]) -> dict[str, Any]:
    """Age band, anchor, sex and enrollment rule, the measure's own over the defaults."""
    own: dict[str, Any] = field.parsed(lambda f: dict(f.mapping(POPULATION_FIELDS).value), {})
    population = Field(field.file, {**defaults.get("population", {}), **own}, field.path)
    age = population["age"].mapping(("min", "max"))
    min_age = age["min"].integer(low=0, high=150)
    sexes = population["sex"].parsed(lambda f: tuple(_choices(f, SEXES)), None)
    enrollment = population["enrollment"].mapping(("max_gaps", "max_gap_days"))
    return {
        "min_age": min_age,
        "max_age": age["max"].integer(low=min_age, high=150),
        "age_at": population["age_at"].parsed(_month_day, (12, 31)),
        "sexes": sexes,
        "max_gaps": enrollment["max_gaps"].integer(low=0, high=366),
        "max_gap_days": enrollment["max_gap_days"].integer(low=0, high=366),
    }


def _choices(field: Field, allowed: tuple[str, ...]) -> list[str]:
    items = field.items() if isinstance(field.value, list) else [field]
    return [item.choice(allowed) for item in items]


def _event(field: Field, keys: Keys) -> EventCriterion:
    field.mapping(EVENT_FIELDS)
    value_sets = field["value_sets"].texts()
    if not value_sets:
        field["value_sets"].fail("needs at least one value set")
    places = field["place_of_service"].parsed(
        lambda f: tuple(normalize_place_of_service(p) for p in f.texts()), None
    )
    return EventCriterion(
        key=keys(),
        value_sets=value_sets,
        window=_window(field["window"]),
        place_of_service=places,
        min_count=field["min_count"].integer(1, low=1, high=366),
    )


def _result(field: Field, key: str) -> ResultRule:
    field.mapping(("window", "aggregate", "missing_counts_as", "components"))
    components = field["components"].mapping()
    if not components.keys():
        components.fail("needs at least one component")
    return ResultRule(
        key=key,
        window=_window(field["window"]),
        aggregate=field["aggregate"].choice(AGGREGATES, "min"),
        missing=field["missing_counts_as"].boolean(False),
        components=tuple(_component(name, item) for name, item in components.entries()),
    )


def _component(name: str, field: Field) -> ResultComponent:
    field.mapping(("observations", "coded", "test"))
    test = field["test"].mapping(("operator", "value"))
    items: list[Field] = field["coded"].parsed(Field.items, [])
    coded = tuple(_coded(item) for item in items)
    observed: tuple[str, ...] = field["observations"].parsed(Field.texts, ())
    if not observed and not coded:
        field.fail("needs observations (value sets of numeric results), coded ranges, or both")
    return ResultComponent(
        name=name,
        observation_value_sets=observed,
        coded=coded,
        operator=test["operator"].choice(OPERATORS),
        threshold=test["value"].number(),
    )


def _coded(field: Field) -> CodedRange:
    field.mapping(("value_set", "low", "high"))
    if not field["low"].is_given and not field["high"].is_given:
        field.fail("needs low, high or both")
    low = field["low"].number(float("-inf"))
    high = field["high"].number(float("inf"))
    if low > high:
        field.fail(f"has low {low} above high {high}")
    return CodedRange(field["value_set"].text(), low, high)


def _window(field: Field) -> Window:
    if field.value == MY_ALIAS:
        return Window(Anchor(0, 1, 1), Anchor(0, 12, 31))
    if not isinstance(field.value, dict) or not field.value:
        field.fail(f"must be {{from: <anchor>, to: <anchor>}} or {MY_ALIAS!r}, not {field.value!r}")
    field.mapping(("from", "to"))
    start = field["from"].parsed(_anchor, None)
    end = field["to"].parsed(_anchor, None)
    if start and end and start.resolve(2001) > end.resolve(2001):
        field.fail("has from after to")
    return Window(start, end)


def _anchor(field: Field) -> Anchor:
    field.mapping(("years", "month", "day"))
    years = field["years"].integer(0, low=-100, high=100)
    return Anchor(years, *_month_day(field))


def _month_day(field: Field) -> tuple[int, int]:
    field.mapping(("years", "month", "day"))
    month = field["month"].integer(low=1, high=12)
    # February 29 is refused: the anchor must exist in every year.
    day = field["day"].integer(low=1, high=calendar.monthrange(2001, month)[1])
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
