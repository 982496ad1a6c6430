"""silver/members and silver/member_groups: membership derived once per run from the inputs."""

from __future__ import annotations

from p4e.tables.model import Column, Table, columns

MEMBER = Column("member_id", "STRING", "the person (input person_id)", nullable=False)

MEMBERS = Table(
    "silver",
    "members",
    "one row per person of eligibility",
    "Who each member is, from their latest eligibility span (`p4e.membership.persons`).",
    columns(
        MEMBER,
        ("birth_date", "DATE", "date of birth"),
        ("sex", "STRING", "F, M or U (unknown), from gender"),
        ("first_name", "STRING", "first name"),
        ("surname", "STRING", "surname (last_name)"),
        ("zip", "STRING", "5-digit ZIP code, null when unknown"),
        ("tract", "STRING", "11-digit census tract GEOID, null when unknown"),
        ("death_date", "DATE", "latest death date recorded on any span, null when alive"),
    ),
)
MEMBER_GROUPS = Table(
    "silver",
    "member_groups",
    "one row per (member, year) with an attributed month",
    "The provider group of each member and year, picked from the monthly attribution by "
    "plan.attribution (`p4e.membership.attribution`).",
    columns(
        MEMBER,
        ("group_id", "STRING", "attributed provider group"),
        ("year", "INT", "year"),
    ),
)
