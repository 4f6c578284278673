"""Repeat complaints: the same customer (or claim) and category within the window are linked both ways."""

from __future__ import annotations

from claimwatch.config import get_settings
from tests.complaints.helpers import Desk, local


def test_repeat_inside_the_window_links_to_the_most_recent(desk: Desk) -> None:
    assert get_settings().complaints_repeat_window_days == 90
    who = {"name": "赵六", "id_number": "440101198001011234", "phone": "13600003333"}
    first = desk.file(received_at=local(2026, 6, 1, 10), complainant=who)
    second = desk.file(received_at=local(2026, 7, 1, 10), complainant=who)
    # Same person by ID number although the phone changed.
    third = desk.file(received_at=local(2026, 9, 20, 10), complainant=who | {"phone": "13600004444"})
    other_category = desk.file(received_at=local(2026, 9, 21, 10), complainant=who, category="sales", sub_cause=None)
    stranger = desk.file(received_at=local(2026, 9, 22, 10), complainant={"phone": "13600005555"})

    assert desk.complaint(first).repeat_of_id is None
    assert desk.complaint(second).repeat_of_id == desk.complaint(first).id
    assert desk.complaint(third).repeat_of_id == desk.complaint(second).id  # the most recent, 81 days back
    assert desk.complaint(other_category).repeat_of_id is None
    assert desk.complaint(stranger).repeat_of_id is None
    assert [e.kind for e in desk.events(second)].count("repeat_linked") == 2  # linked to first, then by third
    assert f'"repeated_by": "{third}"' in next(
        e.data or "" for e in desk.events(second) if e.kind == "repeat_linked" and "repeated_by" in (e.data or "")
    )


def test_outside_the_window_is_a_new_complaint(desk: Desk) -> None:
    who = {"phone": "13600006666"}
    desk.file(received_at=local(2026, 5, 1, 10), complainant=who)
    late = desk.file(received_at=local(2026, 7, 31, 10), complainant=who)  # 91 days later
    assert desk.complaint(late).repeat_of_id is None


def test_complaints_on_the_same_claim_are_repeats_whoever_calls(client, desk: Desk) -> None:
    from tests.factories import reported

    client.post(
        "/api/v1/events",
        json={"events": [reported("e-1", "C-300")]},
        headers={"X-API-Key": desk.tenant.api_key},
    ).raise_for_status()
    first = desk.file(received_at=local(2026, 11, 2, 10), claim_number="C-300", complainant={"phone": "13500001111"})
    second = desk.file(received_at=local(2026, 11, 5, 10), claim_number="C-300", complainant={"phone": "13500002222"})
    assert desk.complaint(second).repeat_of_id == desk.complaint(first).id
    with desk.session() as session:
        from claimwatch.complaints import queries as complaint_queries

        view = complaint_queries.complaint_view(session, complaint_queries.get_complaint(session, first), "zh")
    assert [(r["number"], r["relation"], r["linked"]) for r in view["related"]] == [(second, "later", True)]
