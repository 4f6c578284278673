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


PUBLIC_LOGS = sorted(path.name for path in DATA.iterdir() if path.name.endswith((".xes", ".xes.gz")))


def test_every_public_log_is_compared():
    assert {"running-example.xes", "helpdesk.xes.gz", "teleclaims.xes.gz"} <= set(PUBLIC_LOGS)


@pytest.mark.parametrize("name", PUBLIC_LOGS)
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
    + _event('<string key="concept:name" value="b" />', STAMP, '<int key="n" value="1"/>')
    + "\t</trace>\n\n",
    "two_on_a_line": '\t<trace>\n\t\t<event><string key="concept:name" value="a"/>\n\t\t\t'
    + STAMP
    + "\n\t\t</event>\n\t</trace>\n",
    # One line, several tags on it, pm4py's " />", entities, offsets, Z, fractions, values with ">" and "'",
    # empty values, an unread attribute with a "<"-free odd value, an empty trace name, text between tags.
    "one_line": "<trace>"
    + '<string key="concept:name" value=""/><event><string key="concept:name" value="x &gt; y&#x27;s"/>'
    + '<date key="time:timestamp" value="2026-03-01T23:59:59.999999+08:00" />'
    + '<string key="org:resource" value=""/><float key="amount" value="1.5e3"/>'
    + '<boolean key="ok" value="true"/><id key="id" value="a-1"/></event> text is ignored '
    + '<event><date key="time:timestamp" value="2026-03-01T16:00:00Z"/><string key="concept:name" value="\'q\'"/>'
    + "</event></trace>\n",
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
    "odd_spacing": "\t<trace>\n" + _event('<string  key="concept:name"\tvalue="b" />', STAMP) + "\t</trace>\n",
    "not_self_closing": "\t<trace>\n"
    + _event('<string key="concept:name" value="a"></string>', STAMP)
    + "\t</trace>\n",
    "list": "\t<trace>\n"
    + _event('<string key="concept:name" value="a"/>', STAMP, '<list key="l">', "</list>")
    + "\t</trace>\n",
    "global_after_the_header": '\t<trace>\n\t\t<string key="concept:name" value="c"/>\n\t</trace>\n'
    + '\t<global scope="event"><string key="concept:name" value="g"/></global>\n\t<trace>\n'
    + _event('<string key="concept:name" value="a"/>', STAMP)
    + "\t</trace>\n",
    "line_break_in_a_value_read": "\t<trace>\n"
    + _event('<string key="concept:name" value="a\nb"/>', STAMP)
    + "\t</trace>\n",
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


# A log with what the task list names: entities, both quote styles, attributes in any order, self-closing
# and not, a <global> whose <string> must not become an event's attribute, a time zone +08:00 and Z,
# fractional seconds. The fast path hands it to expat (single quotes, other orders); both must agree.
TRICKY = (
    HEAD.rstrip("\n")
    + '\n\t<global scope="event"><string key="concept:name" value="__INVALID__"/>'
    + '<string key="org:resource" value="nobody"></string></global>\n'
    + "\t<trace>\n\t\t<string key='concept:name' value='c &amp; &quot;1&quot;'/>\n"
    + '\t\t<event><string value="a &lt;b&gt;" key="concept:name"></string>'
    + "<date key='time:timestamp' value='2026-01-01T08:00:00.5+08:00'/></event>\n"
    + '\t\t<event>\n\t\t\t<date value="2026-01-01T00:00:01.25Z" key="time:timestamp"/>\n'
    + '\t\t\t<string key="concept:name" value="b"/>\n\t\t\t<string key="lifecycle:transition" value=\'start\'/>\n'
    + "\t\t</event>\n\t</trace>\n</log>\n"
)


