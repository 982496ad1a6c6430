"""Membership from the input layer: who the members are, when the plan covers them, and
which provider group each is attributed to in a year.

`run` is the pipeline's membership step, writing silver/members and
silver/member_groups once per run for the steps after it.
"""

from p4e.membership.attribution import yearly_attribution
from p4e.membership.persons import members, spans
from p4e.membership.step import run

__all__ = ["members", "run", "spans", "yearly_attribution"]
