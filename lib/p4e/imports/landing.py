"""Landing input-layer tables under `<lakehouse>/raw/` (the generator and the importers)."""

from __future__ import annotations

from pyspark.sql import DataFrame
from pyspark.sql import functions as F

from p4e.config import Settings
from p4e.storage import DeltaStore
from p4e.tables import Table


def land(store: DeltaStore, settings: Settings, table: Table, df: DataFrame) -> int:
    """Cast `df` to the table's declared types (the declared columns it has: an input may
    leave optional ones out), overwrite the table, and count the rows committed."""
    fields = [f for f in table.schema() if f.name in df.columns]
    typed = df.select(*[F.col(f.name).cast(f.dataType).alias(f.name) for f in fields])
    path = settings.config.table_path(table.layer, table.name)
    store.write(typed, path, "overwrite")
    return store.read(path).count()
