"""The bootstrap on Spark: `estimate_group` per (group, year) on the executors, in parallel,
then the plan-wide group per year (`p4e.stats.cells`)."""

from __future__ import annotations

from collections.abc import Sequence

import pyarrow as pa
from pyspark.sql import DataFrame

from p4e.config.stats import StatsSettings
from p4e.stats.cells import CELLS_SCHEMA, estimate_group, plan_wide_cells


def bootstrap_cells(
    profiles: DataFrame,
    measures: Sequence[str],
    categories: Sequence[str],
    settings: StatsSettings,
) -> DataFrame:
    """Run `estimate_group` on every (group_id, year) of `profiles`, in parallel, then
    `plan_wide_cells` per year for the plan-wide group ALL_GROUPS.

    Args:
        profiles: output of `p4e.stats.profiles.profiles`.
        measures: measure ids in outcome-column order.
        categories: category codes in probability-column order.
        settings: the stats settings.

    Returns:
        Cell rows in `CELLS_SCHEMA`.
    """
    measures, categories = list(measures), list(categories)

    def per_group(table: pa.Table) -> pa.Table:
        return estimate_group(table, measures, categories, settings)

    def per_year(table: pa.Table) -> pa.Table:
        return plan_wide_cells(table, measures, categories, settings)

    groups = profiles.groupBy("group_id", "year").applyInArrow(per_group, schema=CELLS_SCHEMA)
    return groups.groupBy("year").applyInArrow(per_year, schema=CELLS_SCHEMA)
