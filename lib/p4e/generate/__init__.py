"""Synthetic lakehouse generator (`p4e generate`): raw inputs with planted equity scenarios.

`generate_lakehouse` is the entry point; `SCENARIO_GROUPS` maps each planted
scenario to its provider group id.
"""

from p4e.generate.lakehouse import generate_lakehouse
from p4e.generate.scenarios import SCENARIO_GROUPS

__all__ = ["SCENARIO_GROUPS", "generate_lakehouse"]
