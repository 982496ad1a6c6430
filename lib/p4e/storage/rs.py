"""The `rs` engine: Spark writes Parquet in parallel, delta-rs commits it atomically.

Write: the executors write the DataFrame as Parquet into a fresh folder inside
the table (`<table>/data-<uuid>/<part>=<value>/...`); the driver lists the
files, reads their footers for row counts, and commits them as add actions in
one delta-rs transaction. Nothing member-level passes through the driver. If
the Spark job or the commit fails, the folder is deleted and no version is
committed, so readers keep seeing the previous one.

Read: the snapshot's add actions give the files and their partition values;
Spark reads the files of each partition and restores the partition columns.
"""

from __future__ import annotations

import contextlib
import json
import time
import uuid
from dataclasses import dataclass, field
from functools import reduce
from typing import Any
from urllib.parse import unquote

import pyarrow as pa
import pyarrow.parquet as pq
from deltalake import CommitProperties, DeltaTable
from deltalake import Schema as DeltaSchema
from deltalake.exceptions import CommitFailedError, TableNotFoundError
from deltalake.transaction import AddAction, RemoveAction, create_table_with_add_actions
from pyarrow import fs as pafs
from pyspark.sql import DataFrame
from pyspark.sql import functions as F
from pyspark.sql.pandas.types import from_arrow_schema, to_arrow_schema
from pyspark.sql.types import StructType

from p4e.errors import ConcurrentWriteConflict, P4eError, TableNotFound
from p4e.storage.base import (
    DeltaStore,
    PartitionValues,
    WriteMode,
    location_uri,
    replaced_values,
)

HIVE_NULL = "__HIVE_DEFAULT_PARTITION__"
WRITE_ID_KEY = "p4e.write_id"
UNSUPPORTED_READER_FEATURES = {"deletionVectors", "columnMapping"}


class RsStore(DeltaStore):
    """Delta tables through delta-rs, with Spark doing the Parquet I/O."""

    name = "rs"

    def exists(self, path: str) -> bool:
        return DeltaTable.is_deltatable(location_uri(path))

    def _table(self, path: str, version: int | None = None) -> DeltaTable:
        try:
            return DeltaTable(location_uri(path), version=version)
        except TableNotFoundError as exc:
            raise TableNotFound(f"no Delta table at {path}") from exc

    def version(self, path: str) -> int:
        return self._table(path).version()

    def history(self, path: str) -> list[dict[str, Any]]:
        return self._table(path).history()

    def schema(self, path: str) -> tuple[StructType, list[str]]:
        table = self._table(path)
        return _spark_schema(table), list(table.metadata().partition_columns)

    def read(self, path: str, version: int | None = None) -> DataFrame:
        table = self._table(path, version)
        features = set(table.protocol().reader_features or []) & UNSUPPORTED_READER_FEATURES
        if features:
            raise P4eError(
                f"{path} uses Delta reader features {sorted(features)} that the rs engine "
                "does not read; use storage.engine 'spark'"
            )
        schema = _spark_schema(table)
        partitions = list(table.metadata().partition_columns)
        data_schema = StructType([f for f in schema.fields if f.name not in partitions])
        root = table.table_uri.rstrip("/")
        actions = pa.table(table.get_add_actions(flatten=True)).to_pylist()
        if not actions:
            return self.spark.createDataFrame([], schema)
        groups: dict[tuple[Any, ...], list[str]] = {}
        for action in actions:
            key = tuple(action[f"partition.{p}"] for p in partitions)
            groups.setdefault(key, []).append(f"{root}/{action['path']}")
        parts = [
            self.spark.read.schema(data_schema)
            .parquet(*files)
            .select(
                *[F.col(f.name) for f in data_schema.fields],
                *[
                    F.lit(value).cast(schema[p].dataType).alias(p)
                    for p, value in zip(partitions, key, strict=True)
                ],
            )
            for key, files in sorted(groups.items(), key=lambda kv: repr(kv[0]))
        ]
        return reduce(DataFrame.unionByName, parts).select(*schema.names)

    def add_columns(self, path: str, columns: StructType) -> None:
        self._table(path).alter.add_columns(list(_nullable_delta_schema(columns).fields))

    def _write(
        self,
        df: DataFrame,
        path: str,
        mode: WriteMode,
        partition_by: list[str],
        replace_where: dict[str, list[Any]] | None,
    ) -> int:
        staged = self.stage(df, path, partition_by, replace_where)
        return self.commit(staged, mode, replace_where)

    def stage(
        self,
        df: DataFrame,
        path: str,
        partition_by: list[str],
        replace_where: PartitionValues | None = None,
    ) -> StagedWrite:
        """Pin the table's current snapshot, then let Spark write the Parquet files."""
        replace_where = replaced_values(replace_where) if replace_where else None
        root = location_uri(path)
        snapshot = DeltaTable(root) if DeltaTable.is_deltatable(root) else None
        filesystem, fs_root = pafs.FileSystem.from_uri(root)
        staged = StagedWrite(
            path,
            root,
            f"data-{uuid.uuid4().hex}",
            filesystem,
            fs_root,
            snapshot,
            snapshot.schema() if snapshot is not None else _nullable_delta_schema(df.schema),
            partition_by,
        )
        try:
            df.write.mode("error").partitionBy(*partition_by).parquet(f"{root}/{staged.folder}")
            staged.actions = _add_actions(
                filesystem, staged.local_folder, staged.folder, partition_by
            )
            _check_partition_values(staged.actions, replace_where, path)
        except BaseException:
            staged.discard()
            raise
        return staged

    def commit(
        self,
        staged: StagedWrite,
        mode: WriteMode,
        replace_where: PartitionValues | None = None,
    ) -> int:
        """Commit staged files in one transaction against the pinned snapshot.

        Raises:
            ConcurrentWriteConflict: a conflicting commit landed after the snapshot.
        """
        try:
            if staged.snapshot is None:
                create_table_with_add_actions(
                    staged.root,
                    staged.schema,
                    staged.actions,
                    mode="error",
                    partition_by=staged.partition_by or None,
                    commit_properties=staged.commit_properties,
                )
            else:
                _refuse_stale_overwrite(staged, mode)
                filters = (
                    [
                        (k, "in", [_partition_string(v) for v in values])
                        for k, values in replaced_values(replace_where).items()
                    ]
                    if replace_where
                    else None
                )
                actions: list[AddAction | RemoveAction] = list(staged.actions)
                staged.snapshot.create_write_transaction(
                    actions,
                    mode,
                    staged.schema,
                    staged.partition_by or None,
                    filters,
                    commit_properties=staged.commit_properties,
                )
        except BaseException as exc:
            staged.discard()
            lost_create_race = staged.snapshot is None and "already exists" in str(exc)
            if isinstance(exc, CommitFailedError) or lost_create_race:
                raise ConcurrentWriteConflict(
                    f"another writer committed to {staged.path} first; nothing was written ({exc})"
                ) from exc
            raise
        return staged.committed_version()


