"""The interface both Delta engines implement, and the checks they share."""

from __future__ import annotations

import abc
import os
from collections.abc import Mapping, Sequence
from typing import Any, Literal

from pyspark.sql import DataFrame, SparkSession
from pyspark.sql.types import ArrayType, DataType, MapType, StructField, StructType

from p4e.errors import SchemaMismatch, TableNotFound

WriteMode = Literal["append", "overwrite"]
# Partition column -> the value (or a list of values) whose partitions a write replaces.
PartitionValues = Mapping[str, Any]


def replaced_values(replace_where: PartitionValues) -> dict[str, list[Any]]:
    """`replace_where` with every value as a non-empty list (a scalar becomes [scalar]).

    Raises:
        ValueError: a column is given an empty list of values.
    """
    values = {
        k: list(v) if isinstance(v, list | tuple | set | frozenset) else [v]
        for k, v in replace_where.items()
    }
    empty = sorted(k for k, v in values.items() if not v)
    if empty:
        raise ValueError(f"replace_where gives no value for {empty}")
    return values


class DeltaStore(abc.ABC):
    """Read and write Delta tables by path.

    `write` with mode "overwrite" and `replace_where={"year": 2023}` atomically
    replaces exactly that partition and leaves the rest of the table as it was;
    `replace_where={"year": [2023, 2024]}` replaces both in one commit.
    """

    name: str

    def __init__(self, spark: SparkSession) -> None:
        self.spark = spark

    @abc.abstractmethod
    def exists(self, path: str) -> bool:
        """True when a Delta table exists at `path`."""

    @abc.abstractmethod
    def version(self, path: str) -> int:
        """Latest committed version of the table at `path`."""

    @abc.abstractmethod
    def history(self, path: str) -> list[dict[str, Any]]:
        """Commit history, newest first, as dicts with at least `version` and `operation`."""

    @abc.abstractmethod
    def read(self, path: str, version: int | None = None) -> DataFrame:
        """The table at `path` (latest, or as of `version`) as a DataFrame."""

    @abc.abstractmethod
    def schema(self, path: str) -> tuple[StructType, list[str]]:
        """Spark schema and partition columns of the table at `path`."""

    @abc.abstractmethod
    def add_columns(self, path: str, columns: StructType) -> None:
        """Add nullable `columns` to the existing table at `path` (older rows read null)."""

    @abc.abstractmethod
    def _write(
        self,
        df: DataFrame,
        path: str,
        mode: WriteMode,
        partition_by: list[str],
        replace_where: dict[str, list[Any]] | None,
    ) -> int:
        """Commit `df`; `replace_where` as normalised by `replaced_values`."""

    def write(
        self,
        df: DataFrame,
        path: str,
        mode: WriteMode = "append",
        *,
        partition_by: Sequence[str] | None = None,
        replace_where: PartitionValues | None = None,
    ) -> int:
        """Write `df` to the table at `path` in one atomic commit; create it if absent.

        Args:
            df: rows to write; must match the existing table's schema exactly.
            path: table location.
            mode: "append" adds rows; "overwrite" replaces the table, or with
                `replace_where` only the rows of that partition.
            partition_by: partition columns (for a new table; checked otherwise).
            replace_where: partition column -> value, or list of values, identifying the
                partitions to replace.

        Returns:
            The committed table version.

        Raises:
            SchemaMismatch: columns or types differ from the table's, naming them.
            ConcurrentWriteConflict: another writer committed a conflicting change first.
        """
        if mode not in ("append", "overwrite"):
            raise ValueError(f"write mode must be 'append' or 'overwrite', not {mode!r}")
        partition_by = list(partition_by or [])
        if replace_where is not None:
            if mode != "overwrite":
                raise ValueError("replace_where needs mode='overwrite'")
            unknown = set(replace_where) - set(partition_by or self._partitions_or_empty(path))
            if unknown:
                raise ValueError(
                    f"replace_where may name partition columns only; {sorted(unknown)} are not"
                )
            replace_where = replaced_values(replace_where)
        if self.exists(path):
            table_schema, table_partitions = self.schema(path)
            check_schema(df.schema, table_schema, path)
            if partition_by and partition_by != table_partitions:
                raise SchemaMismatch(
                    f"{path} is partitioned by {table_partitions}; the write asks for "
                    f"{partition_by}"
                )
            partition_by = table_partitions
        return self._write(df, path, mode, partition_by, replace_where)

    def _partitions_or_empty(self, path: str) -> list[str]:
        return self.schema(path)[1] if self.exists(path) else []

    def require(self, path: str) -> None:
        """Raise TableNotFound with the location when no table exists at `path`."""
        if not self.exists(path):
            raise TableNotFound(f"no Delta table at {path}")


def check_schema(actual: StructType, expected: StructType, path: str) -> None:
    """Raise SchemaMismatch naming every missing, extra or retyped column (nullability,
    nested too, is not part of a type: engines store it differently)."""
    have = {f.name: _nullable(f.dataType) for f in actual.fields}
    want = {f.name: _nullable(f.dataType) for f in expected.fields}
    problems = [f"missing column {c!r}" for c in want if c not in have]
    problems += [f"unexpected column {c!r}" for c in have if c not in want]
    problems += [
        f"column {c!r} is {have[c].simpleString()}, table has {want[c].simpleString()}"
        for c in want
        if c in have and have[c] != want[c]
    ]
    if problems:
        raise SchemaMismatch(f"cannot write to {path}: " + "; ".join(problems))


def _nullable(data_type: DataType) -> DataType:
    """`data_type` with every nested field, element and value nullable."""
    if isinstance(data_type, StructType):
        return StructType(
            [StructField(f.name, _nullable(f.dataType), True) for f in data_type.fields]
        )
    if isinstance(data_type, ArrayType):
        return ArrayType(_nullable(data_type.elementType), True)
    if isinstance(data_type, MapType):
        return MapType(_nullable(data_type.keyType), _nullable(data_type.valueType), True)
    return data_type


def location_uri(path: str) -> str:
    """The URI delta-rs and pyarrow open for a table or folder: a local path made
    absolute, `s3a://` spelled `s3://` (pyarrow knows only that; Spark's S3A serves both)."""
    if path.startswith("s3a://"):
        return "s3://" + path.removeprefix("s3a://")
    return path if "://" in path else os.path.abspath(path)
