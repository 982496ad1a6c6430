"""What the reports call things: measure names, subgroup labels, the reference, in order."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from p4e.config import Config
from p4e.demographics.dimension import load_dimension
from p4e.measures import load_definitions
from p4e.stats.settings import load_settings

DIGITS = 4  # figures in the reports' embedded data: proportions to 4 decimals (0.01 point)


@dataclass(frozen=True)
class Labels:
    """Measures in configuration order with their names; the dimension's categories; the
    fixed reference category and the publication threshold of the stats settings."""

    measures: tuple[str, ...]
    measure_names: dict[str, str]
    dimension_label: str
    codes: tuple[str, ...]
    category_labels: dict[str, str]
    reference: str
    threshold: float

    def measure_name(self, measure: str) -> str:
        return self.measure_names.get(measure, measure)

    def category(self, code: str) -> str:
        return self.category_labels.get(code, code)


def load_labels(cfg: Config) -> Labels:
    """Labels of the configured measures and dimension."""
    definitions = load_definitions(cfg.conf_path("measures"), cfg.conf_path("valuesets"))
    settings = load_settings(cfg)
    dimension = load_dimension(cfg, settings.dimension)
    return Labels(
        measures=tuple(m.id for m in definitions.measures),
        measure_names={m.id: m.name for m in definitions.measures},
        dimension_label=dimension.label,
        codes=tuple(c.code for c in dimension.categories),
        category_labels={c.code: c.label for c in dimension.categories},
        reference=settings.reference_category,
        threshold=settings.min_cell_publish,
    )


def rounded(value: float | None) -> float | None:
    """A proportion rounded to `DIGITS` decimals; None for missing or NaN."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return None
    return round(float(value), DIGITS)


def gap_figures(gap: float | None, low: float | None, high: float | None) -> dict[str, Any]:
    """A gap and its CI bounds, rounded, under the keys the reports' data use."""
    return {"gap": rounded(gap), "ci_low": rounded(low), "ci_high": rounded(high)}
