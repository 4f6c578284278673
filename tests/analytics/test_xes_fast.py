"""The vectorised fast path of read_xes gives exactly the expat reader's frame, and gives up when unsure."""

from __future__ import annotations

import io
from pathlib import Path

import polars as pl
import pytest

from claimwatch.analytics import xes
from claimwatch.analytics.log import EventLog
from claimwatch.analytics.xes import read_xes, write_xes
from tests.analytics.pm4py_reference import DATA

HEAD = '<?xml version="1.0" encoding="UTF-8"?>\n<log xes.version="1849-2016" xmlns="http://www.xes-standard.org/">\n'


def _expat(source: Path | io.BytesIO) -> pl.DataFrame:
    stream, label, _owned = xes._open(source)
    frames = list(xes._parse(stream, label))
    stream.close()
    frame = (
        pl.concat(frames)
        if frames
        else pl.DataFrame(schema={"case": pl.String, "activity": pl.String, "timestamp": xes.TIMESTAMP})
    )
    return EventLog.from_frame(frame.drop("trace", "line", strict=False)).frame


def _doc(body: str) -> bytes:
    return (HEAD + body + "</log>\n").encode()


def _event(*lines: str) -> str:
    return "\t\t<event>\n" + "".join(f"\t\t\t{line}\n" for line in lines) + "\t\t</event>\n"


@pytest.mark.parametrize("name", ["running-example.xes", "helpdesk.xes.gz", "teleclaims.xes.gz"])
def test_public_logs_take_the_fast_path_and_match_expat(name, tmp_path):
    path = DATA / name
    assert xes._read_fast(path, name) is not None
    fast = read_xes(path).frame
    assert fast.equals(_expat(path))
    again = tmp_path / "again.xes.gz"
    write_xes(read_xes(path), again)
    assert xes._read_fast(again, "again") is not None
    assert read_xes(again).frame.equals(_expat(again))


STAMP = '<date key="time:timestamp" value="2026-01-01T08:00:00+08:00"/>'

FAST_BODIES = {
    "escapes": '\t<trace>\n\t\t<string key="concept:name" value="c&lt;1&gt; &amp; &quot;x&quot;"/>\n'
    + _event('<string key="concept:name" value="a &amp; b&#10;c&#x4E2D;&apos;"/>', STAMP)
    + "\t</trace>\n",
    "offsets_and_fractions": "\t<trace>\n"
    + _event(
        '<string key="concept:name" value="a"/>', '<date key="time:timestamp" value="2026-01-01T08:00:00.123+08:00"/>'
    )
    + _event(
        '<string key="concept:name" value="b"/>', '<date key="time:timestamp" value="2026-01-01T00:00:00.123456Z"/>'
    )
    + _event('<string key="concept:name" value="c"/>', '<date key="time:timestamp" value="2026-01-01T01:00:00"/>')
    + _event('<string key="concept:name" value="d"/>', '<date key="time:timestamp" value="2026-01-01T01:00:00-05:30"/>')
    + "\t</trace>\n",
    "late_name_duplicates_no_name": "\t<trace>\n"
    + _event(
        '<string key="concept:name" value="a"/>',
        '<string key="concept:name" value="a2"/>',
        STAMP,
        '<string key="org:resource" value="ann"/>',
        '<string key="lifecycle:transition" value="start"/>',
    )
    + '\t\t<string key="concept:name" value="late"/>\n\t</trace>\n\t<trace>\n'
    + _event('<string  key="concept:name"\tvalue="b" />', STAMP, '<int key="n" value="1"/>')
    + "\t</trace>\n\n",
}


@pytest.mark.parametrize("body", FAST_BODIES.values(), ids=FAST_BODIES.keys())
def test_tricky_files_on_the_fast_path(body):
    data = _doc(body)
    assert xes._read_fast(io.BytesIO(data), "x") is not None
    assert read_xes(io.BytesIO(data)).frame.equals(_expat(io.BytesIO(data)))


SLOW_BODIES = {
    "attribute_order": "\t<trace>\n" + _event('<string value="a" key="concept:name"/>', STAMP) + "\t</trace>\n",
    "nested": "\t<trace>\n"
    + _event(
        '<string key="concept:name" value="a"/>',
        STAMP,
        '<string key="x" value="y">',
        '<string key="concept:name" value="nested"/>',
        "</string>",
    )
    + "\t</trace>\n",
    "two_on_a_line": '\t<trace>\n\t\t<event><string key="concept:name" value="a"/>\n\t\t\t'
    + STAMP
    + "\n\t\t</event>\n\t</trace>\n",
    "comment": "\t<trace>\n<!-- hi -->\n" + _event('<string key="concept:name" value="a"/>', STAMP) + "\t</trace>\n",
    "cdata_single_quotes": "\t<trace>\n" + _event("<string key='concept:name' value='a'/>", STAMP) + "\t</trace>\n",
    "tab_in_value": "\t<trace>\n" + _event('<string key="concept:name" value="a\tb"/>', STAMP) + "\t</trace>\n",
    "bad_timestamp_text": "\t<trace>\n"
    + _event('<string key="concept:name" value="a"/>', '<date key="time:timestamp" value="yesterday"/>')
    + "\t</trace>\n",
}


@pytest.mark.parametrize("body", SLOW_BODIES.values(), ids=SLOW_BODIES.keys())
def test_unusual_files_fall_back_to_expat(body):
    data = _doc(body)
    assert xes._read_fast(io.BytesIO(data), "x") is None
    if b"yesterday" in data:
        with pytest.raises(xes.XesError, match="bad time:timestamp 'yesterday'"):
            read_xes(io.BytesIO(data))
        return
    assert read_xes(io.BytesIO(data)).frame.equals(_expat(io.BytesIO(data)))


def test_globals_in_header_and_missing_timestamp_fall_back():
    header = '\t<global scope="event">\n\t\t<string key="concept:name" value="__INVALID__"/>\n\t</global>\n'
    data = _doc(header + "\t<trace>\n" + _event('<string key="concept:name" value="a"/>', STAMP) + "\t</trace>\n")
    assert xes._read_fast(io.BytesIO(data), "x") is not None
    assert read_xes(io.BytesIO(data)).frame.equals(_expat(io.BytesIO(data)))
    missing = _doc("\t<trace>\n" + _event('<string key="concept:name" value="a"/>') + "\t</trace>\n")
    assert xes._read_fast(io.BytesIO(missing), "x") is None
    with pytest.raises(xes.XesError, match="without time:timestamp"):
        read_xes(io.BytesIO(missing))
