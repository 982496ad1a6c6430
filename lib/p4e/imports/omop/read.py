"""Reading an OMOP CDM v5.4 extract: its tables typed by their declaration, never by inference."""

from __future__ import annotations

from pyspark.errors import AnalysisException
from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F

from p4e.errors import P4eError
from p4e.tables.model import Table
from p4e.tables.omop import OMOP, REQUIRED_TABLES


def read_omop(spark: SparkSession, source: str) -> dict[str, DataFrame]:
    """The OMOP tables of folder `source`, with the columns and types `OMOP` declares.

    A table is `<source>/<table>.csv` (comma-separated, with a header), a Parquet
    folder `<source>/<table>/` or `<source>/<table>.parquet`, tried in that order.
    CSV values are read as text and cast to the declared types by column name, so
    types never depend on inference and extra columns (the rest of OMOP) are ignored;
    a declared optional column the file lacks reads as nulls.

    Args:
        spark: the session.
        source: folder (or URI readable by Spark) holding the tables.

    Returns:
        Table name -> DataFrame: the required tables (`REQUIRED_TABLES`) and those of
        death, location, care_site and provider that are present.

    Raises:
        P4eError: a required table is missing, or a table lacks a required column.
    """
    tables: dict[str, DataFrame] = {}
    for name, table in OMOP.items():
        df = _read_table(spark, source.rstrip("/"), name)
        if df is None:
            if name in REQUIRED_TABLES:
                raise P4eError(
                    f"OMOP table {name!r} not found in {source}: expected {name}.csv, "
                    f"a Parquet folder {name}/ or {name}.parquet there"
                )
            continue
        tables[name] = _typed(df, table, source)
    return tables


def _read_table(spark: SparkSession, source: str, name: str) -> DataFrame | None:
    """The first of `<name>.csv`, `<name>/`, `<name>.parquet` under `source`; None if none."""
    base = f"{source}/{name}"
    for path, fmt in ((f"{base}.csv", "csv"), (base, "parquet"), (f"{base}.parquet", "parquet")):
        reader = spark.read.format(fmt)
        if fmt == "csv":
            # Text columns (no inference); RFC 4180 quotes; malformed lines fail the read.
            reader = reader.options(header="true", inferSchema="false", escape='"', mode="FAILFAST")
        try:
            df = reader.load(path)
            df.columns  # noqa: B018 - Spark Connect resolves the path only on analysis
        except AnalysisException as exc:
            if exc.getCondition() == "PATH_NOT_FOUND":
                continue
            raise
        return df
    return None


def _typed(df: DataFrame, table: Table, source: str) -> DataFrame:
    """`df` with exactly the declared columns, cast by name; absent optional ones null."""
    have = {c.lower(): c for c in df.columns}
    missing = [c.name for c in table.columns if c.required and c.name not in have]
    if missing:
        raise P4eError(
            f"OMOP table {table.name!r} in {source} lacks column(s) {', '.join(missing)}"
        )
    return df.select(
        *[
            (F.col(have[c.name]) if c.name in have else F.lit(None))
            .cast(c.field.dataType)
            .alias(c.name)
            for c in table.columns
        ]
    )
