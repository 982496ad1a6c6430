"""The main configuration file as read (`conf/p4e.yaml`), and the locations it names.

`Config` is the document before it is typed; `p4e.config.settings.load_settings` turns it
(and the files it points to) into the run's `Settings`.
"""

from __future__ import annotations

import copy
import hashlib
import json
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from p4e.config.fields import Field
from p4e.errors import ConfigError

DEFAULT_CONF = Path(__file__).resolve().parents[3] / "conf" / "p4e.yaml"
LAYERS = ("raw", "silver", "gold")


@dataclass(frozen=True)
class Config:
    """The parsed main configuration and the folder its relative paths start from.

    Attributes:
        data: the YAML document as nested dicts and lists.
        conf_dir: folder of the configuration file; `paths.*` entries are relative to it.
        file_name: the file's name (errors name `conf_dir/file_name`).
    """

    data: dict[str, Any]
    conf_dir: Path
    file_name: str = "p4e.yaml"

    @property
    def file(self) -> Path:
        return self.conf_dir / self.file_name

    def __getitem__(self, key: str) -> Any:
        return self.data[key]

    def get(self, key: str, default: Any = None) -> Any:
        return self.data.get(key, default)

    @property
    def lakehouse(self) -> str:
        return str(self.data["lakehouse"])

    def table_path(self, layer: str, table: str) -> str:
        """Location of `table` in `layer` (raw, silver or gold) of the lakehouse."""
        if layer not in LAYERS:
            raise ConfigError(f"unknown lakehouse layer {layer!r}; use one of {', '.join(LAYERS)}")
        return f"{self.lakehouse.rstrip('/')}/{layer}/{table}"

    def conf_path(self, key: str) -> Path:
        """Folder named by `paths.<key>`, resolved against the configuration folder."""
        try:
            rel = self.data["paths"][key]
        except KeyError as exc:
            raise ConfigError(f"configuration has no paths.{key}") from exc
        return (self.conf_dir / str(rel)).resolve()

    def digest(self, without: Sequence[str] = (), without_paths: Sequence[str] = ()) -> str:
        """SHA-256 of the configuration and every file under its configured folders.

        Args:
            without: top-level keys left out (e.g. those no result depends on).
            without_paths: `paths.<key>` folders whose files are left out.
        """
        data = {k: v for k, v in self.data.items() if k not in without}
        if without_paths and "paths" in data:
            data["paths"] = {k: v for k, v in data["paths"].items() if k not in without_paths}
        h = hashlib.sha256(json.dumps(data, sort_keys=True, default=str).encode())
        for key in sorted(data.get("paths", {})):
            folder = self.conf_path(key)
            for file in sorted(p for p in folder.rglob("*") if p.is_file()):
                h.update(str(file.relative_to(folder)).encode())
                h.update(file.read_bytes())
        return h.hexdigest()

    def with_overrides(self, **values: Any) -> Config:
        """A copy with top-level keys replaced (None values are ignored)."""
        data = copy.deepcopy(self.data)
        data.update({k: v for k, v in values.items() if v is not None})
        return Config(data, self.conf_dir, self.file_name)


def load_config(path: str | Path | None = None, *, lakehouse: str | None = None) -> Config:
    """Read the main configuration file (the shipped default when `path` is None).

    Args:
        path: YAML file; relative `paths.*` entries are resolved against its folder.
        lakehouse: overrides the file's `lakehouse` root.

    Raises:
        ConfigError: the file is missing, is not YAML, or lacks a required key.
    """
    file = Path(path) if path is not None else DEFAULT_CONF
    if not file.is_file():
        raise ConfigError(f"configuration file not found: {file}")
    data = Field.document(file).value
    for key in ("lakehouse", "storage", "spark", "years", "paths"):
        if key not in data:
            raise ConfigError(f"{file} is missing the required key {key!r}")
    return Config(data, file.resolve().parent, file.name).with_overrides(lakehouse=lakehouse)
