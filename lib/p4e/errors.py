"""Exception types that callers catch and the CLI turns into one-line messages."""


class P4eError(Exception):
    """Base of every error p4e raises on purpose; the CLI prints it and exits 1."""


class ConfigError(P4eError):
    """A configuration file is missing, malformed, or names an invalid value."""


class TableNotFound(P4eError):
    """A Delta table the step needs does not exist at its location."""


class SchemaMismatch(P4eError):
    """A DataFrame does not match the schema of the table it is written to."""


class ConcurrentWriteConflict(P4eError):
    """Another writer committed to the same table first; nothing was committed."""
