"""Value sets: the code lists measures refer to, read from `conf/valuesets/*.csv`.

A CSV with the header `value_set,code_system,code,description` is a p4e file. The
shipped ones hold public, representative subsets of NCQA's value sets (SOURCES.md
beside them); a code ending in `*` lists every code it begins (`E11*`: the E11 family).

A CSV whose header holds the columns of NCQA's Value Set Directory (`Value Set Name`,
`Value Set OID`, `Value Set Version`, `Code`, `Definition`, `Code System`, `Code System
OID`, `Code System Version`; names compared without case, extra columns allowed) or
of its Medication List Directory (`Medication List Name` ... `Code System Version`)
is a licensed file. `ncqa_names.yaml` in the same folder maps NCQA value set names
(compared without case) to one p4e value set name or a list of them; rows of names it
does not list are ignored. A p4e value set that receives licensed rows takes them
instead of its shipped rows: the licensed list supersedes the public subset. NCQA's
code-system names (`CPT-CAT-II`, `SNOMED CT US Edition`, `UBREV`, ...) are spellings
in p4e.yaml `codes`.
"""

from __future__ import annotations

import csv
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from p4e.config.codes import CodeSystems
from p4e.config.fields import Field
from p4e.errors import ConfigError

HEADER = ["value_set", "code_system", "code", "description"]
NCQA_MAPPING = "ncqa_names.yaml"
_NCQA_COLUMNS = ("code", "code system", "code system oid", "code system version")
# The name column of each NCQA layout, and the columns the layout has besides.
NCQA_LAYOUTS = {
    "value set name": (
        "value set oid",
        "value set version",
        "definition",
        *_NCQA_COLUMNS,
    ),
    "medication list name": (
        "medication list oid",
        "medication list version",
        *_NCQA_COLUMNS,
    ),
}

Rows = dict[str, set[tuple[str, str]]]  # value set -> {(namespace, code)}


@dataclass(frozen=True)
class ValueSets:
    """Rows (value_set, namespace, code): the code as written, its code system resolved."""

    rows: tuple[tuple[str, str, str], ...]

    @property
    def names(self) -> set[str]:
        return {row[0] for row in self.rows}


def load_valuesets(folder: Path, codes: CodeSystems) -> ValueSets:
    """Read and check every `*.csv` in `folder`: p4e files, then licensed NCQA files.

    Args:
        folder: the value-set folder.
        codes: the code namespaces, whose spellings a row's code system must be.

    Raises:
        ConfigError: no file, a header of neither layout, an empty field, an unknown
            code system or a misplaced '*' (naming file and line); an NCQA file without
            a readable `ncqa_names.yaml`.
    """
    folder = Path(folder)
    files = sorted(folder.glob("*.csv"))
    if not files:
        raise ConfigError(f"no value-set files (*.csv) in {folder}")
    shipped: Rows = {}
    licensed: Rows = {}
    mapping: dict[str, tuple[str, ...]] | None = None
    for file in files:
        with file.open(newline="", encoding="utf-8-sig") as handle:
            reader = csv.reader(handle)
            header = [h.strip() for h in next(reader, [])]
            lowered = [h.lower() for h in header]
            layout = _ncqa_layout(lowered)
            if header == HEADER:
                _read_p4e(file, reader, codes, shipped)
            elif layout is not None:
                if mapping is None:
                    mapping = _read_mapping(folder / NCQA_MAPPING, file)
                columns = [lowered.index(c) for c in (layout, "code system", "code")]
                _read_ncqa(file, reader, columns, mapping, codes, licensed)
            else:
                raise ConfigError(
                    f"{file}: header must be {','.join(HEADER)} or NCQA's value-set layout "
                    f"(Value Set Name, Value Set OID, ..., Code System Version), got {header}"
                )
    merged = shipped | licensed
    return ValueSets(
        tuple(sorted((name, ns, code) for name, pairs in merged.items() for ns, code in pairs))
    )


def _ncqa_layout(header: list[str]) -> str | None:
    """The name column of the NCQA layout a (lower-case) header has, if any."""
    for name, others in NCQA_LAYOUTS.items():
        if {name, *others} <= set(header):
            return name
    return None


def _records(reader: Iterator[list[str]]) -> Iterator[tuple[int, list[str]]]:
    """(line, fields) of every non-blank record."""
    for line, record in enumerate(reader, start=2):
        if any(field.strip() for field in record):
            yield line, record


def _read_p4e(file: Path, reader: Iterator[list[str]], codes: CodeSystems, rows: Rows) -> None:
    for line, record in _records(reader):
        if len(record) != len(HEADER):
            raise ConfigError(f"{file} line {line}: expected {len(HEADER)} fields")
        name, system, code = (field.strip() for field in record[:3])
        if not name:
            raise ConfigError(f"{file} line {line}: value_set and code must not be empty")
        rows.setdefault(name, set()).add(_coded(file, line, system, code, codes))


def _read_ncqa(
    file: Path,
    reader: Iterator[list[str]],
    columns: list[int],
    mapping: dict[str, tuple[str, ...]],
    codes: CodeSystems,
    rows: Rows,
) -> None:
    """Rows of the mapped NCQA value sets, under their p4e names."""
    for line, record in _records(reader):
        name, system, code = (record[i].strip() if i < len(record) else "" for i in columns)
        targets = mapping.get(name.casefold())
        if targets is None:
            continue
        coded = _coded(file, line, system, code, codes)
        for target in targets:
            rows.setdefault(target, set()).add(coded)


def _coded(file: Path, line: int, system: str, code: str, codes: CodeSystems) -> tuple[str, str]:
    """(namespace, code) of a row, checked."""
    if not code:
        raise ConfigError(f"{file} line {line}: value_set and code must not be empty")
    namespace = codes.namespace_of(system)
    if namespace is None:
        raise ConfigError(
            f"{file} line {line}: code_system {system!r} is not a spelling of "
            f"a namespace in p4e.yaml codes ({', '.join(sorted(codes.names))})"
        )
    if "*" in code[:-1]:
        raise ConfigError(f"{file} line {line}: '*' may only end a code (a prefix)")
    return namespace, code


def _read_mapping(path: Path, licensed: Path) -> dict[str, tuple[str, ...]]:
    """NCQA value set name (case-folded) -> p4e value set names, from `ncqa_names.yaml`."""
    if not path.is_file():
        raise ConfigError(f"{licensed} is an NCQA value-set file, but {path} is missing")
    mapping: dict[str, tuple[str, ...]] = {}
    for ncqa, field in Field.document(path).entries():
        key = ncqa.strip().casefold()
        if key in mapping:
            field.fail("names an NCQA value set already mapped (names are compared without case)")
        if isinstance(field.value, list):
            targets = tuple(item.text().strip() for item in field.items(non_empty=True))
        else:
            targets = (field.text().strip(),)
        mapping[key] = targets
    return mapping
