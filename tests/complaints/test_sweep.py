"""The complaint sweep: overdue warnings once per (clock, level), major complaints to the special team."""

from __future__ import annotations

import threading

import pytest

from claimwatch.complaints import jobs
from claimwatch.complaints import service as complaints_service
from claimwatch.complaints.vocabulary import ComplaintError
from tests.complaints.helpers import Desk, local


def _notices(desk: Desk) -> list[tuple[str, str, str]]:
    return [(n.recipient_role, n.kind, n.dedupe_key) for n in desk.staff_notices()]


def test_major_complaint_notifies_staff_at_intake(desk: Desk) -> None:
    number = desk.file(major_reasons=["group", "media"], received_at=local(2026, 11, 2, 10))
    complaint = desk.complaint(number)
    assert complaint.special_team and complaint.major_reasons == "group,media"
    notices = desk.staff_notices()
    assert sorted((n.recipient_role, n.kind) for n in notices) == [
        ("quality_manager", "complaint_major"),
        ("supervisor", "complaint_major"),
    ]
    assert "群体性投诉" in notices[0].subject and number in notices[0].body
    assert "escalated_major" in [e.kind for e in desk.events(number)]


def test_a_complaint_can_turn_major_after_intake(desk: Desk) -> None:
    """The media pick a complaint up a week in: it goes to the special team and staff are told once per
    escalation; asking again for the same reason is refused, a new reason escalates again."""
    number = desk.file(received_at=local(2026, 11, 2, 10))
    assert desk.staff_notices() == []
    with desk.session() as session:
        complaints_service.accept(session, desk.handler, number, at=local(2026, 11, 2, 11))
        complaints_service.mark_major(session, desk.handler, number, ["media"], "媒体报道", at=local(2026, 11, 9, 9))
    complaint = desk.complaint(number)
    assert complaint.special_team and complaint.major_reasons == "media"
    assert sorted((n.recipient_role, n.kind) for n in desk.staff_notices()) == [
        ("quality_manager", "complaint_major"),
        ("supervisor", "complaint_major"),
    ]
    with pytest.raises(ComplaintError) as again:
        with desk.session() as session:
            complaints_service.mark_major(session, desk.handler, number, ["media"], "再次报道")
    assert again.value.status == 409 and again.value.field == "major_reasons"
    with pytest.raises(ComplaintError) as unknown:
        with desk.session() as session:
            complaints_service.mark_major(session, desk.handler, number, ["famous"], "名人")
    assert unknown.value.status == 422 and "vulnerable" in unknown.value.message
    with desk.session() as session:
        reasons = ["group", "media"]
        complaints_service.mark_major(session, desk.handler, number, reasons, "多人联名", at=local(2026, 11, 10))
    assert desk.complaint(number).major_reasons == "group,media"
    assert len(desk.staff_notices()) == 4
    assert [e.kind for e in desk.events(number)].count("marked_major") == 2


def test_yellow_then_red_each_warn_once(desk: Desk) -> None:
    ordinary = desk.file(received_at=local(2026, 11, 2, 10))  # due end of 11-17, red end of 11-22 (Sun) → 11-23
    major = desk.file(received_at=local(2026, 11, 2, 11), major_reasons=["vulnerable"])
    intake_notices = len(desk.staff_notices())

    assert jobs.sweep(now=local(2026, 11, 17, 23)).checked == 0
    first = jobs.sweep(now=local(2026, 11, 18, 8))
    assert (first.yellow, first.red) == (2, 0)
    again = jobs.sweep(now=local(2026, 11, 18, 9))
    assert (again.checked, again.yellow) == (0, 0)
    notices = _notices(desk)[intake_notices:]
    assert sorted((role, kind) for role, kind, _ in notices) == [
        ("quality_manager", "complaint_major_overdue"),
        ("supervisor", "complaint_overdue"),
        ("supervisor", "complaint_overdue"),
    ]
    clock = desk.clocks(ordinary)[0]
    assert (clock.light, clock.escalated, clock.next_check_at) == ("yellow", 1, clock.red_due_at)

    second = jobs.sweep(now=local(2026, 11, 24, 8))
    assert (second.yellow, second.red) == (0, 2)
    jobs.sweep(now=local(2026, 11, 25, 8))
    red = [n for n in _notices(desk) if n[1] == "complaint_overdue_red"]
    assert len(red) == 2 and {role for role, _, _ in red} == {"quality_manager"}
    for number in (ordinary, major):
        levels = [e.data for e in desk.events(number) if e.kind == "overdue"]
        assert len(levels) == 2 and '"level": "yellow"' in levels[0] and '"level": "red"' in levels[1]


def test_concurrent_sweeps_warn_once(desk: Desk, database) -> None:
    numbers = [desk.file(received_at=local(2026, 11, 2, 9 + i)) for i in range(6)]
    intake_notices = len(desk.staff_notices())
    errors: list[BaseException] = []
    start = threading.Barrier(4)

    def run() -> None:
        try:
            start.wait()
            jobs.sweep(now=local(2026, 11, 18, 8))
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    threads = [threading.Thread(target=run) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not errors
    notices = desk.staff_notices()[intake_notices:]
    assert len(notices) == len(numbers) == len({n.dedupe_key for n in notices})
    for number in numbers:
        assert [e.kind for e in desk.events(number)].count("overdue") == 1
