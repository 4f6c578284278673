"""Read and write XES event logs (IEEE 1849-2016), plain or gzip-compressed.

Reading takes a vectorised fast path over the bytes when the file is written the usual way (see
``_read_fast``); otherwise it streams the file through expat in 1 MiB pieces and turns every 100,000
events into a columnar chunk. Either way memory grows with the (compact) columns, never with an XML
tree. Only the standard extension keys are read: ``concept:name`` (trace: case id; event: activity),
``time:timestamp``, ``org:resource`` and ``lifecycle:transition``; nested attributes, log-level
events, globals and classifiers are skipped, like pm4py does. A malformed file raises
:class:`XesError` naming the file, line and column.
"""

from __future__ import annotations

import datetime as dt
import gzip
import io
import os
import re
import zlib
from array import array
from collections.abc import Iterator
from pathlib import Path
from typing import IO, Any, BinaryIO, cast
from xml.parsers import expat

import numpy as np
import numpy.typing as npt
import polars as pl

from claimwatch.analytics import xes_scan
from claimwatch.analytics.log import TIMESTAMP, EventLog

_PIECE = 1 << 20
_CHUNK_EVENTS = 100_000
_TIME_FORMAT = "%Y-%m-%dT%H:%M:%S%.f%#z"


class XesError(ValueError):
    """The file is not a readable XES log; the message names where."""

    def __init__(self, source: str, message: str, line: int | None = None, column: int | None = None) -> None:
        where = source if line is None else f"{source}:{line}" + ("" if column is None else f":{column}")
        super().__init__(f"{where}: {message}")
        self.source = source
        self.line = line
        self.column = column


def _open(source: str | os.PathLike[str] | BinaryIO) -> tuple[BinaryIO, str, bool]:
    if isinstance(source, str | os.PathLike):
        path = Path(source)
        try:
            raw: BinaryIO = open(path, "rb")  # noqa: SIM115 - closed by the caller
        except OSError as exc:
            raise XesError(str(path), f"cannot open: {exc.strerror or exc}") from exc
        name, owned = str(path), True
    else:
        raw, name, owned = source, getattr(source, "name", "<stream>"), False
    head = raw.read(2)
    rest = io.BufferedReader(_Prefixed(head, raw)) if head else raw
    if head == b"\x1f\x8b":
        return cast(BinaryIO, gzip.GzipFile(fileobj=rest, mode="rb")), name, owned
    return cast(BinaryIO, rest), name, owned


class _Prefixed(io.RawIOBase):
    """A stream with the bytes already read for format sniffing put back in front."""

    def __init__(self, head: bytes, stream: BinaryIO) -> None:
        self._head = head
        self._stream = stream

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        if self._head:
            size = min(len(buffer), len(self._head))
            buffer[:size] = self._head[:size]
            self._head = self._head[size:]
            return size
        data = self._stream.read(len(buffer))
        buffer[: len(data)] = data
        return len(data)

    def close(self) -> None:
        self._stream.close()
        super().close()


def _local(name: str) -> str:
    # expat without namespace processing gives "prefix:local" for prefixed element names.
    return name.rpartition(":")[2]


def read_xes(source: str | os.PathLike[str] | BinaryIO, name: str | None = None) -> EventLog:
    """Parse an XES file (``.xes`` or gzip, detected from the content) into an :class:`EventLog`.

    Files whose attributes are written the usual way take a vectorised fast path; anything else (or
    anything the fast path is unsure about, including every malformed file) is read by expat.
    """
    label = name or (str(source) if isinstance(source, str | os.PathLike) else str(getattr(source, "name", "<stream>")))
    frames = _read_fast(source, label)
    if frames is None:
        stream, label, owned = _open(source)
        label = name or label
        try:
            frames = list(_parse(stream, label))
        finally:
            if owned:
                stream.close()
    if frames:
        frame = pl.concat(frames, rechunk=True)
    else:
        frame = pl.DataFrame(schema={"case": pl.String, "activity": pl.String, "timestamp": TIMESTAMP})
    return EventLog.from_frame(frame.drop("trace", "line", strict=False), name=Path(label).name)


