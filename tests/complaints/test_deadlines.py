"""Deadlines on the SLA engine: 15 days (art. 201/203), complex 30, approved 60 with a notice, appraisal
excluded, new facts restart, withdrawal closes, the decision letter and the review (核查)."""

from __future__ import annotations

import chinese_calendar
import pytest

from claimwatch.complaints import jobs, repository
from claimwatch.complaints import queries as complaint_queries
from claimwatch.complaints import service as complaints_service
from claimwatch.complaints.vocabulary import ComplaintError
from tests.complaints.helpers import Desk, decision, end_of_local_day, local


def test_fifteen_days_count_from_the_next_day_and_roll_past_the_national_holiday(desk: Desk) -> None:
    # Received Wed 09-16: day 15 is Thu 10-01, National Day; the deadline rolls to the first working day.
    assert not chinese_calendar.is_workday(local(2026, 10, 1).date())
    assert chinese_calendar.is_workday(local(2026, 10, 8).date())
    rolled = desk.file(received_at=local(2026, 9, 16, 17, 30))
    assert desk.clocks(rolled)[0].yellow_due_at == end_of_local_day(2026, 10, 8)
    # Received Mon 09-28: the days run through the holiday (calendar days) and end on Tue 10-13, a working day.
    assert chinese_calendar.is_workday(local(2026, 10, 13).date())
    through = desk.file(received_at=local(2026, 9, 28, 23, 50))
    clock = desk.clocks(through)[0]
    assert clock.yellow_due_at == end_of_local_day(2026, 10, 13)
    assert clock.red_due_at == end_of_local_day(2026, 10, 19)  # 20 days: Sun 10-18 rolls to Mon 10-19


def test_complex_thirty_then_approved_sixty_with_a_notice_never_beyond(desk: Desk) -> None:
    number = desk.file(received_at=local(2026, 9, 28, 10))
    with pytest.raises(ComplaintError) as not_complex:
        with desk.session() as session:
            complaints_service.extend(session, desk.supervisor, number, "特别复杂", at=local(2026, 10, 9))
    assert not_complex.value.status == 409 and not_complex.value.field == "complex"

    with desk.session() as session:
        complaints_service.mark_complex(session, desk.handler, number, "需调取医院病历", at=local(2026, 10, 9))
    assert desk.clocks(number)[0].yellow_due_at == end_of_local_day(2026, 10, 28)
    assert desk.complaint(number).complex

    # A complaint handler is no approver: refused, and nothing changed.
    with pytest.raises(ComplaintError) as not_approver:
        with desk.session() as session:
            complaints_service.extend(session, desk.handler, number, "特别复杂", at=local(2026, 10, 20))
    assert (not_approver.value.status, not_approver.value.field) == (403, "approver")
    assert not [m for m in desk.messages(number) if m.template == "complaint_extended"]

    with desk.session() as session:
        complaints_service.extend(session, desk.supervisor, number, "需第三方司法鉴定", at=local(2026, 10, 20))
    clock = desk.clocks(number)[0]
    # 60 days from 09-29 end on Fri 11-27.
    assert clock.yellow_due_at == end_of_local_day(2026, 11, 27)
    notices = [m for m in desk.messages(number) if m.template == "complaint_extended"]
    assert notices and "2026-11-27" in notices[0].body and "需第三方司法鉴定" in notices[0].body
    extended = [e for e in desk.events(number) if e.kind == "extended"]
    assert len(extended) == 1 and desk.supervisor.actor in (extended[0].data or "")

    with pytest.raises(ComplaintError) as beyond:
        with desk.session() as session:
            complaints_service.extend(session, desk.supervisor, number, "再延", at=local(2026, 10, 21))
    assert beyond.value.status == 409 and "exceeds the limit" in beyond.value.message
    assert desk.clocks(number)[0].yellow_due_at == end_of_local_day(2026, 11, 27)


def test_extension_needs_a_way_to_tell_the_complainant(desk: Desk) -> None:
    number = desk.file(received_at=local(2026, 9, 28, 10), complainant={"address": "广州市越秀区某街2号"})
    with desk.session() as session:
        complaints_service.mark_complex(session, desk.handler, number, "复杂", at=local(2026, 10, 9))
    with pytest.raises(ComplaintError) as refused:
        with desk.session() as session:
            complaints_service.extend(session, desk.supervisor, number, "特别复杂", at=local(2026, 10, 20))
    assert refused.value.field == "contact" and "notice_by_post" in refused.value.message
    assert desk.clocks(number)[0].yellow_due_at == end_of_local_day(2026, 10, 28)  # rolled back
    # A letter went to the address taken at intake: the approval stands, and the record says how they were told.
    with desk.session() as session:
        complaints_service.extend(
            session, desk.supervisor, number, "特别复杂", at=local(2026, 10, 20), notice_by_post=True
        )
    assert desk.clocks(number)[0].yellow_due_at == end_of_local_day(2026, 11, 27)
    extended = next(e for e in desk.events(number) if e.kind == "extended")
    assert '"notice_by_post": true' in (extended.data or "")


