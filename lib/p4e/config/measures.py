"""Measure definitions as typed values: windows, criteria, exclusions, result rules, measures.

`p4e.config.measure_files` reads them from `conf/measures/*.yaml`; the measure
engine (`p4e.measures`) evaluates them. Windows are relative to the measurement
year (MY): the anchor `{years: -9, month: 1, day: 1}` is Jan 1 of MY-9.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import TypeVar

from p4e.config.valuesets import ValueSets


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
        on_claim_with: when set, only events whose medical claim also carries a code of
            one of these value sets (a diagnosis on a visit's claim) count.
        modifiers: when set, only claim lines with one of these HCPCS modifiers count.
        specialties: when set, only claims rendered by a practitioner of one of these
            specialties (lower case) count.
    """

    key: str
    value_sets: tuple[str, ...]
    window: Window
    place_of_service: tuple[str, ...] | None = None
    min_count: int = 1
    on_claim_with: tuple[str, ...] | None = None
    modifiers: tuple[str, ...] | None = None
    specialties: tuple[str, ...] | None = None

    @property
    def reads(self) -> tuple[str, ...]:
        """Every value set the criterion reads (its own and those of `on_claim_with`)."""
        return self.value_sets + (self.on_claim_with or ())


@dataclass(frozen=True)
class MemberDateCriterion:
    """Met when the member's date column (e.g. death_date) falls in `window`."""

    key: str
    column: str
    window: Window


@dataclass(frozen=True)
class Combined:
    """Met when all (`all_of`) or any (`any_of`) of its criteria are met."""

    key: str
    mode: str
    criteria: tuple[Criterion, ...]

    def leaves(self) -> list[EventCriterion | MemberDateCriterion]:
        return leaves_of(self.criteria)


Criterion = EventCriterion | MemberDateCriterion | Combined


def leaves_of(criteria: Iterable[Criterion]) -> list[EventCriterion | MemberDateCriterion]:
    """The event and member-date criteria of `criteria`, inside combined ones too."""
    found: list[EventCriterion | MemberDateCriterion] = []
    for c in criteria:
        found += c.leaves() if isinstance(c, Combined) else [c]
    return found


@dataclass(frozen=True)
class EnrollmentPeriod:
    """A stretch of the continuous-enrollment period and the gaps allowed in it."""

    window: Window
    max_gaps: int
    max_gap_days: int


@dataclass(frozen=True)
class Enrollment:
    """Continuous enrollment in the plan's own coverage: every period within its allowed
    gaps, and covered on the anchor date (when set)."""

    periods: tuple[EnrollmentPeriod, ...]
    anchor: Anchor | None

    def checks(self, year: int) -> list[tuple[date, date, int, int]]:
        """(start, end, max_gaps, max_gap_days) per period and the anchor (a day, no gap)."""
        found = []
        for p in self.periods:
            start, end = p.window.bounds(year)
            assert start is not None and end is not None  # parsed closed
            found.append((start, end, p.max_gaps, p.max_gap_days))
        if self.anchor is not None:
            day = self.anchor.resolve(year)
            found.append((day, day, 0, 0))
        return found


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
    """Representative reading: the most recent date in `window` with a reading (a test
    with or without a result); per component the lowest (`aggregate: min`) or highest
    resulted reading of that date; met when every component has one and passes, else
    `missing` (no reading, or that date lacks a component or a result).

    Attributes:
        after_denominator: the date must be on or after the day the denominator was met
            (CBP: the second hypertension diagnosis); else there is no reading.
        excluded_places: readings of claims (or of observations whose `encounter_id` is
            the claim) at these places of service do not count;
        excluded_settings: nor those of claims carrying a code of these value sets
            (acute inpatient, emergency department).
    """

    key: str
    window: Window
    aggregate: str
    missing: bool
    components: tuple[ResultComponent, ...]
    after_denominator: bool = False
    excluded_places: tuple[str, ...] = ()
    excluded_settings: tuple[str, ...] = ()

    @property
    def value_sets(self) -> set[str]:
        """Names of every value set the components read."""
        return {
            name
            for comp in self.components
            for name in (*comp.observation_value_sets, *(r.value_set for r in comp.coded))
        } | set(self.excluded_settings)