def _parse(stream: BinaryIO, source: str) -> Iterator[pl.DataFrame]:  # noqa: C901 - one tight state machine
    parser = expat.ParserCreate()
    parser.ordered_attributes = True
    parser.buffer_text = True

    trace_names: list[str | None] = []
    # Per event, columns of the current chunk.
    trace_of = array("I")
    lines = array("I")
    activities: list[str | None] = []
    stamps: list[str | None] = []
    resources: list[str | None] = []
    lifecycles: list[str | None] = []
    interned: dict[str, str] = {}

    depth = 0
    root_seen = False
    trace_depth = 0  # depth of the open <trace>, 0 when none
    event_depth = 0  # depth of the open <event>, 0 when none
    trace_index = -1
    activity: str | None = None
    stamp: str | None = None
    resource: str | None = None
    lifecycle: str | None = None
    event_line = 0

    def start(tag: str, attrs: list[str]) -> None:
        nonlocal depth, root_seen, trace_depth, event_depth, trace_index
        nonlocal activity, stamp, resource, lifecycle, event_line
        depth += 1
        if event_depth and depth == event_depth + 1:
            if len(attrs) == 4 and attrs[0] == "key" and attrs[2] == "value":
                key, value = attrs[1], attrs[3]
            else:
                pairs = dict(zip(attrs[::2], attrs[1::2], strict=True))
                key, value = pairs.get("key", ""), pairs.get("value", "")
            if key == "concept:name":
                activity = interned.setdefault(value, value)
            elif key == "time:timestamp":
                stamp = value
            elif key == "org:resource":
                resource = interned.setdefault(value, value)
            elif key == "lifecycle:transition":
                lifecycle = interned.setdefault(value, value)
            return
        if event_depth:
            return
        local = _local(tag)
        if trace_depth and depth == trace_depth + 1:
            if local == "event":
                event_depth = depth
                activity = stamp = resource = lifecycle = None
                event_line = parser.CurrentLineNumber
            elif attrs:
                pairs = dict(zip(attrs[::2], attrs[1::2], strict=True))
                if pairs.get("key") == "concept:name":
                    trace_names[trace_index] = pairs.get("value", "")
            return
        if depth == 1:
            if local != "log":
                raise XesError(source, f"not an XES log: the root element is <{tag}>, not <log>", *_where(parser))
            root_seen = True
        elif depth == 2 and local == "trace":
            trace_depth = depth
            trace_index += 1
            trace_names.append(None)

    def end(tag: str) -> None:
        nonlocal depth, trace_depth, event_depth
        if depth == event_depth:
            event_depth = 0
            if activity is None:
                raise XesError(source, "event without concept:name (its activity)", event_line)
            if stamp is None:
                raise XesError(source, "event without time:timestamp", event_line)
            trace_of.append(trace_index)
            lines.append(event_line)
            activities.append(activity)
            stamps.append(stamp)
            resources.append(resource)
            lifecycles.append(lifecycle)
        elif depth == trace_depth:
            trace_depth = 0
        depth -= 1

    parser.StartElementHandler = start
    parser.EndElementHandler = end

    def chunk() -> pl.DataFrame:
        frame = pl.DataFrame(
            {
                "trace": pl.Series(trace_of, dtype=pl.UInt32),
                "line": pl.Series(lines, dtype=pl.UInt32),
                "activity": pl.Series(activities, dtype=pl.String),
                "timestamp": _timestamps(pl.Series(stamps, dtype=pl.String), lines, source),
                "resource": pl.Series(resources, dtype=pl.String),
                "lifecycle": pl.Series(lifecycles, dtype=pl.String),
            }
        )
        del trace_of[:], lines[:], activities[:], stamps[:], resources[:], lifecycles[:]
        return frame

    pending: list[pl.DataFrame] = []
    try:
        while True:
            try:
                piece = stream.read(_PIECE)
            except (OSError, EOFError, zlib.error) as exc:
                raise XesError(source, f"cannot read (corrupt or truncated gzip?): {exc}") from exc
            if not piece:
                break
            parser.Parse(piece, False)
            if len(activities) >= _CHUNK_EVENTS:
                pending.append(chunk())
        parser.Parse(b"", True)
    except expat.ExpatError as exc:
        raise XesError(source, f"malformed XML: {expat.ErrorString(exc.code)}", exc.lineno, exc.offset + 1) from exc
    if not root_seen:
        raise XesError(source, "empty file: no <log> element")
    if activities:
        pending.append(chunk())
    if not pending:
        return
    names = [name if name is not None else f"trace {index + 1}" for index, name in enumerate(trace_names)]
    case_names = pl.Series("case", names, dtype=pl.String)
    for frame in pending:
        yield frame.with_columns(case=case_names.gather(frame["trace"]))


