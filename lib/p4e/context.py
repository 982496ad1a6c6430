"""What every pipeline step receives: session, settings, store, and lineage.

Steps read and write tables through `RunContext.read` / `RunContext.write`, which
resolve lakehouse locations and record the exact Delta versions read and
written, so later steps and the run log (`gold/job_runs`) know which table
versions a result came from.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from pyspark.sql import DataFrame, SparkSession

from p4e.config import Config, Settings
from p4e.config.sections import InputLocation
from p4e.storage import DeltaStore, WriteMode, open_store
from p4e.tables import Table


@dataclass
class RunContext:
    """Session, settings and Delta store of one run, plus its lineage record.

    Attributes:
        years: the measurement years the year-by-year steps (demographics, measures,
            rates) compute; the configured years, or the nightly's changed ones.
        versions_read: "layer/table" -> version read (the first read of a run pins it).
        versions_written: "layer/table" -> last version this run committed.
    """

    spark: SparkSession
    settings: Settings
    store: DeltaStore
    run_id: str = "adhoc"
    years: list[int] = field(default_factory=list)
    versions_read: dict[str, int] = field(default_factory=dict)
    versions_written: dict[str, int] = field(default_factory=dict)

    @classmethod
    def create(cls, spark: SparkSession, settings: Settings, run_id: str = "adhoc") -> RunContext:
        """The context of a run with `settings` (`p4e.config.load_settings`, read once)."""
        ctx = cls(spark, settings, open_store(spark, settings.engine), run_id)
        ctx.years = ctx.configured_years
        return ctx

    @property
    def cfg(self) -> Config:
        return self.settings.config

    @property
    def configured_years(self) -> list[int]:
        """Every measurement year of the configuration (settlement and reports cover all)."""
        return list(self.settings.years)

    def path(self, table: Table) -> str:
        """The Delta location of `table` (an input's as `inputs.<table>.delta` names it)."""
        location = self._input_location(table)
        if location is not None and location.kind == "delta" and location.where:
            return location.where
        return self.cfg.table_path(table.layer, table.name)

    def exists(self, table: Table) -> bool:
        return self.store.exists(self.path(table))

    def read(self, table: Table) -> DataFrame:
        """The table as this run sees it: the version written by this run, else the
        version first read by this run, else the latest (then pinned). An input that
        `inputs` places in a catalog table or a Parquet folder is read as it is (no
        version to pin)."""
        location = self._input_location(table)
        if location is not None and location.kind == "table":
            return self.spark.read.table(str(location.where))
        if location is not None and location.kind == "parquet":
            return self.spark.read.parquet(str(location.where))
        path = self.path(table)
        self.store.require(path)
        version = self.versions_written.get(table.key, self.versions_read.get(table.key))
        if version is None:
            version = self.store.version(path)
        self.versions_read.setdefault(table.key, version)
        return self.store.read(path, version)

    def _input_location(self, table: Table) -> InputLocation | None:
        if table.layer != "raw":
            return None
        return self.settings.inputs.locations.get(table.name)

    def write(
        self,
        table: Table,
        df: DataFrame,
        mode: WriteMode = "overwrite",
        *,
        replace_where: Mapping[str, Any] | None = None,
    ) -> int:
        """Commit `df`, conformed to the table's declared schema, and record the version.

        Raises:
            SchemaMismatch: `df` lacks a declared column or types one differently.
        """
        version = self.store.write(
            table.conform(df),
            self.path(table),
            mode,
            partition_by=table.partition_by,
            replace_where=replace_where,
        )
        self.versions_written[table.key] = version
        return version
