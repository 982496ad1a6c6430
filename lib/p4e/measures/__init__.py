"""The quality measure engine (SPEC §3): measures defined by configuration.

Each measure is a YAML file in `conf/measures/` and its codes are value sets in
`conf/valuesets/*.csv`; adding a measure needs no code. `member_measures`
evaluates them for one year; `run` is the pipeline step writing
gold/member_measures.
"""

from p4e.measures.definitions import Definitions, Measure, load_definitions
from p4e.measures.engine import OUTPUT_SCHEMA, member_measures, run

__all__ = ["OUTPUT_SCHEMA", "Definitions", "Measure", "load_definitions", "member_measures", "run"]
