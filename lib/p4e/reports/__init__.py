"""Reports people read (public equity report, provider-group reports) and the data dictionary.

`run(ctx)` is the pipeline's report step (`p4e.reports.step`); `public` and `group`
turn gold rows into a report's figures and draw its page (`page`, `svg`), hiding the
cells gold flags as suppressed; `dictionary` renders every output column's meaning.
"""

from p4e.reports.step import dictionary, run

__all__ = ["dictionary", "run"]
