"""Value sets: the code lists measures refer to, from `conf/valuesets/*.csv`.

Every CSV has the header `value_set,code_system,code,description`. The shipped
files hold a public, representative subset; a licensed file with the same
columns can be dropped beside them. Codes are compared normalised (trimmed,
upper case, dots removed) on both the value-set side and the data side.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass
from pathlib import Path

from pyspark.sql import Column, DataFrame, SparkSession
from pyspark.sql import functions as F

from p4e.errors import ConfigError
from p4e.tables import CODE_SYSTEMS

HEADER = ["value_set", "code_system", "code", "description"]


@dataclass(frozen=True)
class ValueSets:
    """Rows (value_set, code_system, code) as written in the CSV files (not normalised)."""

    rows: tuple[tuple[str, str, str], ...]

    @property
    def names(self) -> set[str]:
        return {row[0] for row in self.rows}


def load_valuesets(folder: Path) -> ValueSets:
    """Read and check every `*.csv` in `folder`.

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
                if system.upper() not in CODE_SYSTEMS:
                    raise ConfigError(
                        f"{file} line {line}: code_system {system!r} is not one of "
                        f"{', '.join(CODE_SYSTEMS)}"
                    )
                rows.add((name, system.upper(), code))
    return ValueSets(tuple(sorted(rows)))


def normalize_code(col: Column) -> Column:
    """Code as compared: trimmed, dots removed, upper case ('z00.121 ' -> 'Z00121')."""
    return F.upper(F.translate(F.trim(col), ".", ""))


def normalize_system(col: Column) -> Column:
    """Code system as compared: trimmed, upper case."""
    return F.upper(F.trim(col))


def valueset_frame(spark: SparkSession, valuesets: ValueSets, names: set[str]) -> DataFrame:
    """The rows of the value sets in `names` as a small DataFrame with normalised codes.

    Returns:
        Columns value_set, code_system, code (normalised). Two spellings of one code
        ('Z00.121', 'Z00121') give two equal rows; the duplicate events they match
        change no criterion (latest date, distinct dates, lowest reading).
    """
    rows = [row for row in valuesets.rows if row[0] in names]
    df = spark.createDataFrame(rows, "value_set STRING, code_system STRING, code STRING")
    return df.select(
        "value_set",
        normalize_system(F.col("code_system")).alias("code_system"),
        normalize_code(F.col("code")).alias("code"),
    )
