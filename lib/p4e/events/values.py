"""Results reported as text ("7.2", "7.2%", "<7.0", "128 mm[Hg]", "") read as numbers.

A result is an optional bound (`<`, `<=`, `>`, `>=`), a number, and an optional unit
(`%` or letters); anything else (an empty result, "positive", "see note") has no
numeric value: a test without a result, kept as such.
"""

from __future__ import annotations

from pyspark.sql import Column
from pyspark.sql import functions as F

_NUMBER = r"(-?[0-9]+(?:\.[0-9]+)?|-?\.[0-9]+)"
_UNIT = r"(%|[A-Za-z][A-Za-z0-9\[\]/*^ .]*)?"
_RESULT = rf"^\s*([<>]=?)?\s*{_NUMBER}\s*{_UNIT}\s*$"


def result_value(result: Column) -> Column:
    """The number of a result, DOUBLE; null when it does not parse."""
    number = F.regexp_extract(result, _RESULT, 2)
    return F.when(number != "", number.cast("double"))


def result_bound(result: Column) -> Column:
    """'<', '<=', '>' or '>=' when the result is reported as a bound, else null."""
    bound = F.regexp_extract(result, _RESULT, 1)
    return F.when(bound != "", bound)
