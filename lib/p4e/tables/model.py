"""How a table is declared: its columns (name, Spark SQL type, meaning), grain and partitions.

Every table p4e reads or writes is one `Table` in this package; its schema, its
partitioning and the data dictionary's description of each column come from
that one declaration.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Sequence
from dataclasses import dataclass

from pyspark.sql import DataFrame
from pyspark.sql import types as T

from p4e.errors import SchemaMismatch

_PRIMITIVES: dict[str, T.DataType] = {
    "STRING": T.StringType(),
    "BOOLEAN": T.BooleanType(),
    "TINYINT": T.ByteType(),
    "INT": T.IntegerType(),
    "BIGINT": T.LongType(),
    "DOUBLE": T.DoubleType(),
    "DATE": T.DateType(),
    "TIMESTAMP": T.TimestampType(),
}


def spark_type(kind: str) -> T.DataType:
    """The Spark type of a DDL type name, without a Spark session.

    Types: STRING, BOOLEAN, TINYINT, INT, BIGINT, DOUBLE, DATE, TIMESTAMP,
    DECIMAL(p,s), and ARRAY<T> / MAP<K,V> / STRUCT<name:T,...> of those.

    Raises:
        ValueError: an unsupported type name.
    """
    kind = kind.strip()
    upper = kind.upper()
    if upper in _PRIMITIVES:
        return _PRIMITIVES[upper]
    if match := re.fullmatch(r"DECIMAL\((\d+),\s*(\d+)\)", upper):
        return T.DecimalType(int(match[1]), int(match[2]))
    if upper.startswith("ARRAY<") and upper.endswith(">"):
        return T.ArrayType(spark_type(kind[6:-1]))
    if upper.startswith("MAP<") and upper.endswith(">"):
        key, value = _split_top(kind[4:-1])
        return T.MapType(spark_type(key), spark_type(value))
    if upper.startswith("STRUCT<") and upper.endswith(">"):
        fields = (part.split(":", 1) for part in _split_top(kind[7:-1]))
        return T.StructType([T.StructField(n.strip(), spark_type(t)) for n, t in fields])
    raise ValueError(f"unsupported type in a table declaration: {kind!r}")


def _split_top(text: str) -> list[str]:
    """Split on the commas outside angle brackets and parentheses."""
    parts, depth, start = [], 0, 0
    for i, char in enumerate(text):
        depth += (char in "<(") - (char in ">)")
        if char == "," and depth == 0:
            parts.append(text[start:i])
            start = i + 1
    return [*parts, text[start:]]


@dataclass(frozen=True)
class Column:
    """One column: name, Spark SQL type, meaning; `nullable=False` for required values.

    `required=False` marks an input column a feed may leave out (it reads as nulls).
    """

    name: str
    type: str
    doc: str
    nullable: bool = True
    required: bool = True

    @property
    def field(self) -> T.StructField:
        return T.StructField(self.name, spark_type(self.type), self.nullable)


@dataclass(frozen=True)
class Table:
    """A table of the lakehouse.

    Attributes:
        layer: raw, silver or gold.
        name: folder name inside the layer.
        grain: what one row is.
        purpose: what the table is for.
        columns: the columns, in order.
        partition_by: partition columns.
        family: a column family named `<prefix>*` (one column per category of the
            dimension, e.g. `p_*`): its columns follow `columns`, typed and described
            like the family; `{}` in the family's doc stands for the name's rest.
    """

    layer: str
    name: str
    grain: str
    purpose: str
    columns: tuple[Column, ...]
    partition_by: tuple[str, ...] = ()
    family: Column | None = None

    @property
    def key(self) -> str:
        """ "layer/name", as the run log and the data dictionary name the table."""
        return f"{self.layer}/{self.name}"

    @property
    def names(self) -> list[str]:
        return [c.name for c in self.columns]

    def schema(self, members: Sequence[str] = ()) -> T.StructType:
        """The Spark schema; `members` are the suffixes of the family's columns."""
        fields = [c.field for c in self.columns]
        if self.family is not None:
            prefix = self.family.name.rstrip("*")
            kind = spark_type(self.family.type)
            fields += [T.StructField(prefix + m, kind) for m in members]
        return T.StructType(fields)

    def doc(self, column: str) -> str | None:
        """The meaning of `column`, or None when the table does not declare it."""
        for c in self.columns:
            if c.name == column:
                return c.doc
        prefix = self.family.name.rstrip("*") if self.family else None
        if prefix and column.startswith(prefix):
            return self.family.doc.format(column[len(prefix) :]) if self.family else None
        return None

    def family_members(self, columns: Sequence[str]) -> list[str]:
        """Suffixes of the family columns among `columns`, in their order."""
        if self.family is None:
            return []
        prefix = self.family.name.rstrip("*")
        return [c[len(prefix) :] for c in columns if c.startswith(prefix)]

    def conform(self, df: DataFrame) -> DataFrame:
        """`df` with exactly this table's columns in order (family columns as they come).

        Types are compared as Spark SQL types (nullability is the writer's).

        Raises:
            SchemaMismatch: a column is missing or has another type, naming each.
        """
        expected = self.schema(self.family_members(df.columns))
        have = {f.name: f.dataType.simpleString() for f in df.schema.fields}
        problems = [
            f"column {f.name!r} is missing"
            if f.name not in have
            else f"column {f.name!r} is {have[f.name]}, declared {f.dataType.simpleString()}"
            for f in expected.fields
            if have.get(f.name) != f.dataType.simpleString()
        ]
        if problems:
            raise SchemaMismatch(f"{self.key}: " + "; ".join(problems))
        return df.select(*expected.names)

    def in_layer(self, layer: str, name: str | None = None) -> Table:
        """The same table in another layer (validated inputs: raw -> silver), or renamed."""
        return dataclasses.replace(self, layer=layer, name=name or self.name)


def columns(*specs: tuple[str, str, str] | Column) -> tuple[Column, ...]:
    """Columns from (name, type, doc) triples (or ready Column values)."""
    return tuple(s if isinstance(s, Column) else Column(*s) for s in specs)


def optional(name: str, kind: str, doc: str) -> Column:
    """A column an input may leave out (it reads as nulls)."""
    return Column(name, kind, doc, required=False)
