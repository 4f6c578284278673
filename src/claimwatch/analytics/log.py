"""The event log: one row per event, held as a Polars frame.

Columns: ``case`` (str), ``activity`` (str), ``timestamp`` (UTC, microseconds, tz-aware),
``resource`` (str or null), ``lifecycle`` (str or null). Rows are kept ordered by case (in order of
first appearance), then timestamp, with ties in source order — the order process-mining tools such as
pm4py use for directly-follows relations, so every computation in :mod:`claimwatch.analytics.process`
can read consecutive rows.

An *interval* log also has ``start`` (same type as ``timestamp``): each row is one activity instance
that ran from ``start`` to ``timestamp`` (its completion). Its rows are ordered by case, then start,
then completion, then source order — pm4py's order for interval logs.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import polars as pl

TIMESTAMP = pl.Datetime("us", "UTC")
SCHEMA: dict[str, pl.DataType] = {
    "case": pl.String(),
    "activity": pl.String(),
    "timestamp": TIMESTAMP,
    "resource": pl.String(),
    "lifecycle": pl.String(),
}


def _utc(column: str, dtype: pl.DataType) -> pl.Expr:
    expression = pl.col(column)
    if isinstance(dtype, pl.Datetime):
        expression = (
            expression.dt.replace_time_zone("UTC")
            if dtype.time_zone is None
            else expression.dt.convert_time_zone("UTC")
        )
    return expression.cast(TIMESTAMP).alias(column)


@dataclass(frozen=True)
class EventLog:
    """An ordered event log. Build it with :meth:`from_frame` or :meth:`from_rows`, never directly
    from an unsorted frame."""

    frame: pl.DataFrame
    name: str = ""

    @classmethod
    def from_frame(cls, frame: pl.DataFrame, name: str = "") -> EventLog:
        """Normalise any frame with at least case, activity and timestamp columns (source order = row
        order) into an ordered log."""
        missing = {"case", "activity", "timestamp"} - set(frame.columns)
        if missing:
            raise ValueError(f"event log frame lacks column(s) {', '.join(sorted(missing))}")
        for optional in ("resource", "lifecycle"):
            if optional not in frame.columns:
                frame = frame.with_columns(pl.lit(None, dtype=pl.String()).alias(optional))
        interval = "start" in frame.columns
        times = ["start", "timestamp"] if interval else ["timestamp"]
        frame = frame.select(
            pl.col("case").cast(pl.String()),
            pl.col("activity").cast(pl.String()),
            *(_utc(column, frame.schema[column]) for column in times),
            pl.col("resource").cast(pl.String()),
            pl.col("lifecycle").cast(pl.String()),
        )
        if frame.height:
            for column in times:
                if frame[column].null_count():
                    raise ValueError(
                        "every event needs a timestamp" if column == "timestamp" else "every activity needs a start"
                    )
            if interval and frame.select((pl.col("start") > pl.col("timestamp")).any()).item():
                row = int(frame.select((pl.col("start") > pl.col("timestamp")).arg_true().first()).item())
                raise ValueError(f"row {row + 1}: the activity ends before it starts")
        # Case order = order of first appearance; the sort is stable, so equal timestamps keep source order.
        frame = (
            frame.with_row_index("__row")
            .with_columns(__case_order=pl.col("__row").min().over("case"))
            .sort(["__case_order", *times, "__row"])
            .drop("__case_order", "__row")
        )
        return cls(frame, name)

    @property
    def interval(self) -> bool:
        """True for an interval log (a start and a completion time per row)."""
        return "start" in self.frame.columns

    @classmethod
    def from_rows(
        cls,
        rows: Sequence[tuple[str, str, dt.datetime, str | None, str | None]],
        name: str = "",
    ) -> EventLog:
        """Rows of (case, activity, tz-aware timestamp, resource, lifecycle), in source order."""
        for row in rows:
            if row[2].tzinfo is None:
                raise ValueError(f"naive timestamp for case {row[0]!r}; pass a timezone-aware value")
        columns: list[Sequence[Any]] = list(zip(*rows, strict=True)) if rows else [(), (), (), (), ()]
        frame = pl.DataFrame(
            {
                "case": pl.Series(columns[0], dtype=pl.String()),
                "activity": pl.Series(columns[1], dtype=pl.String()),
                "timestamp": pl.Series([value.astimezone(dt.UTC) for value in columns[2]], dtype=TIMESTAMP),
                "resource": pl.Series(columns[3], dtype=pl.String()),
                "lifecycle": pl.Series(columns[4], dtype=pl.String()),
            }
        )
        return cls.from_frame(frame, name)

    @property
    def events(self) -> int:
        return self.frame.height

    @property
    def cases(self) -> int:
        return self.frame["case"].n_unique() if self.frame.height else 0

    @property
    def activities(self) -> list[str]:
        return sorted(self.frame["activity"].unique().to_list())

    def traces(self) -> pl.DataFrame:
        """One row per case (first-appearance order): case, activities (list), timestamps (list)."""
        return self.frame.group_by("case", maintain_order=True).agg("activity", "timestamp", "resource", "lifecycle")
