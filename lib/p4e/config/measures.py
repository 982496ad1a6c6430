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

    @property
    def ids(self) -> tuple[str, ...]:
        return tuple(m.id for m in self.measures)

    @property
    def directions(self) -> dict[str, str]:
        """Measure id -> 'higher' | 'lower' (which way is better)."""
        return {m.id: m.direction for m in self.measures}

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


_Keyed = TypeVar("_Keyed", EventCriterion, MemberDateCriterion)


def _unique(items: Iterable[_Keyed]) -> list[_Keyed]:
    """The items with distinct keys, first of each key kept (shared exclusions repeat)."""
    seen: dict[str, _Keyed] = {}
    for item in items:
        seen.setdefault(item.key, item)
    return list(seen.values())
