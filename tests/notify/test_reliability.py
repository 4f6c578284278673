"""The outbox survives SIGKILL: a delivery worker subprocess is killed twice mid-run and restarted;
afterwards every message has reached the local SMTP server or webhook receiver, none is lost, and
every repeat carries the same idempotency key (a smaller run of bench/notify_reliability.py)."""

from __future__ import annotations

import pytest
from bench.notify_reliability import run

pytestmark = pytest.mark.reliability


def test_no_message_lost_when_the_worker_is_killed(database):
    report = run(database.url, messages=300, kills=2, lease=2.0, timeout=60, quiet=True)
    assert report.enqueued == 300
    assert report.kills == 2
    assert report.lost == 0
    assert report.delivered == 300
    assert report.duplicates_with_other_key == 0
    assert report.bad_signatures == 0
    assert report.received == 300 + report.duplicates
