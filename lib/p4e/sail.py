"""Work-arounds for limitations of Sail (pysail 0.7, a Spark Connect server in Rust).

Each is a plain Spark expression that means the same on every engine; each limitation
is reproduced in docs/engines.md so it can be reported upstream and the work-around
removed when Sail lifts it.
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import reduce

from pyspark.sql import Column, DataFrame
from pyspark.sql import functions as F


def window_order(struct: Column, fields: tuple[str, ...]) -> list[Column]:
    """The fields of `struct`, to order a window by: the struct's own order.

    Sail cannot order a window by a struct ("Cannot run range queries on datatype:
    Struct(...)")."""
    return [struct[name] for name in fields]


def typed_struct(struct: Column, ddl: str) -> Column:
    """`struct` cast to the DDL type `ddl`, whose fields are all nullable.

    Sail panics on an array of structs whose fields differ only in nullability ("Arrays
    with inconsistent types passed to MutableArrayData"); Spark widens them itself."""
    return struct.cast(ddl)


def union_by_name(frames: Sequence[DataFrame]) -> DataFrame:
    """The rows of `frames` by column name; a column some frames lack is a typed null
    there (what Spark's `unionByName(allowMissingColumns=True)` does).

    Sail fills such columns with untyped (void) nulls."""
    schemas = [df.schema for df in frames]  # one schema request per frame (over Connect)
    types: dict[str, str] = {}
    for schema in schemas:
        for f in schema.fields:
            types.setdefault(f.name, f.dataType.simpleString())
    filled = [
        df.select(
            *[
                F.col(name) if name in schema.names else F.lit(None).cast(kind).alias(name)
                for name, kind in types.items()
            ]
        )
        for df, schema in zip(frames, schemas, strict=True)
    ]
    return reduce(DataFrame.unionByName, filled)
