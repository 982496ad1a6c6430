"""The vocabulary of generated events: uniform draws per row, event structs, event families."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from pyspark.sql import Column
from pyspark.sql import functions as F

from p4e.generate.hashing import uniform
from p4e.sail import typed_struct

CLAIM_EVENT = "struct<date:date,code_system:string,code:string,place_of_service:string>"
OBSERVATION_EVENT = "struct<date:date,code:string,value:double,unit:string,status:string>"


def prevalent(u: Column, age: Column, table: Sequence[tuple[int, float]]) -> Column:
    """True when the draw `u` falls under the prevalence of the member's age band."""
    share = F.lit(0.0)
    for from_age, value in table:
        share = F.when(age >= from_age, F.lit(value)).otherwise(share)
    return u < share


def claim(
    date: Column, system: str | Column, code: str | Column, pos: str | Column | None
) -> Column:
    """A claim event: STRUCT(date, code_system, code, place_of_service); the code system
    says where the feed carries it (`p4e.generate.feeds`)."""
    event = F.struct(
        date.alias("date"),
        _lit(system).alias("code_system"),
        _lit(code).alias("code"),
        (F.lit(None).cast("string") if pos is None else _lit(pos)).alias("place_of_service"),
    )
    return typed_struct(event, CLAIM_EVENT)


def observation(date: Column, code: str, value: Column, unit: str, status: str = "final") -> Column:
    """An observation or lab event: STRUCT(date, code, value, unit, status); a null value
    is a test without a result."""
    event = F.struct(
        date.alias("date"),
        F.lit(code).alias("code"),
        value.cast("double").alias("value"),
        F.lit(unit).alias("unit"),
        F.lit(status).alias("status"),
    )
    return typed_struct(event, OBSERVATION_EVENT)


def _lit(value: str | Column) -> Column:
    return F.lit(value) if isinstance(value, str) else value


class Draws:
    """Uniform draws of a family of events, each computed once per row as a column.

    `year(salt)` draws per member-year, `member(salt)` per member, `persistent(salt)`
    per member-year but the member's own draw in a share `persistence` of the years;
    all return a reference to a column whose expression `columns` holds.
    """

    def __init__(self, seed: int) -> None:
        self.seed = seed
        self.columns: dict[str, Column] = {}

    def year(self, salt: str) -> Column:
        return self._add(f"y_{salt}", uniform(self.seed, salt, "member_id", "year"))

    def member(self, salt: str) -> Column:
        return self._add(f"m_{salt}", uniform(self.seed, salt, "member_id"))

    def persistent(self, salt: str, persistence: float) -> Column:
        """A uniform per member-year that is the member's one draw in `persistence` of the
        years: still uniform each year, so `draw < p` keeps rate p, while a member
        compliant one year is likely compliant the next (correlation ~ persistence^2)."""
        own = uniform(self.seed, f"{salt}_mode", "member_id", "year") < persistence
        member, year = (
            uniform(self.seed, salt, "member_id"),
            uniform(self.seed, salt, "member_id", "year"),
        )
        return self._add(f"persistent_{salt}", F.when(own, member).otherwise(year))

    def _add(self, name: str, expression: Column) -> Column:
        self.columns.setdefault(name, expression)
        return F.col(name)


@dataclass(frozen=True)
class Family:
    """Events of one kind: the member-years they apply to, their draws and event structs."""

    code: str
    rows: Column
    draws: dict[str, Column]
    claims: list[Column] = field(default_factory=list)
    observations: list[Column] = field(default_factory=list)
