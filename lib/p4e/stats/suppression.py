"""Small-cell suppression for publication: primary and complementary, as one Spark transform.

A cell whose denominator is below the threshold is suppressed (primary). Because a
table also publishes its total, one suppressed cell could be recomputed from the
total and the other cells; so whenever anything is suppressed, further cells are
suppressed (complementary), smallest first (ties by cell name), until at least two
are and the suppressed cells together reach the threshold: their sum is then no
small cell either. If every cell is needed, every cell is suppressed.

With the cells of one table ordered by (size, name), rank r and running size S_r,
and P primary cells, cell r is suppressed iff P > 0 and the first r - 1 cells do not
already protect the table: not (r - 1 >= max(2, P) and S_r - size_r >= threshold).
"""

from __future__ import annotations

from collections.abc import Sequence

from pyspark.sql import DataFrame, Window
from pyspark.sql import functions as F

from p4e.tables.vocabulary import COMPLEMENTARY, PRIMARY


def suppression(
    df: DataFrame, tables: Sequence[str], cell: str, size: str, threshold: float
) -> DataFrame:
    """`df` with `is_suppressed` and `suppression_reason` (primary | complementary | null).

    Args:
        df: one row per cell.
        tables: columns that identify one published table (its cells are suppressed
            together).
        cell: column naming the cell inside its table (breaks ties in size).
        size: column of the cell's (weighted) denominator.
        threshold: smallest publishable denominator (stats.min_cell_publish).
    """
    table = Window.partitionBy(*tables)
    ordered = table.orderBy(F.col(size), F.col(cell))
    is_primary = F.col(size) < threshold
    primaries = F.sum(F.when(is_primary, 1).otherwise(0)).over(table)
    rank = F.row_number().over(ordered)
    before = F.sum(size).over(ordered.rowsBetween(Window.unboundedPreceding, -1))
    protected = (rank - 1 >= F.greatest(F.lit(2), primaries)) & (
        F.coalesce(before, F.lit(0.0)) >= threshold
    )
    is_suppressed = (primaries > 0) & ~protected
    return df.withColumn("is_suppressed", is_suppressed).withColumn(
        "suppression_reason",
        F.when(is_primary, F.lit(PRIMARY)).when(is_suppressed, F.lit(COMPLEMENTARY)),
    )
