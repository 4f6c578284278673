"""Read CSV and Parquet event logs through a column mapping.

A table log has one row per event (case, activity, timestamp) or, for an *interval* log, one row per
activity instance with a start and an end. :class:`ColumnMapping` names the file's columns; only those
columns are read (Polars' CSV and Parquet readers, projection pushed down), every other column is
skipped. Times: ISO 8601 text (an offset is honoured; without one the time is taken as UTC, as the XES
reader does), another layout given as a ``strftime`` format, or native Parquet timestamps (naive ones
are UTC). CSV files may be gzip-compressed. A bad file or mapping raises
:class:`claimwatch.errors.Invalid` naming the mapping field (``case``, ``start``…) or ``file``.
"""

from __future__ import annotations

import gzip
import io
import os
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO, Literal, cast

import polars as pl

from claimwatch.analytics.log import TIMESTAMP, EventLog
from claimwatch.errors import Invalid

Format = Literal["csv", "parquet"]
FORMATS: tuple[Format, ...] = ("csv", "parquet")
_PARQUET_MAGIC = b"PAR1"
_GZIP_MAGIC = b"\x1f\x8b"
_ISO_OFFSET = "%Y-%m-%dT%H:%M:%S%.f%#z"


@dataclass(frozen=True)
class ColumnMapping:
    """Which column of the file is what. ``timestamp`` is the event's time, or the activity's end in
    an interval log; give ``start`` (and ``end`` or ``timestamp``) for an interval log."""

    case: str = "case"
    activity: str = "activity"
    timestamp: str | None = "timestamp"
    start: str | None = None
    end: str | None = None
    resource: str | None = None
    lifecycle: str | None = None
    time_format: str | None = None  # strftime layout of text times; None: ISO 8601

    @property
    def completion(self) -> str:
        column = self.end or self.timestamp
        if not column:
            raise Invalid("timestamp", "name the timestamp column (or the end column of an interval log)")
        return column

    def option(self, field: str) -> str:
        """The mapping field a log column came from (what an error names)."""
        return "end" if field == "timestamp" and self.end else field

    def columns(self) -> dict[str, str]:
        """{log column: file column} for every mapped column."""
        chosen = {"case": self.case, "activity": self.activity, "timestamp": self.completion}
        if self.start:
            chosen["start"] = self.start
        if self.resource:
            chosen["resource"] = self.resource
        if self.lifecycle:
            chosen["lifecycle"] = self.lifecycle
        return chosen


Source = str | os.PathLike[str] | bytes | BinaryIO


def detect_format(source: Source, declared: str | None = None) -> Format:
    """``csv`` or ``parquet``: as declared, else from the file name, else from the first bytes."""
    if declared:
        if declared not in FORMATS:
            raise Invalid("format", f"read csv or parquet, not {declared!r}")
        return cast(Format, declared)
    if isinstance(source, str | os.PathLike):
        suffixes = [suffix.lower() for suffix in Path(source).suffixes]
        if suffixes and suffixes[-1] in (".parquet", ".pq"):
            return "parquet"
        if any(suffix in (".csv", ".tsv", ".txt") for suffix in suffixes[-2:]):
            return "csv"
    return "parquet" if _head(source, 4) == _PARQUET_MAGIC else "csv"


def _head(source: Source, size: int) -> bytes:
    if isinstance(source, bytes):
        return source[:size]
    if isinstance(source, str | os.PathLike):
        try:
            with open(source, "rb") as handle:
                return handle.read(size)
        except OSError as exc:
            raise Invalid("file", f"cannot open {source}: {exc.strerror or exc}") from exc
    start = source.tell()
    head = source.read(size)
    source.seek(start)
    return head


def read_table(
    source: Source,
    mapping: ColumnMapping | None = None,
    *,
    format: str | None = None,  # noqa: A002 - the option's name
    separator: str = ",",
    name: str | None = None,
) -> EventLog:
    """An :class:`EventLog` from a CSV or Parquet file (path, bytes or binary stream)."""
    mapping = mapping or ColumnMapping()
    kind = detect_format(source, format)
    columns = mapping.columns()
    label = name or (Path(source).name if isinstance(source, str | os.PathLike) else f"uploaded {kind} log")
    frame, columns = (
        _read_parquet(source, columns, mapping) if kind == "parquet" else _read_csv(source, columns, mapping, separator)
    )
    frame = frame.select(pl.col(column).alias(field) for field, column in columns.items())
    frame = frame.with_columns(
        _times(frame, field, mapping.option(field), mapping.time_format)
        for field in ("timestamp", "start")
        if field in columns
    )
    for field in ("case", "activity"):
        if frame[field].null_count():
            row = int(frame[field].is_null().arg_true()[0])
            raise Invalid(field, f"row {row + 1}: empty {columns[field]!r}")
    try:
        return EventLog.from_frame(frame, name=label)
    except ValueError as exc:
        raise Invalid("start" if "start" in columns else mapping.option("timestamp"), str(exc)) from exc


