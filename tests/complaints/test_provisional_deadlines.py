"""Complaint deadlines in a year whose holiday arrangement is not loaded: computed on the statutory holidays
(暂定), shown marked, and recomputed — the mark cleared — when the official year is loaded."""

from __future__ import annotations

import datetime as dt
import json
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select
from typer.testing import CliRunner

from claimwatch.auth.models import Role
from claimwatch.cli import app
from claimwatch.complaints import clocks
from claimwatch.complaints import queries as complaint_queries
from claimwatch.complaints import service as complaints_service
from claimwatch.complaints.models import ComplaintEvent
from claimwatch.db import TenantContext, unit_of_work
from tests.complaints.helpers import Desk, decision
from tests.web.conftest import sign_in

TZ = ZoneInfo("Asia/Shanghai")


def _view(desk: Desk, number: str) -> dict:
    with desk.session() as session:
        complaint = complaint_queries.get_complaint(session, number)
        return complaint_queries.complaint_view(session, complaint, "zh")


def test_the_review_window_in_an_unloaded_year_is_provisional_until_the_year_is_loaded(desk: Desk, tmp_path):
    number = desk.file()
    with desk.session() as session:
        complaints_service.decide(session, desk.handler, number, decision())
    window = desk.clocks(number, clocks.REVIEW_WINDOW)[0]
    assert window.yellow_due_at is not None
    last_day = (window.yellow_due_at - dt.timedelta(microseconds=1)).astimezone(TZ).date()
    if last_day.year <= 2026:
        pytest.skip("the 30-day review window ends inside the built-in calendar (decided before 2 December 2026)")
    view = next(k for k in _view(desk, number)["clocks"] if k["policy"] == clocks.REVIEW_WINDOW)
    assert view["provisional"] is True and view["provisional_year"] == 2027

    # The official arrangement of that year makes the last day of the window a day off: it moves a day on.
    official = f"year: {last_day.year}\nholidays:\n  - {{date: {last_day.isoformat()}, name: 调休}}\n"
    path = tmp_path / "official.yaml"
    path.write_text(official, encoding="utf-8")
    result = CliRunner().invoke(app, ["calendar", "load", str(path)])
    assert result.exit_code == 0, result.output

    moved = desk.clocks(number, clocks.REVIEW_WINDOW)[0]
    new_last = (moved.yellow_due_at - dt.timedelta(microseconds=1)).astimezone(TZ).date()
    assert new_last > last_day and new_last.weekday() < 5
    assert moved.next_check_at == moved.yellow_due_at  # the sweep looks when the window lapses
    view = next(k for k in _view(desk, number)["clocks"] if k["policy"] == clocks.REVIEW_WINDOW)
    assert view["provisional"] is False and view["provisional_year"] is None
    with unit_of_work(TenantContext.for_tenant(desk.tenant.id)) as session:
        logged = session.execute(select(ComplaintEvent).where(ComplaintEvent.kind == clocks.RECOMPUTED)).scalars().all()
    assert len(logged) == 1 and f"calendar {last_day.year} loaded" in (logged[0].note or "")
    data = json.loads(logged[0].data or "{}")
    assert data["policy"] == clocks.REVIEW_WINDOW and data["due_before"] != data["due_after"]


def test_the_complaint_page_marks_a_provisional_deadline(desk: Desk, client):
    number = desk.file()
    with desk.session() as session:
        complaints_service.decide(session, desk.handler, number, decision())
    view = next(k for k in _view(desk, number)["clocks"] if k["policy"] == clocks.REVIEW_WINDOW)
    if not view["provisional"]:
        pytest.skip("the review window ends inside the built-in calendar")
    sign_in(client, desk.world.user("acme.viewer", Role.COMPLAINT_HANDLER, desk.tenant))
    html = client.get(f"/complaints/{number}").text
    card = html[html.index(f'data-policy="{clocks.REVIEW_WINDOW}"') :]
    card = card[: card.index("</article>")]
    assert 'data-provisional="1"' in card and "provisional-note" in card