@dataclass
class StagedWrite:
    """Parquet files written for one commit that has not happened yet."""

    path: str
    root: str
    folder: str
    filesystem: pafs.FileSystem
    fs_root: str
    snapshot: DeltaTable | None
    schema: DeltaSchema
    partition_by: list[str]
    actions: list[AddAction] = field(default_factory=list)

    @property
    def commit_properties(self) -> CommitProperties:
        """Tags the commit with the staging folder so its version can be found again."""
        return CommitProperties(custom_metadata={WRITE_ID_KEY: self.folder})

    def committed_version(self) -> int:
        """The version of this write's commit (exact even if others committed since)."""
        for entry in DeltaTable(self.root).history(limit=50):
            if entry.get(WRITE_ID_KEY) == self.folder:
                return int(entry["version"])
        raise P4eError(f"commit of {self.folder} not found in the history of {self.path}")

    @property
    def local_folder(self) -> str:
        return f"{self.fs_root}/{self.folder}"

    def discard(self) -> None:
        """Delete the staged files (best effort; uncommitted files are harmless anyway)."""
        with contextlib.suppress(OSError):
            self.filesystem.delete_dir(self.local_folder)


def _nullable_delta_schema(schema: StructType) -> DeltaSchema:
    """Delta schema of a new table: the DataFrame's columns, all nullable as Delta expects."""
    arrow = to_arrow_schema(schema, timezone="UTC")
    return DeltaSchema.from_arrow(pa.schema([f.with_nullable(True) for f in arrow]))


def _spark_schema(table: DeltaTable) -> StructType:
    return from_arrow_schema(pa.schema(table.schema().to_arrow()))


def _add_actions(
    filesystem: pafs.FileSystem, staging: str, folder: str, partition_by: list[str]
) -> list[AddAction]:
    """One add action per Parquet file Spark wrote under `staging`."""
    # Sail writes no folder at all for an empty DataFrame (Spark writes an empty file).
    selector = pafs.FileSelector(staging, recursive=True, allow_not_found=True)
    infos = filesystem.get_file_info(selector)
    now_ms = int(time.time() * 1000)
    actions = []
    for info in sorted(infos, key=lambda i: i.path):
        if info.type != pafs.FileType.File or not info.base_name.endswith(".parquet"):
            continue
        relative = info.path[len(staging) :].lstrip("/")
        dirs = relative.split("/")[:-1]
        values = dict(d.split("=", 1) for d in dirs)
        partition_values = {
            p: (None if values[p] == HIVE_NULL else unquote(values[p])) for p in partition_by
        }
        with filesystem.open_input_file(info.path) as handle:
            rows = pq.read_metadata(handle).num_rows
        actions.append(
            AddAction(
                path=f"{folder}/{relative}",
                size=info.size,
                partition_values=partition_values,
                modification_time=now_ms,
                data_change=True,
                stats=json.dumps({"numRecords": rows}),
            )
        )
    return actions


def _partition_string(value: Any) -> str | None:
    return None if value is None else str(value)


def _check_partition_values(
    actions: list[AddAction], replace_where: dict[str, list[Any]] | None, path: str
) -> None:
    """Refuse a partition overwrite whose rows fall outside the partitions it replaces."""
    if not replace_where:
        return
    want = {k: {_partition_string(v) for v in values} for k, values in replace_where.items()}
    for action in actions:
        have = {k: action.partition_values[k] for k in want}
        if any(have[k] not in allowed for k, allowed in want.items()):
            raise P4eError(
                f"cannot replace {want} in {path}: the data holds rows of partition {have}"
            )


def _refuse_stale_overwrite(staged: StagedWrite, mode: WriteMode) -> None:
    """An overwrite replaces what its snapshot saw; refuse it if others committed since.

    delta-rs lets such an overwrite succeed beside a concurrent append (both sets of
    rows survive), which is not what either writer meant.
    """
    if mode != "overwrite" or staged.snapshot is None:
        return
    latest = DeltaTable(staged.root).version()
    if latest != staged.snapshot.version():
        raise ConcurrentWriteConflict(
            f"another writer committed to {staged.path} (version {latest}) after this overwrite "
            f"read version {staged.snapshot.version()}; nothing was written"
        )
