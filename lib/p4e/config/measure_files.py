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
    Combined,
    Criterion,
    Definitions,
    Enrollment,
    EnrollmentPeriod,
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
# The sections a version may override: `population` field by field, the others whole.
VERSIONED_FIELDS = (
    "name",
    "description",
    "population",
    "denominator",
    "exclusions",
    "common_exclusions",
    "numerator",
)
MEASURE_FIELDS = ("id", "direction", "aliases", "version", "versions", *VERSIONED_FIELDS)
POPULATION_FIELDS = ("age", "age_at", "sex", "enrollment")
ENROLLMENT_FIELDS = ("periods", "max_gaps", "max_gap_days", "anchor")
EVENT_FIELDS = (
    "value_sets",
    "window",
    "place_of_service",
    "min_count",
    "on_claim_with",
    "modifiers",
    "specialties",
)
COMBINED = ("all_of", "any_of")
RESULT_FIELDS = (
    "window",
    "aggregate",
    "missing_counts_as",
    "components",
    "on_or_after",
    "exclude_settings",
)

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
    versions = tuple(
        v for path in files for v in reader.versions(Field.document(path), path, defaults, shared)
    )
    for version in versions:
        _check_value_sets(version, valuesets)
    latest = {v.id: v for v in versions}  # files in name order, versions by year
    ids = [v.id for v in versions]
    _check_aliases(list(latest.values()), common_path.parent)
    return Definitions(tuple(latest[i] for i in dict.fromkeys(ids)), valuesets, versions)


def _check_aliases(measures: list[Measure], folder: Path) -> None:
    seen = {m.id: m.id for m in measures}
    for m in measures:
        for alias in m.aliases:
            if alias in seen:
                raise ConfigError(
                    f"{m.source}: alias {alias!r} is already the id or an alias of "
                    f"{seen[alias]} in {folder}"
                )
            seen[alias] = m.id


def _keys(prefix: str) -> Keys:
    """Hands out unique, column-safe criterion keys `<prefix>__c1`, `<prefix>__c2`, ..."""
    counter = itertools.count(1)
    return lambda: f"{prefix}__c{next(counter)}"


class _Reader:
    """The parsers of one definition set (they share the member date columns)."""

    def __init__(self, member_dates: Sequence[str]) -> None:
        self.member_dates = tuple(member_dates)

    def versions(
        self, doc: Field, path: Path, defaults: dict[str, Any], shared: tuple[Exclusion, ...]
    ) -> list[Measure]:
        """The measure's versions, ordered by their first year: the file itself when it
        has no `versions`, else one per item, its sections over the file's own."""
        data = doc.mapping(MEASURE_FIELDS).value
        measure_id = str(doc["id"].text())
        if measure_id != path.stem:
            doc["id"].fail(f"is {measure_id!r} but the file is named {path.name}")
        if not measure_id.replace("_", "").isalnum():
            doc["id"].fail("may hold letters, digits and '_' only")
        items: list[Field] = doc["versions"].parsed(Field.items, [])
        if not items:
            label = doc["version"].text("base")
            return [self.measure(doc, path, defaults, shared, measure_id, label, (None, None))]
        if doc["version"].is_given:
            doc["version"].fail("must not be given beside versions (each version has its own)")
        found = []
        for index, item in enumerate(items):
            own = item.mapping(("version", "years", *VERSIONED_FIELDS)).value
            merged = {k: v for k, v in data.items() if k != "versions"}
            merged |= {k: v for k, v in own.items() if k not in ("version", "years")}
            if isinstance(data.get("population"), dict) and isinstance(own.get("population"), dict):
                merged["population"] = {**data["population"], **own["population"]}
            found.append(
                self.measure(
                    Field(item.file, merged, item.path),
                    path,
                    defaults,
                    shared,
                    measure_id,
                    item["version"].text(),
                    _years(item["years"]),
                    f"{measure_id}_v{index + 1}",
                )
            )
        _check_years(doc["versions"], found)
        return sorted(found, key=lambda m: m.years[0] or 0)

    def measure(
        self,
        doc: Field,
        path: Path,
        defaults: dict[str, Any],
        shared: tuple[Exclusion, ...],
        measure_id: str,
        label: str,
        years: tuple[int | None, int | None],
        prefix: str | None = None,
    ) -> Measure:
        keys = _keys(prefix or measure_id)
        denominator = doc["denominator"].parsed(lambda f: f.mapping(("all_of",))["all_of"], None)
        criteria = () if denominator is None else self.criteria(denominator, keys)
        exclusions = list(shared) if doc["common_exclusions"].boolean(True) else []
        exclusions += self.exclusions(doc["exclusions"], keys)
        reasons = [e.reason for e in exclusions]
        if len(set(reasons)) != len(reasons):
            doc["exclusions"].fail(f"must have unique reasons, got {reasons}")
        events, result = self.numerator(doc["numerator"], keys)
        aliases: tuple[str, ...] = doc["aliases"].parsed(Field.texts, ())
        if result is not None and result.after_denominator and not criteria:
            doc["numerator"]["result"]["on_or_after"].fail("needs a denominator")
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
            version=label,
            years=years,
            aliases=aliases,
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
        data = field.mapping().value
        if "member_date" in data:
            field.mapping(("member_date", "window"))
            column = field["member_date"].choice(self.member_dates)
            return MemberDateCriterion(keys(), column, _window(field["window"]))
        combined = [mode for mode in COMBINED if mode in data]
        if combined:
            mode = combined[0]
            field.mapping((mode,))
            children = self.criteria(field[mode], keys)
            if not children:
                field[mode].fail("needs at least one criterion")
            return Combined(keys(), mode, children)
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


