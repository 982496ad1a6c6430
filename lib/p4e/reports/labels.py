"""What the reports call things: measures, subgroups, the dimension, the CI level, in order."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from p4e.config import Settings

DIGITS = 4  # figures in the reports' embedded data: proportions to 4 decimals (0.01 point)


@dataclass(frozen=True)
class Labels:
    """Measures in configuration order with their names; the dimension's label and
    categories; the fixed reference category, the CI level and the publication threshold
    of the stats settings."""

    measures: tuple[str, ...]
    measure_names: dict[str, str]
    dimension_label: str
    codes: tuple[str, ...]
    category_labels: dict[str, str]
    reference: str
    threshold: float
    ci: str

    def measure_name(self, measure: str) -> str:
        return self.measure_names.get(measure, measure)

    def category(self, code: str) -> str:
        return self.category_labels.get(code, code)


def labels_of(settings: Settings) -> Labels:
    """Labels of the configured measures and dimension."""
    measures, dimension = settings.measures.measures, settings.dimension
    return Labels(
        measures=tuple(m.id for m in measures),
        measure_names={m.id: m.name for m in measures},
        dimension_label=dimension.label,
        codes=dimension.codes,
        category_labels={c.code: c.label for c in dimension.categories},
        reference=settings.stats.reference_category,
        threshold=settings.stats.min_cell_publish,
        ci=settings.stats.ci_label,
    )


def rounded(value: float | None) -> float | None:
    """A proportion rounded to `DIGITS` decimals; None for missing or NaN."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return None
    return round(float(value), DIGITS)


def gap_figures(gap: float | None, low: float | None, high: float | None) -> dict[str, Any]:
    """A gap and its CI bounds, rounded, under the keys the reports' data use."""
    return {"gap": rounded(gap), "ci_low": rounded(low), "ci_high": rounded(high)}


def corrected_figures(row: Any) -> dict[str, Any] | None:
    """The corrected equity gap of a summary row and its CI, where it differs from the
    weighted gap by more than the weighted CI's half-width; None elsewhere."""
    gap, low, high = row["gap"], row["ci_low"], row["ci_high"]
    corrected = row.get("gap_corrected")
    if None in (gap, low, high, corrected) or abs(corrected - gap) <= (high - low) / 2:
        return None
    return gap_figures(corrected, row.get("ci_low_corrected"), row.get("ci_high_corrected"))
