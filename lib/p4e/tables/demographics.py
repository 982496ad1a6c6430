"""silver/member_demographics and gold/data_completeness: each member's answer, and its source."""

from __future__ import annotations

from p4e.tables.model import Column, Table, columns

MEMBER_DEMOGRAPHICS = Table(
    "silver",
    "member_demographics",
    "one row per (member, year, dimension)",
    "The member's category of the dimension, where it came from, and the probability "
    "of each category used to count the member fractionally in rates.",
    columns(
        ("member_id", "STRING", "member id"),
        ("year", "INT", "measurement year"),
        ("dimension", "STRING", "dimension name (conf/dimensions/<name>.yaml)"),
        (
            "category",
            "STRING",
            "the code of the answer in force (a category or the declined "
            "code); null when nothing was recorded",
        ),
        ("source", "STRING", "self_reported | provider_reported | imputed | declined | unknown"),
        (
            "answer_source",
            "STRING",
            "who gave the answer in force: self_reported | "
            "provider_reported (null when nothing was recorded)",
        ),
        (
            "imputation_model",
            "STRING",
            "bifsg | bisg: the model whose probabilities the member got (BIFSG where the "
            "first name is on the first-name list); null when they are not imputed",
        ),
    ),
    partition_by=("year",),
    family=Column(
        "p_*",
        "DOUBLE",
        "probability that the member's category is `{}` (1.0 on the reported category; "
        "BIFSG/BISG probabilities when imputed)",
    ),
)

DATA_COMPLETENESS = Table(
    "gold",
    "data_completeness",
    "one row per (provider group, year, dimension)",
    "Where the attributed members' answers came from.",
    columns(
        ("group_id", "STRING", "provider group, UNATTRIBUTED or ALL_GROUPS"),
        ("year", "INT", "year"),
        ("dimension", "STRING", "dimension name"),
        ("members", "BIGINT", "attributed members"),
        ("n_self_reported", "BIGINT", "members whose answer in force is a self-reported category"),
        ("n_declined", "BIGINT", "members whose answer in force is a decline"),
        (
            "n_declined_by_member",
            "BIGINT",
            "of those, members who declined themselves (a self-reported decline)",
        ),
        ("n_provider_reported", "BIGINT", "members whose answer came from the provider only"),
        ("n_imputed", "BIGINT", "members imputed by BISG with no reported answer"),
        ("n_unknown", "BIGINT", "members with no answer and no imputation"),
        (
            "share_self_reported",
            "DOUBLE",
            "(n_self_reported + n_declined_by_member) / members: a decline the member gave "
            "is an answer",
        ),
        ("share_provider_reported", "DOUBLE", "n_provider_reported / members"),
        ("share_imputed", "DOUBLE", "n_imputed / members"),
        ("share_unknown", "DOUBLE", "n_unknown / members"),
        (
            "suppressed_sources",
            "ARRAY<STRING>",
            "sources (self_reported, provider_reported, "
            "imputed, unknown) whose count and share a publication must blank: fewer than "
            "stats.min_cell_publish members, or complementary (p4e.stats.suppression)",
        ),
    ),
    partition_by=("year",),
)
