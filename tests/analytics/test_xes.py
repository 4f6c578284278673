"""XES reading (plain, gzip, odd but valid shapes), clear errors for bad files, and the round trip."""

from __future__ import annotations

import datetime as dt
import gzip
import io

import polars as pl
import pytest

from claimwatch.analytics import process
from claimwatch.analytics.log import EventLog
from claimwatch.analytics.xes import XesError, read_xes, write_xes
from tests.analytics.pm4py_reference import DATA, assert_same_as_pm4py, pm4py_results

HEAD = '<?xml version="1.0" encoding="UTF-8"?>\n<log xes.version="1849-2016" xmlns="http://www.xes-standard.org/">\n'


def _xes(body: str) -> io.BytesIO:
    return io.BytesIO((HEAD + body + "</log>\n").encode())


def test_plain_and_gzip_read_the_same(tmp_path):
    plain = read_xes(DATA / "running-example.xes")
    packed = tmp_path / "example.xes.gz"
    packed.write_bytes(gzip.compress((DATA / "running-example.xes").read_bytes()))
    assert read_xes(packed).frame.equals(plain.frame)
    assert plain.frame.schema["timestamp"] == pl.Datetime("us", "UTC")


def test_attribute_order_offsets_nesting_and_entities():
    log = read_xes(
        _xes(
            '<global scope="event"><string key="concept:name" value="__INVALID__"/></global>\n'
            '<trace><event><string value="a &amp; b" key="concept:name"/>'
            '<date key="time:timestamp" value="2026-01-01T08:00:00+08:00"/>'
            '<string key="note" value="x"><string key="concept:name" value="nested, not the activity"/></string>'
            "</event>\n"
            '<string key="concept:name" value="late name"/>'
            '<event><string key="concept:name" value="b"/><date key="time:timestamp" value="2026-01-01T00:30:00Z"/>'
            '<string key="org:resource" value="ann"/><string key="lifecycle:transition" value="complete"/></event>'
            "<event><string key=\"concept:name\" value=\"c\"/><date key='time:timestamp' value='2026-01-01T01:00:00'/>"
            "</event></trace>"
        )
    )
    rows = log.frame.to_dicts()
    assert [row["activity"] for row in rows] == ["a & b", "b", "c"]
    assert {row["case"] for row in rows} == {"late name"}
    assert rows[0]["timestamp"] == dt.datetime(2026, 1, 1, tzinfo=dt.UTC)
    assert rows[2]["timestamp"] == dt.datetime(2026, 1, 1, 1, tzinfo=dt.UTC)  # no offset: UTC
    assert rows[1]["resource"] == "ann" and rows[1]["lifecycle"] == "complete"


def test_ties_keep_file_order_within_a_case():
    stamp = '<date key="time:timestamp" value="2026-01-01T00:00:00Z"/>'
    body = '<trace><string key="concept:name" value="1"/>' + "".join(
        f'<event><string key="concept:name" value="{name}"/>{stamp}</event>' for name in "zyx"
    )
    log = read_xes(_xes(body + "</trace>"))
    assert process.variant_counts(log) == {("z", "y", "x"): 1}


@pytest.mark.parametrize(
    ("body", "message", "line"),
    [
        ("<trace><event></trace>", "malformed XML: mismatched tag", 3),
        ('<trace><event><string key="concept:name" value="a"/></event></trace>', "without time:timestamp", 3),
        (
            '<trace>\n<event><date key="time:timestamp" value="2026-01-01T00:00:00Z"/></event></trace>',
            "without concept:name",
            4,
        ),
        (
            '<trace>\n\n<event><string key="concept:name" value="a"/>'
            '<date key="time:timestamp" value="yesterday"/></event></trace>',
            "bad time:timestamp 'yesterday'",
            5,
        ),
    ],
)
def test_malformed_files_are_rejected_with_line(body, message, line):
    with pytest.raises(XesError) as caught:
        read_xes(_xes(body), name="bad.xes")
    assert message in str(caught.value)
    assert str(caught.value).startswith(f"bad.xes:{line}")
    assert caught.value.line == line


def test_not_xes_truncated_and_corrupt_gzip(tmp_path):
    with pytest.raises(XesError, match=r"x\.xml:1:1: not an XES log: the root element is <html>"):
        read_xes(io.BytesIO(b"<html></html>"), name="x.xml")
    whole = (DATA / "running-example.xes").read_bytes()
    cut = tmp_path / "cut.xes"
    cut.write_bytes(whole[: len(whole) // 2])
    with pytest.raises(XesError, match=r"cut\.xes:\d+:\d+: malformed XML"):
        read_xes(cut)
    broken = tmp_path / "broken.xes.gz"
    broken.write_bytes(gzip.compress(whole)[:-40])
    with pytest.raises(XesError, match="corrupt or truncated gzip"):
        read_xes(broken)
    with pytest.raises(XesError, match="empty.xes:1:1: malformed XML: no element found"):
        read_xes(io.BytesIO(b""), name="empty.xes")
    with pytest.raises(XesError, match="cannot open"):
        read_xes(tmp_path / "missing.xes")


@pytest.mark.parametrize("compress", [False, True])
def test_round_trip_through_our_reader(tmp_path, compress):
    original = read_xes(DATA / "teleclaims.xes.gz")
    target = tmp_path / ("out.xes.gz" if compress else "out.xes")
    write_xes(original, target)
    again = read_xes(target)
    assert again.frame.equals(original.frame)


def test_round_trip_through_pm4py(tmp_path):
    rows = [
        (
            "c<1>",
            "报案 & co",
            dt.datetime(2026, 1, 1, 8, 0, 0, 123456, tzinfo=dt.timezone(dt.timedelta(hours=8))),
            "张",
            None,
        ),
        ("c<1>", 'say "hi"', dt.datetime(2026, 1, 1, 1, 0, tzinfo=dt.UTC), None, "start"),
        ("c<1>", 'say "hi"', dt.datetime(2026, 1, 1, 1, 0, tzinfo=dt.UTC), None, "complete"),
        ("c2", "报案 & co", dt.datetime(2026, 1, 2, tzinfo=dt.UTC), "李", "complete"),
        ("c2", "end", dt.datetime(2026, 1, 3, 0, 0, 0, 1, tzinfo=dt.UTC), None, None),
    ]
    log = EventLog.from_rows(rows)
    target = tmp_path / "mine.xes"
    write_xes(log, target)
    assert read_xes(target).frame.equals(log.frame)
    assert_same_as_pm4py(log, pm4py_results(target))