# ---------------------------------------------------------------------------------------------- fast path
#
# Most XES files (pm4py's, OpenXES's, ours) write every attribute the same simple way:
#
#     <trace>
#         <string key="concept:name" value="case 1"/>
#         <event>
#             <string key="concept:name" value="register"/>
#             <date key="time:timestamp" value="2026-01-01T08:00:00.000+01:00"/>
#         </event>
#     </trace>
#
# For such files the body is read 16 MiB at a time (cut after an ``</event>``) by
# :func:`claimwatch.analytics.xes_scan.scan`: NumPy over the bytes, no XML tree and no Python object per
# element; the values of the four keys read become one string column, the timestamps are parsed as one
# column. The header (everything before the first ``<trace>``) goes through expat, which must be left
# directly inside a UTF-8 ``<log>``. Anything the scan is not certain of — single quotes, another
# attribute order, ``<tag …></tag>``, nested attributes, lists, comments, CDATA, other encodings, a
# DOCTYPE, unknown entities, characters XML forbids, a missing activity or an odd timestamp — makes the
# fast path give up, and the whole file is read again by the expat reader (which also produces the error
# message for a malformed file). The result is the same frame either way (tests/analytics/test_xes_fast.py).

_FAST_PIECE = 16 << 20
_FAST_HEADER_LIMIT = 64 << 20
_PROBE = "claimwatch-fast-path-probe"
_ENTITY = re.compile(r"&(?:(lt|gt|amp|quot|apos)|#([0-9]+)|#x([0-9a-fA-F]+));")
_NAMED = {"lt": "<", "gt": ">", "amp": "&", "quot": '"', "apos": "'"}


class _NotFast(Exception):
    """The file does not fit the fast path's assumptions; read it with expat."""


def _read_fast(source: str | os.PathLike[str] | BinaryIO, label: str) -> list[pl.DataFrame] | None:
    """The frames of the fast path, or None when the expat reader must read the file."""
    if isinstance(source, str | os.PathLike):
        try:
            raw: BinaryIO = open(source, "rb")  # noqa: SIM115 - closed below
        except OSError:
            return None
        try:
            return _fast_frames(_unpacked(raw), label)
        except _NotFast:
            return None
        finally:
            raw.close()
    try:
        seekable = source.seekable()
        start = source.tell() if seekable else 0
    except (OSError, AttributeError, ValueError):
        return None
    if not seekable:
        return None
    try:
        return _fast_frames(_unpacked(source), label)
    except _NotFast:
        source.seek(start)
        return None


def _unpacked(raw: BinaryIO) -> BinaryIO:
    start = raw.tell()
    head = raw.read(2)
    raw.seek(start)
    if head == b"\x1f\x8b":
        return cast(BinaryIO, gzip.GzipFile(fileobj=raw, mode="rb"))  # does not close ``raw``
    return raw


