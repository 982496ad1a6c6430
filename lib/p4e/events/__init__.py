"""The normalised events: every coded event of the input layer that a value set lists.

`run` is the pipeline's events step: it builds silver/events once per run from
medical_claim, pharmacy_claim, lab_result and observation (validated, in silver),
the measure engine's only input for codes.
"""

from p4e.events.step import build_events, run

__all__ = ["build_events", "run"]
