from __future__ import annotations

import datetime as dt
import hashlib
from collections import Counter, defaultdict

import chinese_calendar

from claimwatch.demo.generator import DemoSpec, id_number, iter_claim_events, to_json_line
from claimwatch.workflow import service as workflow_service

WINDOW = {"start": dt.date(2025, 11, 1), "end": dt.date(2026, 10, 31)}


def _digest(spec: DemoSpec) -> str:
    digest = hashlib.sha256()
    for event in iter_claim_events(spec):
        digest.update(to_json_line(event).encode())
    return digest.hexdigest()


def test_same_seed_same_bytes_other_seed_other_bytes():
    assert _digest(DemoSpec(claims=300, seed=1, **WINDOW)) == _digest(DemoSpec(claims=300, seed=1, **WINDOW))
    assert _digest(DemoSpec(claims=300, seed=1, **WINDOW)) != _digest(DemoSpec(claims=300, seed=2, **WINDOW))


def test_stream_is_realistic():
    events = list(iter_claim_events(DemoSpec(claims=6000, seed=3, **WINDOW)))
    reports = [e for e in events if e["type"] == "reported"]
    assert len(reports) == 6000
    assert {e["tenant"] for e in reports} == {"PICC", "PAIC", "CPIC"}
    lines = Counter(e["claim"]["line"] for e in reports)
    assert 0.66 < lines["motor"] / 6000 < 0.74
    assert set(lines) == {"motor", "medical", "accident", "property", "life"}

    amounts = defaultdict(list)
    for e in reports:
        amounts[e["claim"]["line"]].append(float(e["claim"]["reported_amount"]))
    motor = sorted(amounts["motor"])
    assert 2000 < motor[len(motor) // 2] < 4500  # median near 3 000
    assert motor[-1] > 10 * motor[len(motor) // 2]  # long tail
    assert all(a > 0 for values in amounts.values() for a in values)

    per_day = Counter(dt.datetime.fromisoformat(e["occurred_at"]).date() for e in reports)
    days = [WINDOW["start"] + dt.timedelta(days=i) for i in range((WINDOW["end"] - WINDOW["start"]).days + 1)]
    workdays = [per_day[d] for d in days if chinese_calendar.is_workday(d)]
    holidays = [
        per_day[d] for d in days if chinese_calendar.get_holiday_detail(d)[1] and not chinese_calendar.is_workday(d)
    ]
    assert sum(holidays) / len(holidays) < 0.9 * sum(workdays) / len(workdays)
    # 2026-02-14 and 2026-02-28 are 调休 make-up working days: treated as working days
    assert chinese_calendar.is_workday(dt.date(2026, 2, 14))

    ends = dt.datetime(2026, 11, 1, tzinfo=dt.timezone(dt.timedelta(hours=8)))
    assert max(dt.datetime.fromisoformat(e["occurred_at"]) for e in events) < ends
    statuses = Counter(e.get("to_status") for e in events if e["type"] == "transition")
    for status in ("awaiting_materials", "rejected", "withdrawn", "reopened", "closed"):
        assert statuses[status] > 0, status
    assert len({e["event_id"] for e in events}) == len(events)


def test_every_transition_is_allowed_by_the_workflow():
    state: dict[str, tuple[str, str]] = {}
    for event in iter_claim_events(DemoSpec(claims=3000, seed=5, **WINDOW)):
        number = event["claim_number"]
        if event["type"] == "reported":
            workflow = workflow_service.get_workflow(event["claim"]["line"])
            state[number] = (event["claim"]["line"], workflow.initial)
        elif event["type"] == "transition":
            line, current = state[number]
            rule = workflow_service.get_workflow(line).transition(current, event["to_status"])
            assert rule is not None, (number, current, event["to_status"])
            assert not rule.reason_required or event.get("reason")
            assert "integration" in rule.roles
            state[number] = (line, event["to_status"])


def test_claimant_data_is_well_formed():
    # the worked example of GB 11643-1999
    assert id_number("110105", dt.date(1949, 12, 31), 2) == "11010519491231002X"
    for event in iter_claim_events(DemoSpec(claims=200, seed=9, **WINDOW)):
        if event["type"] == "reported":
            claimant = event["claim"]["claimant"]
            assert len(claimant["phone"]) == 11 and claimant["phone"][1] in "3456789"
            assert len(claimant["id_number"]) == 18
