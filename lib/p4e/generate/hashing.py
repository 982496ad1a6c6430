"""Hash-based pseudo-random numbers: the same seed and keys give the same draw on any partitioning.

Every random choice of the generator is a pure function of (seed, salt, row keys)
computed with `xxhash64`, so a table's content does not depend on how Spark
splits the work, and two runs with the same seed write identical tables.
"""

from __future__ import annotations

from collections.abc import Sequence

from pyspark.sql import Column
from pyspark.sql import functions as F

_MANTISSA = (1 << 53) - 1


def uniform(seed: int, salt: str, *keys: Column | str) -> Column:
    """A uniform [0, 1) double determined by the seed, a salt naming the draw, and row keys.

    Args:
        seed: run seed.
        salt: name of the draw; different salts give independent draws for the same row.
        keys: columns (or column names) identifying the row, e.g. member_id and year.
    """
    bits = F.xxhash64(F.lit(seed), F.lit(salt), *keys).bitwiseAND(F.lit(_MANTISSA))
    return bits.cast("double") / float(1 << 53)


def below(u: Column, low: int, high: int) -> Column:
    """An integer in [low, high] (inclusive) from a uniform draw `u`."""
    return (F.lit(low) + F.floor(u * (high - low + 1))).cast("int")


def pick(options: Sequence[str], u: Column) -> Column:
    """One of `options`, equally likely, from a uniform draw `u`."""
    index = F.floor(u * len(options)).cast("int") + 1
    return F.element_at(F.array(*[F.lit(o) for o in options]), index)


def year_start(year: Column) -> Column:
    """Jan 1 of `year`."""
    return F.make_date(year, F.lit(1), F.lit(1))


def day_of_year(year: Column, u: Column, first_day: int = 0, last_day: int | None = None) -> Column:
    """A date in `year`, uniform over day offsets [first_day, last_day] (default: whole year).

    Offsets count from Jan 1 (offset 0); `last_day=None` means Dec 31 of that year.
    """
    start = year_start(year)
    if last_day is None:
        span = F.datediff(year_start(year + 1), start) - first_day
    else:
        span = F.lit(last_day - first_day + 1)
    return F.date_add(start, (F.lit(first_day) + F.floor(u * span)).cast("int"))
