"""`Settings`: the whole configuration of a run, typed and validated, built once.

`load_settings(cfg)` reads `conf/p4e.yaml` (as `Config`) and every file it points
to: the measure definitions and value sets, the dimension, the contracts. A run
builds it once (`RunContext.create`); every step reads what it needs from it.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from p4e.config.codes import CodeSystems, parse_codes
from p4e.config.contracts import Contract, load_contracts
from p4e.config.dimension import Dimension, load_dimension
from p4e.config.document import Config
from p4e.config.fields import Field
from p4e.config.measure_files import load_definitions
from p4e.config.measures import Definitions
from p4e.config.sections import (
    GenerateSettings,
    InputSettings,
    PlanSettings,
    SparkSettings,
    ValidationSettings,
    parse_generate,
    parse_inputs,
    parse_plan,
    parse_spark,
    parse_storage,
    parse_validation,
)
from p4e.config.stats import StatsSettings, parse_stats
from p4e.tables.inputs import INPUTS, PERSON_DATES

TOP_LEVEL = (
    "lakehouse",
    "storage",
    "spark",
    "dimension",
    "years",
    "generate",
    "paths",
    "plan",
    "inputs",
    "codes",
    "validation",
    "stats",
    "spec_versions",
)
SPEC_VERSIONS = ("by_year", "restated")
PATHS = ("measures", "valuesets", "dimensions", "contracts")


@dataclass(frozen=True)
class Settings:
    """Every setting of a run.

    Attributes:
        config: the main configuration document (locations, digests).
        years: the measurement years, ascending.
        engine: `storage.engine` (auto | spark | rs).
        spark: the local session's settings.
        generate: the generator's defaults.
        plan: the plan's own payers and its attribution rule.
        inputs: where the input tables are read and how their values are spelled.
        codes: the code namespaces and their spellings.
        validation: the plausible value ranges.
        measures: the measure definitions and their value sets.
        dimension: the equity dimension.
        stats: rates, bootstrap and eligibility settings.
        contracts: the contracts, by id.
        spec_versions: by_year (each year with the measure versions effective in it) or
            restated (every year with the versions of the last year, so baselines are
            measured as the performance year is).
    """

    config: Config
    years: tuple[int, ...]
    engine: str
    spark: SparkSettings
    generate: GenerateSettings
    plan: PlanSettings
    inputs: InputSettings
    codes: CodeSystems
    validation: ValidationSettings
    measures: Definitions
    dimension: Dimension
    stats: StatsSettings
    contracts: Mapping[str, Contract]
    spec_versions: str = "by_year"

    def spec_year(self, year: int) -> int:
        """The year whose measure versions compute `year`."""
        return year if self.spec_versions == "by_year" else max(self.years)


def load_settings(cfg: Config) -> Settings:
    """Read and validate the configuration and every file it names.

    Raises:
        ConfigError: a file is missing or a value is invalid, naming file and field.
    """
    doc = Field(cfg.file, cfg.data).mapping(TOP_LEVEL)
    doc["paths"].mapping(PATHS)
    codes = parse_codes(doc["codes"])
    measures = load_definitions(
        cfg.conf_path("measures"),
        cfg.conf_path("valuesets"),
        codes=codes,
        member_dates=PERSON_DATES,
    )
    dimension = load_dimension(cfg.conf_path("dimensions"), doc["dimension"].text())
    return Settings(
        config=cfg,
        years=doc["years"].years(),
        engine=parse_storage(doc["storage"]),
        spark=parse_spark(doc["spark"]),
        generate=doc["generate"].parsed(parse_generate, GenerateSettings()),
        plan=parse_plan(doc["plan"]),
        inputs=parse_inputs(doc["inputs"], INPUTS),
        codes=codes,
        validation=parse_validation(doc["validation"]),
        measures=measures,
        dimension=dimension,
        stats=parse_stats(
            doc["stats"],
            dimension=dimension.name,
            reference=dimension.reference_category,
            codes=dimension.codes,
            directions=measures.directions,
        ),
        contracts=load_contracts(
            cfg.conf_path("contracts"), {**{m: m for m in measures.ids}, **measures.aliases}
        ),
        spec_versions=doc["spec_versions"].choice(SPEC_VERSIONS, "by_year"),
    )
