"""The one reader of configuration values: typed access that names file and field in errors.

Every configuration file (conf/p4e.yaml, measures, dimensions, contracts) is read
through `Field`: `Field.document(path)["stats"]["replicates"].integer(low=2)`.
An error reads `<file>: <field path> <what is wrong>`, e.g.
`conf/p4e.yaml: stats.replicates must be an integer >= 2, not 'many'`, and a key a
mapping does not know is refused in every file.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any, NoReturn, TypeVar

import yaml

from p4e.errors import ConfigError

T = TypeVar("T")
_MISSING: Any = object()
REQUIRED: Any = object()  # the default of a value that must be given


class Field:
    """A value at one position of a configuration file.

    Attributes:
        file: the file the value comes from (named in every error).
        value: the value (a missing key reads as absent; YAML null counts as absent).
        path: the dotted field path, e.g. `payout.tiers[1].share`.
    """

    def __init__(self, file: Path | str, value: Any, path: str = "") -> None:
        self.file = file
        self.value = value
        self.path = path

    @classmethod
    def document(cls, file: Path) -> Field:
        """The top-level mapping of a YAML file.

        Raises:
            ConfigError: the file cannot be read, is not YAML, or is not a mapping.
        """
        try:
            data = yaml.safe_load(Path(file).read_text())
        except (OSError, yaml.YAMLError) as exc:
            raise ConfigError(f"cannot read {file}: {exc}") from exc
        if not isinstance(data, dict):
            raise ConfigError(f"{file} must hold a mapping at the top level")
        return cls(file, data)

    @property
    def is_given(self) -> bool:
        return self.value is not _MISSING and self.value is not None

    def error(self, message: str) -> ConfigError:
        where = f"{self.file}: {self.path}" if self.path else f"{self.file}:"
        return ConfigError(f"{where} {message}")

    def fail(self, message: str) -> NoReturn:
        raise self.error(message)

    def __getitem__(self, key: str | int) -> Field:
        if isinstance(key, int):
            value = self.value[key] if isinstance(self.value, list) else _MISSING
            return Field(self.file, value, f"{self.path}[{key}]")
        value = self.value.get(key, _MISSING) if isinstance(self.value, Mapping) else _MISSING
        return Field(self.file, value, f"{self.path}.{key}" if self.path else key)

    def mapping(self, allowed: Iterable[str] | None = None) -> Field:
        """This field, checked to be a mapping whose keys are all in `allowed` (if given)."""
        if not self.is_given:
            self.fail("is required")
        if not isinstance(self.value, Mapping):
            self.fail(f"must be a mapping, not {self._shown()}")
        if allowed is not None:
            known = sorted(allowed)
            unknown = sorted(str(k) for k in self.value if k not in known)
            if unknown:
                self[unknown[0]].fail(f"is not a known field; known: {', '.join(known)}")
        return self

    def keys(self) -> list[str]:
        return [str(k) for k in self.mapping().value]

    def entries(self) -> list[tuple[str, Field]]:
        """(key, field) of every entry of a mapping, in file order."""
        return [(key, self[key]) for key in self.keys()]

    def items(self, *, non_empty: bool = False) -> list[Field]:
        """The fields of a list (`non_empty`: an empty list is refused)."""
        if not self.is_given:
            self.fail("is required")
        if not isinstance(self.value, list):
            self.fail(f"must be a list, not {self._shown()}")
        if non_empty and not self.value:
            self.fail("must be a non-empty list")
        return [self[i] for i in range(len(self.value))]

    def text(self, default: object = REQUIRED) -> str:
        value = self._value(default)
        if not isinstance(value, str) or not value.strip():
            self.fail(f"must be a non-empty string, not {value!r}")
        return value

    def texts(self) -> tuple[str, ...]:
        """A string or a list of strings (a single value counts as a one-item list)."""
        value = self._value(REQUIRED)
        return tuple(str(v) for v in (value if isinstance(value, list | tuple) else [value]))

    def choice(self, choices: Iterable[str], default: object = REQUIRED) -> str:
        value = self._value(default)
        allowed = tuple(choices)
        if not isinstance(value, str) or value not in allowed:
            self.fail(f"must be one of {', '.join(allowed)}, not {value!r}")
        return value

    def boolean(self, default: object = REQUIRED) -> bool:
        value = self._value(default)
        if not isinstance(value, bool):
            self.fail(f"must be true or false, not {value!r}")
        return value

    def integer(
        self, default: object = REQUIRED, *, low: int | None = None, high: int | None = None
    ) -> int:
        value = self._value(default)
        if isinstance(value, bool) or not isinstance(value, int):
            self.fail(f"must be an integer{_bounds(low, high)}, not {value!r}")
        self._check_range(value, low, high, "an integer")
        return value

    def number(
        self, default: object = REQUIRED, *, low: float | None = None, high: float | None = None
    ) -> float:
        value = self._value(default)
        if isinstance(value, bool) or not isinstance(value, int | float):
            self.fail(f"must be a number{_bounds(low, high)}, not {value!r}")
        self._check_range(value, low, high, "a number")
        return float(value)

    def decimal(
        self,
        default: object = REQUIRED,
        *,
        low: Decimal | None = None,
        high: Decimal | None = None,
    ) -> Decimal:
        """A number read exactly, from its YAML text (0.1 is Decimal('0.1'))."""
        value = self._value(default)
        try:
            if isinstance(value, bool):
                raise InvalidOperation
            number = Decimal(str(value))
        except InvalidOperation:
            self.fail(f"must be a number{_bounds(low, high)}, not {value!r}")
        if not number.is_finite():
            self.fail(f"must be a finite number, not {value!r}")
        self._check_range(number, low, high, "a number")
        return number

    def years(self) -> tuple[int, ...]:
        """A non-empty list of distinct integer years, sorted."""
        values = [item.integer() for item in self.items(non_empty=True)]
        if len(set(values)) != len(values):
            self.fail(f"repeats a year: {values!r}")
        return tuple(sorted(values))

    def parsed(self, parse: Callable[[Field], T], default: T) -> T:
        """`parse(self)` when the field is given, else `default`."""
        return parse(self) if self.is_given else default

    def _value(self, default: object) -> object:
        """The value, or the default of an absent one (an error when it is required).

        A default is checked like a given value, so it must be one of the type's values.
        """
        if self.is_given:
            return self.value
        if default is REQUIRED:
            self.fail("is required")
        return default

    def _check_range(self, value: Any, low: object, high: object, kind: str) -> None:
        if (low is not None and value < low) or (high is not None and value > high):
            self.fail(f"must be {kind}{_bounds(low, high)}, not {value!r}")

    def _shown(self) -> str:
        return "nothing" if not self.is_given else repr(self.value)


def _bounds(low: Any, high: Any) -> str:
    if low is not None and high is not None:
        return f" between {low} and {high}"
    if low is not None:
        return f" >= {low}"
    if high is not None:
        return f" <= {high}"
    return ""


Reader = Callable[[Field], Any]


def settings_of(
    cls: Callable[..., T],
    field: Field,
    readers: Mapping[str, Reader | tuple[str, Reader]],
    *,
    also: Iterable[str] = (),
    **fixed: Any,
) -> T:
    """`cls(**fixed, **values)` from the keys of a mapping, each read by its reader.

    Keys absent from the file are left out, so the defaults of `cls` are the only
    defaults. A reader given as (attribute, reader) fills another attribute name.

    Args:
        cls: the settings class.
        field: the mapping.
        readers: YAML key -> reader, or (attribute, reader).
        also: further keys the mapping may hold (read by the caller into `fixed`).
        fixed: attributes given by the caller.

    Raises:
        ConfigError: a key no reader or `also` knows, or a value its reader refuses.
    """
    field.mapping((*readers, *also))
    values = dict(fixed)
    for key, reader in readers.items():
        name, read = reader if isinstance(reader, tuple) else (key, reader)
        if field[key].is_given:
            values[name] = read(field[key])
    return cls(**values)