def test_no_address_no_phone_no_extension(desk: Desk) -> None:
    """Known only by ID number (a walk-in who left no contact): no notice can go out, so no extension."""
    number = desk.file(received_at=local(2026, 9, 28, 10), complainant={"id_number": "110101199003071234"})
    with desk.session() as session:
        complaints_service.mark_complex(session, desk.handler, number, "复杂", at=local(2026, 10, 9))
    with pytest.raises(ComplaintError) as refused:
        with desk.session() as session:
            complaints_service.extend(
                session, desk.supervisor, number, "特别复杂", at=local(2026, 10, 20), notice_by_post=True
            )
    assert refused.value.field == "contact" and "no postal address" in refused.value.message


def test_a_late_complex_marking_cannot_extend_a_breach_away(desk: Desk) -> None:
    number = desk.file(received_at=local(2026, 9, 28, 10))
    with pytest.raises(ComplaintError) as late:
        with desk.session() as session:
            complaints_service.mark_complex(session, desk.handler, number, "复杂", at=local(2026, 10, 15))
    assert late.value.status == 409 and "breach" in late.value.message


def test_appraisal_time_is_excluded(desk: Desk) -> None:
    number = desk.file(received_at=local(2026, 11, 2, 10))  # due end of 11-17
    with desk.session() as session:
        complaints_service.start_appraisal(session, desk.handler, number, "委托司法鉴定", at=local(2026, 11, 5, 12))
    assert desk.clocks(number)[0].state == "suspended"
    with pytest.raises(ComplaintError):
        with desk.session() as session:
            complaints_service.start_appraisal(session, desk.handler, number, "again", at=local(2026, 11, 6))
    with desk.session() as session:
        complaints_service.end_appraisal(session, desk.handler, number, "鉴定报告已出", at=local(2026, 11, 9, 12))
    clock = desk.clocks(number)[0]
    # Four days excluded: the deadline moves from the end of 11-17 to the end of 11-21 (Sat) → Mon 11-23.
    assert clock.state == "running" and clock.yellow_due_at == end_of_local_day(2026, 11, 23)


def test_new_facts_restart_the_decision_clock_in_a_new_cycle(desk: Desk) -> None:
    number = desk.file(received_at=local(2026, 11, 2, 10))
    with desk.session() as session:
        complaints_service.new_facts(session, desk.handler, number, "投诉人补充了新的诉求", at=local(2026, 11, 10, 15))
    first, second = desk.clocks(number, "complaint_decision")
    assert (first.cycle, first.state, first.outcome) == (1, "stopped", "met")
    # From Tue 11-10: counting starts 11-11, 15 days end with Wed 11-25.
    assert (second.cycle, second.state, second.yellow_due_at) == (2, "running", end_of_local_day(2026, 11, 25))


def test_withdrawal_stops_every_clock_and_closes(desk: Desk) -> None:
    number = desk.file(channel="regulator_12378", received_at=local(2026, 11, 2, 10))
    with desk.session() as session:
        complaints_service.withdraw(session, desk.handler, number, "投诉人来电撤回", at=local(2026, 11, 4, 9))
    complaint = desk.complaint(number)
    assert (complaint.status, complaint.closed_at) == ("withdrawn", local(2026, 11, 4, 9))
    assert {c.policy_code: c.state for c in desk.clocks(number)} == {
        "complaint_decision": "stopped",
        "regulator_transfer_accept": "stopped",
    }
    with pytest.raises(ComplaintError) as again:
        with desk.session() as session:
            complaints_service.add_note(session, desk.handler, number, "还能记吗")
    assert again.value.status == 409


