"""A tiny hand-built lakehouse for the measure engine tests (helpers only, no tests)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date

from pyspark.sql import DataFrame, SparkSession

from p4e.config import Settings
from p4e.measures import member_measures
from p4e.tables import INPUTS

FULL_2023 = ((date(2023, 1, 1), date(2023, 12, 31)),)


@dataclass
class Lake:
    """Rows of the five inputs the measure engine reads, added story by story."""

    members: list[tuple] = field(default_factory=list)
    enrollment: list[tuple] = field(default_factory=list)
    attribution: list[tuple] = field(default_factory=list)
    claims: list[tuple] = field(default_factory=list)
    observations: list[tuple] = field(default_factory=list)

    def member(
        self,
        member_id: str,
        birth: date,
        *,
        sex: str = "M",
        death: date | None = None,
        spans: tuple[tuple[date, date], ...] = FULL_2023,
        payer: str = "plan",
        groups: tuple[tuple[str, int], ...] = (("G1", 2023),),
    ) -> Lake:
        self.members.append((member_id, birth, sex, "Ann", "Smith", "02139", None, death))
        self.enrollment += [(member_id, payer, start, end) for start, end in spans]
        self.attribution += [(member_id, group, year) for group, year in groups]
        return self

    def claim(self, member_id: str, day: date, system: str, code: str, pos: str = "11") -> Lake:
        self.claims.append((f"c{len(self.claims)}", member_id, day, system, code, pos))
        return self

    def obs(self, member_id: str, day: date, code: str, value: float | None) -> Lake:
        unit = "%" if code == "4548-4" else "mm[Hg]"
        value = None if value is None else float(value)
        row = (f"o{len(self.observations)}", member_id, day, "LOINC", code, value, unit)
        self.observations.append(row)
        return self

    def bp(self, member_id: str, day: date, systolic: float, diastolic: float) -> Lake:
        return self.obs(member_id, day, "8480-6", systolic).obs(member_id, day, "8462-4", diastolic)

    def frames(self, spark: SparkSession) -> dict[str, DataFrame]:
        """The inputs as DataFrames with the contract's schemas."""
        return {
            name: spark.createDataFrame(getattr(self, name), INPUTS[name].schema())
            for name in ("members", "enrollment", "attribution", "claims", "observations")
        }

    def measures(self, spark: SparkSession, settings: Settings, year: int) -> DataFrame:
        """gold/member_measures rows of these members for `year`."""
        return member_measures(
            spark, settings.measures, year, payers=settings.plan.payers, **self.frames(spark)
        )
