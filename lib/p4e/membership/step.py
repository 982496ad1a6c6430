"""The membership step: silver/members and silver/member_groups from the validated inputs."""

from __future__ import annotations

from p4e.context import RunContext
from p4e.membership.attribution import yearly_attribution
from p4e.membership.persons import members
from p4e.tables.inputs import ELIGIBILITY, PROVIDER_ATTRIBUTION
from p4e.tables.membership import MEMBER_GROUPS, MEMBERS


def run(ctx: RunContext) -> dict[str, int]:
    """Pipeline step: rewrite both tables; returns their row counts."""
    settings = ctx.settings
    eligibility = ctx.read(ELIGIBILITY.in_layer("silver"))
    ctx.write(MEMBERS, members(eligibility, settings.inputs.genders))
    attribution = ctx.read(PROVIDER_ATTRIBUTION.in_layer("silver"))
    ctx.write(MEMBER_GROUPS, yearly_attribution(attribution, settings.plan))
    return {t.name: ctx.read(t).count() for t in (MEMBERS, MEMBER_GROUPS)}