def test_decision_letter_is_stored_and_sent_and_the_review_clock_runs(desk: Desk) -> None:
    number = desk.file(received_at=local(2026, 10, 12, 10), claim_number=None)
    with desk.session() as session:
        complaints_service.accept(session, desk.handler, number, at=local(2026, 10, 12, 11))
        complaints_service.add_note(session, desk.handler, number, "已调取理算记录", at=local(2026, 10, 13, 9))
        complaints_service.decide(session, desk.handler, number, decision(), at=local(2026, 10, 20, 15))
    complaint = desk.complaint(number)
    letter = complaint.decision_letter or ""
    for words in (
        "核实的事实",
        "理算延误5日",
        "保险合同第十二条",
        "投诉部分成立",
        "200.00",
        "申请核查",
        "调解",
        "仲裁",
        "诉讼",
    ):
        assert words in letter, words
    # The review may be requested within 30 days of the decision: from 10-21, 30 days end with 11-19.
    assert "2026-11-19" in letter and "李*" in letter and "李四" not in letter
    assert (complaint.status, complaint.first_contact_resolved) == ("decided", False)
    # The text message is a short notice with the lookup link; the letter itself is above.
    sent = [m for m in desk.messages(number) if m.template == "complaint_decision_sms"]
    assert sent and "/lookup/" in sent[0].body and "理算延误5日" not in sent[0].body
    clocks = {c.policy_code: c for c in desk.clocks(number)}
    assert clocks["complaint_decision"].outcome == "met"
    assert clocks["complaint_review_window"].yellow_due_at == end_of_local_day(2026, 11, 19)

    with pytest.raises(ComplaintError) as too_late:
        with desk.session() as session:
            complaints_service.request_review(session, desk.handler, number, "不服", local(2026, 11, 20, 9))
    assert too_late.value.status == 409 and "2026-11-19" in too_late.value.message

    with desk.session() as session:
        complaints_service.request_review(session, desk.handler, number, "对金额不服", local(2026, 11, 2, 9))
    review = desk.clocks(number, "complaint_review")[0]
    # From 11-02: 30 days end with Wed 12-02.
    assert review.yellow_due_at == end_of_local_day(2026, 12, 2)
    assert desk.clocks(number, "complaint_review_window")[0].outcome == "applied"
    with desk.session() as session:
        complaints_service.decide_review(
            session, desk.supervisor, number, "upheld", "维持原决定", at=local(2026, 11, 20)
        )
        complaints_service.close(session, desk.handler, number, "已告知投诉人", at=local(2026, 11, 20, 10))
    complaint = desk.complaint(number)
    assert (complaint.status, complaint.review_outcome) == ("closed", "upheld")
    # The complainant is told the review's result, and what remains open to them.
    told = [m for m in desk.messages(number) if m.template == "complaint_reviewed"]
    assert told and "核查维持原处理决定" in told[0].subject and "维持原决定" in told[0].body
    assert "仲裁" in told[0].body
    assert desk.clocks(number, "complaint_review")[0].outcome == "met"
    with desk.session() as session:
        closed = complaint_queries.closed_between(session, local(2026, 11, 20), local(2026, 11, 21))
    assert [c.number for c in closed] == [number]


def test_first_contact_resolution_and_review_window_lapse_closes_in_the_sweep(desk: Desk) -> None:
    number = desk.file(
        received_at=local(2026, 10, 12, 10),
        decision={"outcome": "upheld", "facts": "来电即核实", "basis": "服务规范", "remedy": "当场致歉"},
    )
    complaint = desk.complaint(number)
    assert (complaint.status, complaint.first_contact_resolved) == ("decided", True)
    # Decided 10-12: the window ends with 11-11. The sweep before it changes nothing.
    assert jobs.sweep(now=local(2026, 11, 11, 23)).closed == 0
    # The worker was down for two days: the complaint still closes when the window ended, not when noticed.
    result = jobs.sweep(now=local(2026, 11, 14, 9))
    assert result.closed == 1
    complaint = desk.complaint(number)
    assert complaint.status == "closed" and complaint.closed_at == local(2026, 11, 12, 0, 0)
    assert desk.clocks(number, "complaint_review_window")[0].outcome == "lapsed"
    assert [e.kind for e in desk.events(number)][-1] == "review_window_lapsed"
    assert jobs.sweep(now=local(2026, 11, 15)).closed == 0


def test_the_queue_picks_the_nearest_deadlines_even_past_its_cap(desk: Desk) -> None:
    """The oldest complaint is not always the most urgent: one marked complex (30 days) received first must
    not push out a later one due sooner when the queue is cut at its cap."""
    relaxed = desk.file(received_at=local(2026, 10, 26, 10))
    with desk.session() as session:
        complaints_service.mark_complex(session, desk.handler, relaxed, "复杂", at=local(2026, 10, 27))
    urgent = desk.file(received_at=local(2026, 10, 28, 10))
    later = desk.file(received_at=local(2026, 10, 30, 10))
    with desk.session() as session:
        top = complaint_queries.queue(session, desk.handler, limit=2, now=local(2026, 11, 2))
        everything = complaint_queries.queue(session, desk.handler, now=local(2026, 11, 2))
        # The database itself returns them in that order, so the cap never cuts off an urgent one.
        rows = repository.listing(
            session, statuses=None, exclude_statuses=None, category=None, channel=None, org_unit_ids=None, limit=2
        )
    assert [item["number"] for item in top] == [urgent, later]
    assert [item["number"] for item in everything] == [urgent, later, relaxed]
    assert [row.number for row in rows] == [urgent, later]