def _years(field: Field) -> tuple[int | None, int | None]:
    """`{from: <first year>, to: <last year>}` of a version, either end open."""
    field.mapping(("from", "to"))
    first = field["from"].parsed(lambda f: f.integer(low=1900, high=2200), None)
    last = field["to"].parsed(lambda f: f.integer(low=1900, high=2200), None)
    if first is not None and last is not None and last < first:
        field.fail(f"has to {last} before from {first}")
    return first, last


def _check_years(field: Field, versions: list[Measure]) -> None:
    """Versions must not overlap in years."""
    spans = sorted((m.years[0] or 0, m.years[1] or 10**4, m.version) for m in versions)
    for (_, last, a), (first, _, b) in itertools.pairwise(spans):
        if first <= last:
            field.fail(f"versions {a} and {b} are both effective in {first}")


def _population(field: Field, defaults: dict[str, Any]) -> dict[str, Any]:
    """Age band, anchor, sex and enrollment rule, the measure's own over the defaults
    (the enrollment rule field by field)."""
    own: dict[str, Any] = field.parsed(lambda f: dict(f.mapping(POPULATION_FIELDS).value), {})
    base = defaults.get("population", {})
    merged = {**base, **own}
    if isinstance(own.get("enrollment"), dict) and isinstance(base.get("enrollment"), dict):
        merged["enrollment"] = {**base["enrollment"], **own["enrollment"]}
    population = Field(field.file, merged, field.path)
    age = population["age"].mapping(("min", "max"))
    min_age = age["min"].integer(low=0, high=150)
    sexes = population["sex"].parsed(lambda f: tuple(_choices(f, SEXES)), None)
    return {
        "min_age": min_age,
        "max_age": age["max"].integer(low=min_age, high=150),
        "age_at": population["age_at"].parsed(_month_day, (12, 31)),
        "sexes": sexes,
        "enrollment": _enrollment(population["enrollment"]),
    }


def _enrollment(field: Field) -> Enrollment:
    """Periods (default: the measurement year), each with the rule's gaps unless it sets
    its own, and the anchor date."""
    field.mapping(ENROLLMENT_FIELDS)
    max_gaps = field["max_gaps"].integer(low=0, high=366)
    max_gap_days = field["max_gap_days"].integer(low=0, high=366)

    def period(item: Field) -> EnrollmentPeriod:
        item.mapping(("window", "max_gaps", "max_gap_days"))
        window = _window(item["window"])
        if window.start is None or window.end is None:
            item["window"].fail("must have both ends (an enrollment period is closed)")
        return EnrollmentPeriod(
            window,
            item["max_gaps"].integer(max_gaps, low=0, high=366),
            item["max_gap_days"].integer(max_gap_days, low=0, high=366),
        )

    items: list[Field] = field["periods"].parsed(Field.items, [])
    periods = tuple(period(item) for item in items) or (
        EnrollmentPeriod(_window(Field(field.file, MY_ALIAS, field.path)), max_gaps, max_gap_days),
    )
    return Enrollment(periods, field["anchor"].parsed(_anchor, None))


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
        on_claim_with=field["on_claim_with"].parsed(Field.texts, None),
        modifiers=field["modifiers"].parsed(
            lambda f: tuple(str(m).strip().upper() for m in f.texts()), None
        ),
        specialties=field["specialties"].parsed(
            lambda f: tuple(str(m).strip().lower() for m in f.texts()), None
        ),
    )


def _result(field: Field, key: str) -> ResultRule:
    field.mapping(RESULT_FIELDS)
    components = field["components"].mapping()
    if not components.keys():
        components.fail("needs at least one component")
    settings = field["exclude_settings"]
    if settings.is_given:
        settings.mapping(("place_of_service", "value_sets"))
    return ResultRule(
        key=key,
        window=_window(field["window"]),
        aggregate=field["aggregate"].choice(AGGREGATES, "min"),
        missing=field["missing_counts_as"].boolean(False),
        components=tuple(_component(name, item) for name, item in components.entries()),
        after_denominator=field["on_or_after"].parsed(lambda f: f.choice(("denominator",)), None)
        is not None,
        excluded_places=settings["place_of_service"].parsed(
            lambda f: tuple(normalize_place_of_service(p) for p in f.texts()), ()
        ),
        excluded_settings=settings["value_sets"].parsed(Field.texts, ()),
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
