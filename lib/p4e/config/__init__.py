"""Configuration: the files under `conf/` read once into typed `Settings`.

`document` holds the main file as read (`Config`); `fields` is the one reader of
values (errors name file and field); `measures`/`measure_files`, `valuesets`,
`dimension`, `stats`, `contracts` and `sections` type each part; `settings`
assembles them.
"""

from p4e.config.document import DEFAULT_CONF, Config, load_config
from p4e.config.settings import Settings, load_settings

__all__ = ["DEFAULT_CONF", "Config", "Settings", "load_config", "load_settings"]