def _fast_frames(stream: BinaryIO, source: str) -> list[pl.DataFrame]:
    def read() -> bytes:
        try:
            return stream.read(_FAST_PIECE)
        except (OSError, EOFError, zlib.error) as exc:
            raise _NotFast from exc

    buffer = b""
    while True:
        piece = read()
        buffer += piece
        found = buffer.find(b"<trace>")
        if found >= 0 or not piece or len(buffer) > _FAST_HEADER_LIMIT:
            break
    if b"\r" in buffer:
        buffer = buffer.replace(b"\r\n", b"\n")
        found = buffer.find(b"<trace>")
    if found < 0:
        raise _NotFast
    _check_header(buffer[:found])  # a "<trace>" inside a comment or a value leaves expat elsewhere: refused
    state = _FastState()
    pending = buffer[found:]
    frames: list[pl.DataFrame] = []
    at_end = False
    while True:
        cut = len(pending)
        if not at_end:
            close = pending.rfind(b"</event>")
            cut = close + len(b"</event>") if close >= 0 else 0  # a piece holds whole events
            if cut <= 0 or len(pending) < _FAST_PIECE:
                piece = read()
                if piece:
                    pending += piece
                else:
                    at_end = True
                continue
        text, pending = pending[:cut], pending[cut:]
        if b"\r" in text:
            text = text.replace(b"\r\n", b"\n")
            if b"\r" in text:
                raise _NotFast
        frame = state.read_piece(text, source)
        if frame is not None:
            frames.append(frame)
        if at_end:
            break
    if state.depth or not state.ended:
        raise _NotFast
    if not frames:
        return []
    names = (
        pl.DataFrame({"trace": pl.int_range(state.traces, dtype=pl.UInt32, eager=True)})
        .join(pl.concat(state.names).unique("trace", keep="last"), on="trace", how="left", maintain_order="left")
        .select(pl.col("name").fill_null(pl.format("trace {}", pl.col("trace") + 1)))
        .to_series()
    )
    return [frame.with_columns(case=names.gather(frame["trace"])) for frame in frames]


def _check_header(header: bytes) -> None:
    """The part before the first ``<trace>`` line must leave expat directly inside a UTF-8 ``<log>``."""
    if b"<!DOCTYPE" in header:
        raise _NotFast
    parser = expat.ParserCreate()
    seen = {"depth": 0, "root": "", "probe": 0, "encoding": ""}

    def start(tag: str, _attrs: Any) -> None:
        seen["depth"] = cast(int, seen["depth"]) + 1
        if seen["depth"] == 1:
            seen["root"] = _local(tag)
        if tag == _PROBE:
            seen["probe"] = seen["depth"]

    def end(_tag: str) -> None:
        seen["depth"] = cast(int, seen["depth"]) - 1

    def declaration(_version: str | None, encoding: str | None, _standalone: int) -> None:
        seen["encoding"] = encoding or ""

    parser.StartElementHandler = start
    parser.EndElementHandler = end
    parser.XmlDeclHandler = declaration
    try:
        parser.Parse(header + f"<{_PROBE}/>\n".encode(), False)
    except expat.ExpatError as exc:
        raise _NotFast from exc
    if seen["root"] != "log" or seen["probe"] != 2 or str(seen["encoding"]).lower() not in ("", "utf-8", "utf8"):
        raise _NotFast


