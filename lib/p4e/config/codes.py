"""Code namespaces: the spellings of code types, in the data and in value sets, resolved once.

`conf/p4e.yaml` `codes` maps each namespace to the spellings that name it. A
spelling is compared without case and without anything but letters and digits,
so `icd-10-cm`, `ICD10CM` and `ICD-10-CM` are one spelling; the namespace's own
name is one of its spellings. CPT, CPT II and HCPCS share the namespace
PROCEDURE: feeds file CPT under `hcpcs` and CPT II under CPT (SPEC §3).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass

from pyspark.sql import Column
from pyspark.sql import functions as F

from p4e.config.fields import Field

_NOT_ALNUM = re.compile(r"[^A-Z0-9]")


def spelling(text: str) -> str:
    """A code type as compared: upper case, letters and digits only ('icd-10-cm' -> 'ICD10CM')."""
    return _NOT_ALNUM.sub("", text.upper())


@dataclass(frozen=True)
class CodeSystems:
    """Spelling -> namespace."""

    namespaces: Mapping[str, str]

    @property
    def names(self) -> set[str]:
        return set(self.namespaces.values())

    def namespace_of(self, text: str) -> str | None:
        """The namespace a code type names, or None when no namespace lists it."""
        return self.namespaces.get(spelling(text))

    def namespace_column(self, code_type: Column) -> Column:
        """The namespace of a code-type column (null when unknown or null)."""
        spelled = F.regexp_replace(F.upper(code_type), "[^A-Z0-9]", "")
        table = F.create_map(*[F.lit(x) for pair in sorted(self.namespaces.items()) for x in pair])
        return F.try_element_at(table, spelled)


def parse_codes(section: Field) -> CodeSystems:
    namespaces: dict[str, str] = {}
    for name, aliases in section.mapping().entries():
        if spelling(name) != name:
            section[name].fail("must be upper-case letters and digits (a namespace name)")
        for alias in (name, *(item.text() for item in aliases.items())):
            key = spelling(alias)
            if namespaces.get(key, name) != name:
                aliases.fail(f"spelling {alias!r} already names namespace {namespaces[key]}")
            namespaces[key] = name
    return CodeSystems(namespaces)
