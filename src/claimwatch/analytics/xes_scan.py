"""One vectorised pass over the bytes of an XES body: the tags, how they nest, and the values read.

The fast path of :func:`claimwatch.analytics.xes.read_xes` hands pieces of the body (everything after
the header, cut after an ``</event>``) to :func:`scan`. It never builds an XML tree nor a Python object
per element: NumPy finds every ``<`` and ``"`` of the piece, recognises each tag by comparing the eight
bytes at fixed positions with constants (``<trace>``, ``</event>``, ``<date key="``, ``" value="``,
``time:timestamp``…), checks that the tags nest as XES prescribes, and copies the values of the four
keys read (``concept:name``, ``time:timestamp``, ``org:resource``, ``lifecycle:transition``) into one
compact buffer that Polars' CSV reader turns into a string column. Tags may share a line or not.

Only what is certain is accepted. An attribute must be exactly ``<string key="…" value="…"/>`` (or
``date``, ``int``, ``float``, ``boolean``, ``id``; ``" />`` too) with single spaces; anything else — another attribute
order, single quotes, ``<tag …></tag>``, nested attributes, lists, containers, comments, CDATA,
processing instructions, an ``&`` that is not a known entity in a value, characters XML forbids, a tab
or line break inside a value read (expat would turn it into a space), invalid UTF-8 — raises
:class:`NotSimple`, and the caller reads the whole file with expat instead.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
import polars as pl

KEYS = ("concept:name", "time:timestamp", "org:resource", "lifecycle:transition")
TRACE, TRACE_END, EVENT, EVENT_END, LOG_END, ATTRIBUTE = 1, 2, 3, 4, 5, 6
_STRUCTURAL = {TRACE: b"<trace>", TRACE_END: b"</trace>", EVENT: b"<event>", EVENT_END: b"</event>", LOG_END: b"</log>"}
_DELTA = np.array([0, 1, -1, 1, -1, 0, 0], dtype=np.int64)  # depth change by kind
_DEPTH_BEFORE = np.array([-1, 0, 1, 1, 2, 0, -1], dtype=np.int64)  # required depth by kind (attributes: 1 or 2)
_OPENINGS = (b'<string key="', b'<date key="', b'<int key="', b'<float key="', b'<boolean key="', b'<id key="')
_MIDDLE = b'" value="'
_CLOSINGS = (b'"/>', b'" />')  # ours and OpenXES's; pm4py's
_ROW_HEADER = b'x"value\n'
# Every "&": a named entity, a character reference, or (no group matched) a bare "&" that is not XML.
_AMP = re.compile(rb"&(?:(lt|gt|amp|quot|apos);|#([0-9]+);|#x([0-9a-fA-F]+);)?")
UInt64Array = npt.NDArray[np.uint64]
IntArray = npt.NDArray[np.int64]


class NotSimple(Exception):
    """The piece holds something the scan does not read with certainty."""


@dataclass(frozen=True)
class Piece:
    """What one piece holds: its events, the values read, and how the nesting stands after it."""

    event_trace: IntArray  # per event of the piece, its trace number (counted over the whole file)
    value_event: IntArray  # per value read: its event's number within the piece, or -1 for a trace's name
    value_trace: IntArray  # per value read: its trace number
    value_key: npt.NDArray[np.int8]  # per value read: 1 + its index in KEYS
    values: pl.Series  # the values as text, entities not yet decoded
    depth: int
    traces: int
    ended: bool


def _const(text: bytes) -> int:
    return int.from_bytes(text[:8].ljust(8, b"\0"), "little")


def _mask(length: int) -> np.uint64:
    return np.uint64((1 << (8 * min(length, 8))) - 1)


def _words(text: bytes) -> UInt64Array:
    """The text as little-endian uint64 words, padded so that any position's eight bytes can be read."""
    padding = 16 + (-len(text)) % 8
    return np.frombuffer(text + bytes(padding), dtype="<u8")


def _at(words: UInt64Array, positions: IntArray) -> UInt64Array:
    """The eight bytes at each position as a uint64: two aligned words shifted together."""
    index = positions >> 3
    shift = ((positions & 7) << 3).astype(np.uint64)
    # The high part is shifted in two steps: by 64 at once (an aligned position) is not defined.
    return (words[index] >> shift) | ((words[index + 1] << np.uint64(1)) << (np.uint64(63) - shift))