class _FastState:
    """What the fast path carries from one piece to the next."""

    def __init__(self) -> None:
        self.depth = 0  # 0 between traces, 1 in a trace, 2 in an event
        self.traces = 0
        self.ended = False
        self.names: list[pl.DataFrame] = [pl.DataFrame(schema={"trace": pl.UInt32, "name": pl.String})]

    def read_piece(self, text: bytes, source: str) -> pl.DataFrame | None:
        try:
            piece = xes_scan.scan(text, self.depth, self.traces, self.ended)
        except xes_scan.NotSimple as exc:
            raise _NotFast from exc
        self.depth, self.traces, self.ended = piece.depth, piece.traces, piece.ended
        values = piece.values
        if values.str.contains("&", literal=True).any():
            escaped = values.filter(values.str.contains("&", literal=True)).unique()
            values = values.replace({value: _unescape(value) for value in escaped.to_list()})
        is_name = piece.value_event < 0
        self.names.append(
            pl.DataFrame({"trace": piece.value_trace[is_name].astype(np.uint32), "name": values.filter(is_name)})
        )
        if not len(piece.event_trace):
            return None
        columns = {"trace": pl.Series(piece.event_trace.astype(np.uint32))}
        for code, column in enumerate(("activity", "timestamp", "resource", "lifecycle"), 1):
            columns[column] = values.gather(
                _last_value(piece.value_event, piece.value_key, code, len(piece.event_trace))
            )
        events = pl.DataFrame(columns)
        if events.select((pl.col("activity").is_null() | pl.col("timestamp").is_null()).any()).item():
            raise _NotFast
        try:
            stamps = _timestamps(events["timestamp"], None, source)
        except XesError as exc:
            raise _NotFast from exc
        return events.select("trace", "activity", timestamp=stamps, resource="resource", lifecycle="lifecycle")


def _last_value(
    value_event: npt.NDArray[np.int64], value_key: npt.NDArray[np.int8], key: int, events: int
) -> pl.Series:
    """Per event, the index of its last value for ``key`` (null when it has none): expat keeps the last."""
    rows = np.flatnonzero((value_key == key) & (value_event >= 0))
    owners = value_event[rows]  # non-decreasing: values come in file order
    last = np.ones(len(rows), dtype=bool)
    last[:-1] = owners[1:] != owners[:-1]
    index = np.full(events, -1, dtype=np.int64)
    index[owners[last]] = rows[last]
    return pl.Series(index).scatter(np.flatnonzero(index < 0), None)


def _unescape(value: str) -> str:
    def one(match: re.Match[str]) -> str:
        named, decimal, hexadecimal = match.groups()
        if named:
            return _NAMED[named]
        code = int(decimal) if decimal else int(hexadecimal, 16)
        if not (
            code in (0x9, 0xA, 0xD) or 0x20 <= code <= 0xD7FF or 0xE000 <= code <= 0xFFFD or 0x10000 <= code <= 0x10FFFF
        ):
            raise _NotFast
        return chr(code)

    return _ENTITY.sub(one, value)


def _where(parser: Any) -> tuple[int, int]:
    return parser.CurrentLineNumber, parser.CurrentColumnNumber + 1


def _timestamps(values: pl.Series, lines: array[int] | None, source: str) -> pl.Series:
    """ISO 8601 (xs:dateTime) strings to UTC microseconds; without an offset a time is taken as UTC."""
    parsed = values.str.to_datetime(_TIME_FORMAT, time_zone="UTC", time_unit="us", strict=False)
    missing = parsed.is_null() & values.is_not_null()
    if not missing.any():
        return parsed
    fixed = parsed.to_list()
    for index in missing.arg_true().to_list():
        text = values[index]
        try:
            value = dt.datetime.fromisoformat(text.strip())
        except ValueError as exc:
            line = None if lines is None else lines[index]
            raise XesError(source, f"bad time:timestamp {text!r} (expected ISO 8601)", line) from exc
        fixed[index] = value.replace(tzinfo=dt.UTC) if value.tzinfo is None else value.astimezone(dt.UTC)
    return pl.Series(values.name, fixed, dtype=TIMESTAMP)


# ---------------------------------------------------------------------------------------------- writing

_HEADER = """<?xml version="1.0" encoding="UTF-8"?>
<log xes.version="1849-2016" xes.features="" xmlns="http://www.xes-standard.org/">
\t<extension name="Concept" prefix="concept" uri="http://www.xes-standard.org/concept.xesext"/>
\t<extension name="Time" prefix="time" uri="http://www.xes-standard.org/time.xesext"/>
\t<extension name="Organizational" prefix="org" uri="http://www.xes-standard.org/org.xesext"/>
\t<extension name="Lifecycle" prefix="lifecycle" uri="http://www.xes-standard.org/lifecycle.xesext"/>
\t<classifier name="Activity" keys="concept:name"/>
\t<string key="concept:name" value="{name}"/>
"""
_WRITE_ROWS = 50_000