@dataclass(frozen=True)
class Measure:
    """One version of a quality measure, as configured for the years it is effective.

    Attributes:
        version: the version's label (recorded on every row it computes).
        years: first and last measurement year the version is effective (None: open).
        aliases: former ids contracts may still use (HBD for GSD).
    """

    id: str
    name: str
    direction: str
    min_age: int
    max_age: int
    age_at: tuple[int, int]
    sexes: tuple[str, ...] | None
    enrollment: Enrollment
    denominator: tuple[Criterion, ...]
    exclusions: tuple[Exclusion, ...]
    numerator_events: tuple[EventCriterion, ...]
    numerator_result: ResultRule | None
    source: Path
    version: str = "base"
    years: tuple[int | None, int | None] = (None, None)
    aliases: tuple[str, ...] = ()

    def is_effective(self, year: int) -> bool:
        first, last = self.years
        return (first is None or year >= first) and (last is None or year <= last)

    @property
    def value_sets(self) -> set[str]:
        """Names of every value set the measure refers to."""
        used = {vs for c in self.leaves if isinstance(c, EventCriterion) for vs in c.reads}
        return used | (self.numerator_result.value_sets if self.numerator_result else set())

    @property
    def criteria(self) -> list[Criterion]:
        """Every top-level criterion of the measure (denominator, exclusions, numerator)."""
        found = list(self.denominator) + list(self.numerator_events)
        for exclusion in self.exclusions:
            found += exclusion.criteria
        return found

    @property
    def leaves(self) -> list[EventCriterion | MemberDateCriterion]:
        """Every event and member-date criterion, inside combined ones too."""
        return leaves_of(self.criteria)


@dataclass(frozen=True)
class Definitions:
    """The measures of one measurement year (in file-name order) and their value sets.

    Attributes:
        versions: every version of every measure; `measures` holds the latest version
            of each, `for_year` those effective in a year.
    """

    measures: tuple[Measure, ...]
    valuesets: ValueSets
    versions: tuple[Measure, ...] = ()

    @property
    def ids(self) -> tuple[str, ...]:
        return tuple(m.id for m in self.measures)

    @property
    def aliases(self) -> dict[str, str]:
        """Former id -> measure id."""
        return {alias: m.id for m in self.measures for alias in m.aliases}

    @property
    def directions(self) -> dict[str, str]:
        """Measure id -> 'higher' | 'lower' (which way is better)."""
        return {m.id: m.direction for m in self.measures}

    def for_year(self, year: int) -> Definitions:
        """The definitions of the versions effective in `year` (measures without one that
        year are left out)."""
        chosen = tuple(
            next(v for v in self.versions if v.id == m.id and v.is_effective(year))
            for m in self.measures
            if any(v.id == m.id and v.is_effective(year) for v in self.versions)
        )
        return Definitions(chosen, self.valuesets, self.versions)

    def enrollment_start(self, year: int) -> date:
        """The earliest day a continuous-enrollment period of `year` reads."""
        return min(
            start for m in self.for_year(year).measures for start, *_ in m.enrollment.checks(year)
        )

    def event_criteria(self) -> list[EventCriterion]:
        return _unique(c for m in self.measures for c in m.leaves if isinstance(c, EventCriterion))

    def date_criteria(self) -> list[MemberDateCriterion]:
        return _unique(
            c for m in self.measures for c in m.leaves if isinstance(c, MemberDateCriterion)
        )

    def combined_criteria(self) -> list[Combined]:
        """Combined criteria, inner ones before those holding them."""

        def nested(c: Criterion) -> list[Combined]:
            if not isinstance(c, Combined):
                return []
            return [inner for child in c.criteria for inner in nested(child)] + [c]

        return _unique(n for m in self.measures for c in m.criteria for n in nested(c))

    def result_rules(self) -> list[ResultRule]:
        return [m.numerator_result for m in self.measures if m.numerator_result is not None]


_Keyed = TypeVar("_Keyed", EventCriterion, MemberDateCriterion, Combined)


def _unique(items: Iterable[_Keyed]) -> list[_Keyed]:
    """The items with distinct keys, first of each key kept (shared exclusions repeat)."""
    seen: dict[str, _Keyed] = {}
    for item in items:
        seen.setdefault(item.key, item)
    return list(seen.values())