def test_a_tricky_log_reads_the_same_either_way():
    data = TRICKY.encode()
    assert xes._read_fast(io.BytesIO(data), "x") is None
    rows = read_xes(io.BytesIO(data)).frame.to_dicts()
    assert read_xes(io.BytesIO(data)).frame.equals(_expat(io.BytesIO(data)))
    assert [row["activity"] for row in rows] == ["a <b>", "b"]
    assert {row["case"] for row in rows} == {'c & "1"'}
    assert [row["timestamp"].isoformat() for row in rows] == [
        "2026-01-01T00:00:00.500000+00:00",
        "2026-01-01T00:00:01.250000+00:00",
    ]
    assert [row["resource"] for row in rows] == [None, None]  # the <global> default is not an attribute
    assert rows[1]["lifecycle"] == "start"


def test_the_fast_subset_of_the_tricky_log_is_read_fast_and_the_same():
    # The same log with what the fast path reads itself: double quotes, key first, self-closing.
    data = (
        TRICKY.replace("'", '"')
        .replace(
            '<string value="a &lt;b&gt;" key="concept:name"></string>',
            '<string key="concept:name" value="a &lt;b&gt;"/>',
        )
        .replace(
            '<date value="2026-01-01T00:00:01.25Z" key="time:timestamp"/>',
            '<date key="time:timestamp" value="2026-01-01T00:00:01.25Z"/>',
        )
        .replace('value="nobody"></string>', 'value="nobody"/>')
        .encode()
    )
    assert xes._read_fast(io.BytesIO(data), "x") is not None
    assert read_xes(io.BytesIO(data)).frame.equals(_expat(io.BytesIO(data)))
    assert read_xes(io.BytesIO(data)).frame["activity"].to_list() == ["a <b>", "b"]


@pytest.mark.parametrize(
    ("name", "piece"), [("running-example.xes", 40), ("running-example.xes", 1000), ("teleclaims.xes.gz", 1 << 20)]
)
def test_small_pieces_give_the_same_frame(name, piece, monkeypatch):
    # Traces and the log's end span pieces; every piece is cut after an </event>.
    monkeypatch.setattr(xes, "_FAST_PIECE", piece)
    assert xes._read_fast(DATA / name, name) is not None
    assert read_xes(DATA / name).frame.equals(_expat(DATA / name))


MALFORMED_BODIES = {
    "control_character": '\t<trace>\n\t\t<string key="note" value="a\x01"/>\n'
    + _event('<string key="concept:name" value="a"/>', STAMP)
    + "\t</trace>\n",
    "bare_ampersand_in_a_value_not_read": "\t<trace>\n"
    + _event('<string key="concept:name" value="a"/>', STAMP, '<string key="note" value="R&D"/>')
    + "\t</trace>\n",
    "bad_character_reference": "\t<trace>\n"
    + _event('<string key="concept:name" value="a&#1;"/>', STAMP)
    + "\t</trace>\n",
    "text_after_the_log": "\t<trace>\n"
    + _event('<string key="concept:name" value="a"/>', STAMP)
    + "\t</trace>\n</log>\nx",
    "cdata_end_in_text": "\t<trace>\n]]>\n" + _event('<string key="concept:name" value="a"/>', STAMP) + "\t</trace>\n",
    "unclosed_trace": "\t<trace>\n" + _event('<string key="concept:name" value="a"/>', STAMP),
}


@pytest.mark.parametrize("body", MALFORMED_BODIES.values(), ids=MALFORMED_BODIES.keys())
def test_malformed_files_are_left_to_expat_which_rejects_them(body):
    data = (HEAD + body + ("" if "</log>" in body else "</log>\n")).encode()
    assert xes._read_fast(io.BytesIO(data), "x") is None
    with pytest.raises(xes.XesError):
        read_xes(io.BytesIO(data))


def test_invalid_utf8_is_left_to_expat():
    data = _doc("\t<trace>\n" + _event('<string key="concept:name" value="a"/>', STAMP) + "\t</trace>\n")
    data = data.replace(b'value="a"', b'value="\xff"')
    assert xes._read_fast(io.BytesIO(data), "x") is None
    with pytest.raises(xes.XesError):
        read_xes(io.BytesIO(data))