def _escape(column: pl.Expr) -> pl.Expr:
    return (
        column.str.replace_all("&", "&amp;", literal=True)
        .str.replace_all("<", "&lt;", literal=True)
        .str.replace_all(">", "&gt;", literal=True)
        .str.replace_all('"', "&quot;", literal=True)
        .str.replace_all("\t", "&#9;", literal=True)
        .str.replace_all("\n", "&#10;", literal=True)
        .str.replace_all("\r", "&#13;", literal=True)
    )


def _escape_text(text: str) -> str:
    return pl.select(_escape(pl.lit(text, dtype=pl.String))).item()


def xes_lines(log: EventLog) -> Iterator[str]:
    """The XES document for ``log`` as text pieces (stream them to a file or an HTTP response)."""
    yield _HEADER.format(name=_escape_text(log.name or "claimwatch"))
    frame = log.frame
    if frame.height == 0:
        yield "</log>\n"
        return
    precise = frame.select((pl.col("timestamp").dt.microsecond() % 1000 != 0).any()).item()
    stamp_format = "%Y-%m-%dT%H:%M:%S%.6f+00:00" if precise else "%Y-%m-%dT%H:%M:%S%.3f+00:00"
    new_case = pl.col("case") != pl.col("case").shift(1)
    optional = [
        pl.when(pl.col(column).is_not_null())
        .then(pl.format('\t\t\t<string key="{}" value="{}"/>\n', pl.lit(key), _escape(pl.col(column))))
        .otherwise(pl.lit(""))
        for column, key in (("resource", "org:resource"), ("lifecycle", "lifecycle:transition"))
    ]
    events = frame.select(
        pl.concat_str(
            [
                pl.when(new_case.fill_null(True))
                .then(
                    pl.concat_str(
                        [
                            pl.when(pl.int_range(pl.len()) > 0).then(pl.lit("\t</trace>\n")).otherwise(pl.lit("")),
                            pl.format(
                                '\t<trace>\n\t\t<string key="concept:name" value="{}"/>\n', _escape(pl.col("case"))
                            ),
                        ]
                    )
                )
                .otherwise(pl.lit("")),
                pl.format(
                    '\t\t<event>\n\t\t\t<string key="concept:name" value="{}"/>\n'
                    '\t\t\t<date key="time:timestamp" value="{}"/>\n',
                    _escape(pl.col("activity")),
                    pl.col("timestamp").dt.strftime(stamp_format),
                ),
                *optional,
                pl.lit("\t\t</event>\n"),
            ]
        ).alias("xml")
    )["xml"]
    for start in range(0, events.len(), _WRITE_ROWS):
        yield "".join(events.slice(start, _WRITE_ROWS).to_list())
    yield "\t</trace>\n</log>\n"


def write_xes(log: EventLog, target: str | os.PathLike[str] | IO[bytes], *, compress: bool | None = None) -> None:
    """Write ``log`` as XES; gzip-compressed when ``compress`` or when the path ends in ``.gz``."""
    if isinstance(target, str | os.PathLike):
        path = Path(target)
        compress = path.suffix == ".gz" if compress is None else compress
        with open(path, "wb") as handle:
            _write(log, handle, bool(compress))
        return
    _write(log, target, bool(compress))


def _write(log: EventLog, handle: IO[bytes], compress: bool) -> None:
    if compress:
        with gzip.GzipFile(fileobj=handle, mode="wb", compresslevel=6, mtime=0) as packed:
            for piece in xes_lines(log):
                packed.write(piece.encode("utf-8"))
        return
    for piece in xes_lines(log):
        handle.write(piece.encode("utf-8"))