class _Window:
    """The bytes from each of some positions on, read eight at a time when first needed."""

    def __init__(self, words: UInt64Array, positions: IntArray, first: UInt64Array | None = None) -> None:
        self._words = words
        self._positions = positions
        self._read: list[UInt64Array] = [] if first is None else [first]  # ``first``: already read

    def word(self, index: int) -> UInt64Array:
        while len(self._read) <= index:
            self._read.append(_at(self._words, self._positions + 8 * len(self._read)))
        return self._read[index]

    def holds(self, expected: bytes, lengths: IntArray | None = None) -> npt.NDArray[np.bool_]:
        """Whether ``expected`` starts at each position (and, when given, is ``lengths`` long there)."""
        found = np.ones(len(self._positions), dtype=bool) if lengths is None else lengths == len(expected)
        for index in range(0, len(expected), 8):
            chunk = expected[index : index + 8]
            found &= (self.word(index // 8) & _mask(len(chunk))) == np.uint64(_const(chunk))
        return found

    def holds_where(self, expected: bytes, lengths: IntArray) -> npt.NDArray[np.bool_]:
        """As :meth:`holds` with lengths, reading only the positions of the right length (keys: few match)."""
        found = np.zeros(len(self._positions), dtype=bool)
        candidates = np.flatnonzero(lengths == len(expected))
        found[candidates] = _Window(self._words, self._positions[candidates]).holds(expected)
        return found


def _check_characters(text: bytes, body: npt.NDArray[np.uint8]) -> None:
    # Control characters other than tab and line feed (CR was normalised by the caller), U+FFFE/U+FFFF,
    # "]]>" in character data, and invalid UTF-8 make a file that expat rejects. (NumPy counts and memchr
    # first: a plain substring search over the whole piece costs more than the split itself.)
    controls = body[body < 0x20]  # tabs and line feeds of the indentation, mostly: a short array
    if not np.all((controls == 0x09) | (controls == 0x0A)):
        raise NotSimple
    if b"]" in text and b"]]>" in text:
        raise NotSimple
    if not text.isascii():
        if b"\xef\xbf\xbe" in text or b"\xef\xbf\xbf" in text:
            raise NotSimple
        try:
            text.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise NotSimple from exc


def _check_entities(text: bytes, body: npt.NDArray[np.uint8], marks: IntArray) -> None:
    """An "&" may only stand in a value, as a known entity or a character XML allows."""
    amps = np.flatnonzero(body == 0x26)
    owner = np.searchsorted(marks[:, 2], amps) - 1
    if np.any(owner < 0) or np.any(amps >= marks[np.maximum(owner, 0), 3]):
        raise NotSimple
    for index in np.unique(owner).tolist():
        value = text[int(marks[index, 2]) + 1 : int(marks[index, 3])]
        for match in _AMP.finditer(value):
            named, decimal, hexadecimal = match.groups()
            if named:
                continue
            if decimal is None and hexadecimal is None:
                raise NotSimple
            code = int(decimal) if decimal else int(hexadecimal, 16)
            if not (
                code in (0x9, 0xA, 0xD)
                or 0x20 <= code <= 0xD7FF
                or 0xE000 <= code <= 0xFFFD
                or 0x10000 <= code <= 0x10FFFF
            ):
                raise NotSimple


def scan(text: bytes, depth: int, traces: int, ended: bool) -> Piece:  # noqa: C901 - one vectorised pass
    """Read one piece; ``depth``, ``traces`` and ``ended`` say how the previous pieces left the nesting."""
    body = np.frombuffer(text, dtype=np.uint8)
    _check_characters(text, body)
    words = _words(text)
    opens = np.flatnonzero(body == 0x3C)
    quotes = np.flatnonzero(body == 0x22)

    kind = np.full(len(opens), ATTRIBUTE, dtype=np.int8)
    tags = _Window(words, opens)
    for code, tag in _STRUCTURAL.items():
        kind[tags.holds(tag)] = code

    # Attributes: their four quotes are the next four of the piece, and every quote is one of them.
    attribute = np.flatnonzero(kind == ATTRIBUTE)
    starts = opens[attribute]
    if len(quotes) != 4 * len(starts):
        raise NotSimple
    marks = quotes.reshape(-1, 4)
    if len(starts) and not (np.all(marks[:, 0] > starts) and np.all(starts[1:] > marks[:-1, 3])):
        raise NotSimple
    openings = np.zeros(len(starts), dtype=bool)
    attribute_tags = _Window(words, starts, tags.word(0)[attribute])
    opening_lengths = marks[:, 0] + 1 - starts
    for opening in _OPENINGS:
        openings |= attribute_tags.holds(opening, opening_lengths)
    closings = _Window(words, marks[:, 3])
    if not (
        openings.all()
        and _Window(words, marks[:, 1]).holds(_MIDDLE, marks[:, 2] + 1 - marks[:, 1]).all()
        and (closings.holds(_CLOSINGS[0]) | closings.holds(_CLOSINGS[1])).all()
    ):
        raise NotSimple
    # No other tag may begin inside an attribute (a raw "<" in a value is not XML anyway).
    following = attribute + 1
    inside = following < len(opens)
    if np.any(opens[following[inside]] < marks[inside, 3]):
        raise NotSimple

    # Nesting, as expat would see it.
    delta = _DELTA[kind]
    before = np.cumsum(delta) - delta + depth
    required = _DEPTH_BEFORE[kind]
    is_attribute = kind == ATTRIBUTE
    misplaced = np.where(is_attribute, (before != 1) & (before != 2), before != required)
    if misplaced.any():
        raise NotSimple
    log_ends = np.flatnonzero(kind == LOG_END)
    if (ended and len(kind)) or len(log_ends) > 1 or (len(log_ends) and log_ends[0] != len(kind) - 1):
        raise NotSimple
    if len(log_ends) and text[int(opens[-1]) + len(b"</log>") :].strip(b" \t\n"):
        raise NotSimple  # character data after the root element
    if ended and text.strip(b" \t\n"):
        raise NotSimple

    if b"&" in text:
        _check_entities(text, body, marks)

    trace_of = np.cumsum(kind == TRACE) + (traces - 1)
    event_of = np.cumsum(kind == EVENT) - 1
    key_starts, key_lengths = marks[:, 0] + 1, marks[:, 1] - marks[:, 0] - 1
    key = np.zeros(len(starts), dtype=np.int8)
    keys = _Window(words, key_starts)
    for code, name in enumerate(KEYS, 1):
        key[keys.holds_where(name.encode(), key_lengths)] = code
    level = before[attribute]
    read = np.flatnonzero(((level == 2) & (key > 0)) | ((level == 1) & (key == 1)))
    values = _values(body, marks[read, 2], marks[read, 3])
    events = np.flatnonzero(kind == EVENT)
    return Piece(
        event_trace=trace_of[events],
        value_event=np.where(level[read] == 2, event_of[attribute[read]], -1),
        value_trace=trace_of[attribute[read]],
        value_key=key[read],
        values=values,
        depth=int(depth + delta.sum()),
        traces=traces + int(np.count_nonzero(kind == TRACE)),
        ended=ended or bool(len(log_ends)),
    )


def _values(body: npt.NDArray[np.uint8], opening_quotes: IntArray, closing_quotes: IntArray) -> pl.Series:
    """The text between each pair of quotes, as one string column (one native copy, one CSV parse)."""
    if not len(opening_quotes):
        return pl.Series("value", [], dtype=pl.String)
    # Each row of the buffer is '"' + value + '\n': the opening quote keeps an empty value's row non-empty.
    # The bytes kept are marked by runs (outside, inside, outside, …) and taken in one pass.
    bounds = np.empty(2 * len(opening_quotes) + 2, dtype=np.int64)
    bounds[0], bounds[-1] = 0, len(body)
    bounds[1:-1:2], bounds[2:-1:2] = opening_quotes, closing_quotes + 1
    inside = np.zeros(len(bounds) - 1, dtype=bool)
    inside[1::2] = True
    buffer = body[np.repeat(inside, np.diff(bounds))]
    buffer[np.cumsum(closing_quotes - opening_quotes + 1) - 1] = 0x0A
    try:
        frame = pl.read_csv(_ROW_HEADER + buffer.tobytes(), separator='"', quote_char=None, infer_schema=False)
    except pl.exceptions.PolarsError as exc:
        raise NotSimple from exc
    if frame.height != len(opening_quotes):
        raise NotSimple  # a line break inside a value: expat would read it as a space
    column = frame["value"].fill_null("")
    if column.str.contains("\t", literal=True).any():
        raise NotSimple  # expat turns a tab in an attribute value into a space
    return column
