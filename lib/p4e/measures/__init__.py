"""The quality measure engine: measures defined by configuration.

Each measure is a YAML file in `conf/measures/` (read by `p4e.config.measure_files`)
and its codes are value sets in `conf/valuesets/*.csv`; adding a measure needs no
code. `member_measures` evaluates them for one year; `run` is the pipeline step
writing gold/member_measures.
"""

from p4e.measures.engine import member_measures, run

__all__ = ["member_measures", "run"]
