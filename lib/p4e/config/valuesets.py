"""Value sets: the code lists measures refer to, read from `conf/valuesets/*.csv`.

Every CSV has the header `value_set,code_system,code,description`. The shipped
files hold a public, representative subset; a licensed file with the same
columns can be dropped beside them (its code-system names, e.g. `CPT-CAT-II`,
`SNOMED CT US Edition`, `UBREV`, are spellings in p4e.yaml `codes`). A code ending
in `*` lists every code it begins (`E11*`: the E11 family).
"""

from __future__ import annotations

import csv
from dataclasses import dataclass
from pathlib import Path

from p4e.config.codes import CodeSystems
from p4e.errors import ConfigError

HEADER = ["value_set", "code_system", "code", "description"]


@dataclass(frozen=True)
class ValueSets:
    """Rows (value_set, namespace, code): the code as written, its code system resolved."""

    rows: tuple[tuple[str, str, str], ...]

    @property
    def names(self) -> set[str]:
        return {row[0] for row in self.rows}


def load_valuesets(folder: Path, codes: CodeSystems) -> ValueSets:
    """Read and check every `*.csv` in `folder`.

    Args:
        folder: the value-set folder.
        codes: the code namespaces, whose spellings a row's code_system must be.

    Raises:
        ConfigError: no file, a wrong header, an empty field or an unknown code system,
            naming the file and line.
    """
    files = sorted(Path(folder).glob("*.csv"))
    if not files:
        raise ConfigError(f"no value-set files (*.csv) in {folder}")
    rows: set[tuple[str, str, str]] = set()
    for file in files:
        with file.open(newline="") as handle:
            reader = csv.reader(handle)
            header = [h.strip() for h in next(reader, [])]
            if header != HEADER:
                raise ConfigError(f"{file}: header must be {','.join(HEADER)}, got {header}")
            for line, record in enumerate(reader, start=2):
                if not any(field.strip() for field in record):
                    continue
                if len(record) != len(HEADER):
                    raise ConfigError(f"{file} line {line}: expected {len(HEADER)} fields")
                name, system, code = (field.strip() for field in record[:3])
                if not name or not code:
                    raise ConfigError(f"{file} line {line}: value_set and code must not be empty")
                namespace = codes.namespace_of(system)
                if namespace is None:
                    raise ConfigError(
                        f"{file} line {line}: code_system {system!r} is not a spelling of "
                        f"a namespace in p4e.yaml codes ({', '.join(sorted(codes.names))})"
                    )
                if "*" in code[:-1]:
                    raise ConfigError(f"{file} line {line}: '*' may only end a code (a prefix)")
                rows.add((name, namespace, code))
    return ValueSets(tuple(sorted(rows)))
