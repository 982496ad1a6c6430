"""Subgroup rates, equity gaps, bootstrap precision, suppression and eligibility.

Pipeline: member rows -> distinct profiles per (group, year) in Spark (`profiles`) ->
multinomial bootstrap per group-year on the executors (`bootstrap`, over the numpy
`resample` and the Arrow `cells`) -> gold tables (`outputs`, with `suppression`) ->
baseline eligibility (`eligibility`). `run(ctx)` is the step.
"""

from p4e.stats.step import compute_cells, run, stats_tables

__all__ = ["compute_cells", "run", "stats_tables"]
