"""What every pipeline step receives: session, configuration, store, and lineage.

Steps read and write tables through `RunContext.read` / `RunContext.write`, which
resolve lakehouse locations and record the exact Delta versions read and
written, so later steps and the run log (`gold/job_runs`) know which table
versions a result came from.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from pyspark.sql import DataFrame, SparkSession

from p4e.config import Config
from p4e.storage import DeltaStore, WriteMode, open_store


@dataclass
class RunContext:
    """Session, configuration and Delta store of one run, plus its lineage record.

    Attributes:
        years: the measurement years the year-by-year steps (demographics, measures,
            rates) compute; the configured years, or the nightly's changed ones.
        versions_read: "layer/table" -> version read (the first read of a run pins it).
        versions_written: "layer/table" -> last version this run committed.
    """

    spark: SparkSession
    cfg: Config
    store: DeltaStore
    run_id: str = "adhoc"
    years: list[int] = field(default_factory=list)
    versions_read: dict[str, int] = field(default_factory=dict)
    versions_written: dict[str, int] = field(default_factory=dict)

    @classmethod
    def create(cls, spark: SparkSession, cfg: Config, run_id: str = "adhoc") -> RunContext:
        ctx = cls(spark, cfg, open_store(spark, cfg), run_id)
        ctx.years = ctx.configured_years
        return ctx

    @property
    def configured_years(self) -> list[int]:
        """Every measurement year of the configuration (settlement and reports cover all)."""
        return sorted(int(y) for y in self.cfg["years"])

    def path(self, layer: str, table: str) -> str:
        return self.cfg.table_path(layer, table)

    def exists(self, layer: str, table: str) -> bool:
        return self.store.exists(self.path(layer, table))

    def read(self, layer: str, table: str) -> DataFrame:
        """The table as this run sees it: the version written by this run, else the
        version first read by this run, else the latest (then pinned)."""
        key = f"{layer}/{table}"
        path = self.path(layer, table)
        self.store.require(path)
        version = self.versions_written.get(key, self.versions_read.get(key))
        if version is None:
            version = self.store.version(path)
        self.versions_read.setdefault(key, version)
        return self.store.read(path, version)

    def write(
        self,
        df: DataFrame,
        layer: str,
        table: str,
        mode: WriteMode = "overwrite",
        *,
        partition_by: Sequence[str] | None = None,
        replace_where: Mapping[str, Any] | None = None,
    ) -> int:
        """Commit `df` to the table and record the version written."""
        version = self.store.write(
            df,
            self.path(layer, table),
            mode,
            partition_by=partition_by,
            replace_where=replace_where,
        )
        self.versions_written[f"{layer}/{table}"] = version
        return version
