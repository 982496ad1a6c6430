"""Demographic dimension of each member: reported answers, BISG imputation, completeness.

Public entry points:

- `run(ctx)`: the pipeline step (silver/member_demographics, gold/data_completeness);
- `member_demographics(...)`, `data_completeness(...)`: the two transforms;
- `bisg_probabilities(...)`: BISG over the Census 2010 tables.

The dimension itself is configuration (`p4e.config.dimension`). Bad input values are
quarantined by the validation step (`p4e.validation`), which takes the allowed codes
and sources from the dimension configuration.
"""

from p4e.demographics.bisg import bisg_probabilities, census_race_probabilities
from p4e.demographics.completeness import data_completeness
from p4e.demographics.precedence import answers_in_force, member_demographics
from p4e.demographics.step import run

__all__ = [
    "answers_in_force",
    "bisg_probabilities",
    "census_race_probabilities",
    "data_completeness",
    "member_demographics",
    "run",
]