def _checked(available: list[str], columns: dict[str, str], mapping: ColumnMapping) -> dict[str, str]:
    """The mapped columns (each must exist) plus ``resource`` and ``lifecycle`` by name when the mapping
    leaves them out and the file has them (as a log saved by ``analytics process --to-parquet`` does)."""
    for field, column in columns.items():
        if column not in available:
            shown = ", ".join(available[:20]) + (" …" if len(available) > 20 else "")
            raise Invalid(mapping.option(field), f"no column {column!r} in the file (it has: {shown})")
    taken = set(columns.values())
    extra: dict[str, str] = {
        field: field
        for field in ("resource", "lifecycle")
        if field not in columns and field in available and field not in taken
    }
    return {**columns, **extra}


def _read_csv(
    source: Source, columns: dict[str, str], mapping: ColumnMapping, separator: str
) -> tuple[pl.DataFrame, dict[str, str]]:
    if len(separator) != 1:
        raise Invalid("separator", "give one character, e.g. , or ; or \\t")
    data: str | Path | io.BytesIO | BinaryIO
    if isinstance(source, bytes):
        data = io.BytesIO(gzip.decompress(source) if source[:2] == _GZIP_MAGIC else source)
    elif isinstance(source, str | os.PathLike):
        data = Path(source)
        if _head(source, 2) == _GZIP_MAGIC:
            with gzip.open(data, "rb") as packed:
                data = io.BytesIO(packed.read())
    else:
        raw = source.read()
        data = io.BytesIO(gzip.decompress(raw) if raw[:2] == _GZIP_MAGIC else raw)
    try:
        # Every column as text: case ids such as 007 keep their zeros, and times are parsed below.
        header = pl.read_csv(data, separator=separator, n_rows=0, infer_schema=False).columns
        columns = _checked(header, columns, mapping)
        if isinstance(data, io.BytesIO):
            data.seek(0)
        wanted = list(dict.fromkeys(columns.values()))
        return pl.read_csv(data, separator=separator, columns=wanted, infer_schema=False), columns
    except (pl.exceptions.ComputeError, pl.exceptions.NoDataError, UnicodeDecodeError) as exc:
        raise Invalid("file", f"not a readable CSV file: {str(exc).splitlines()[0]}") from exc


def _read_parquet(
    source: Source, columns: dict[str, str], mapping: ColumnMapping
) -> tuple[pl.DataFrame, dict[str, str]]:
    data: Path | io.BytesIO
    if isinstance(source, str | os.PathLike):
        data = Path(source)
    else:
        data = io.BytesIO(source if isinstance(source, bytes) else source.read())
    try:
        columns = _checked(list(pl.read_parquet_schema(data)), columns, mapping)
        if isinstance(data, io.BytesIO):
            data.seek(0)
        return pl.read_parquet(data, columns=list(dict.fromkeys(columns.values()))), columns
    except (pl.exceptions.ComputeError, OSError) as exc:
        raise Invalid("file", f"not a readable Parquet file: {str(exc).splitlines()[0]}") from exc


def _times(frame: pl.DataFrame, field: str, option: str, time_format: str | None) -> pl.Expr:
    """A time column as UTC microseconds, or Invalid naming the field and the first unreadable row."""
    dtype = frame.schema[field]
    column = pl.col(field)
    if isinstance(dtype, pl.Datetime):
        return column
    if dtype == pl.Date():
        return column.cast(pl.Datetime("us"))
    if dtype != pl.String():
        raise Invalid(option, f"the column holds {dtype}, not times")
    text = frame[field]
    parsed = _parse(text, time_format)
    bad = parsed.is_null() & text.is_not_null()
    if bad.any():
        row = int(bad.arg_true()[0])
        expected = f"the layout {time_format!r}" if time_format else "ISO 8601, e.g. 2026-01-01T08:00:00+08:00"
        raise Invalid(option, f"row {row + 1}: {text[row]!r} is not a time ({expected})")
    return pl.lit(parsed).alias(field)


def _parse(text: pl.Series, time_format: str | None) -> pl.Series:
    if time_format:
        zoned = any(directive in time_format for directive in ("%z", "%#z", "%:z"))
        parsed = text.str.strip_chars().str.to_datetime(
            time_format, time_zone="UTC" if zoned else None, time_unit="us", strict=False
        )
        return parsed if zoned else parsed.dt.replace_time_zone("UTC")
    # ISO 8601 with an offset (the common export) in one pass; anything else again, row by row kind:
    # surrounding blanks, a space for the "T", no offset (UTC), no seconds, a date alone.
    with_offset = text.str.to_datetime(_ISO_OFFSET, time_zone="UTC", time_unit="us", strict=False)
    if with_offset.null_count() == text.null_count():
        return with_offset
    iso = text.str.strip_chars().str.replace(r"^(\d{4}-\d\d-\d\d) ", "${1}T")
    parsed = with_offset.fill_null(iso.str.to_datetime(_ISO_OFFSET, time_zone="UTC", time_unit="us", strict=False))
    for layout in ("%Y-%m-%dT%H:%M:%S%.f", "%Y-%m-%dT%H:%M", "%Y-%m-%d"):
        if parsed.null_count() == text.null_count():
            break
        naive = iso.str.to_datetime(layout, time_unit="us", strict=False).dt.replace_time_zone("UTC")
        parsed = parsed.fill_null(naive)
    return parsed.cast(TIMESTAMP)
