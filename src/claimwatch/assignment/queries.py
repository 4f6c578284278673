"""Read models: load per handler (the supervisor's subtree), open cases to rebalance, load history."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from claimwatch.assignment import repository, service
from claimwatch.assignment.loader import rules
from claimwatch.auth import repository as auth_repository
from claimwatch.auth.principal import Principal
from claimwatch.cases.models import Claim
from claimwatch.complaints.models import Complaint
from claimwatch.complaints.repository import CLOSED_STATUSES
from claimwatch.complaints.vocabulary import STATUS_LABELS, label
from claimwatch.db import utc_now
from claimwatch.privacy import mask_name
from claimwatch.tenancy import service as tenancy_service
from claimwatch.workflow import service as workflow_service

HISTORY_DAYS = 14
CASE_ROWS = 200


@dataclass
class LoadView:
    mode: str
    rules_version: str
    handlers: list[dict[str, Any]]
    unassigned_claims: int
    unassigned_complaints: int
    cases: list[dict[str, Any]]
    chart: dict[str, Any]
    decisions: list[dict[str, Any]]
    time_zone: Any


def _visible(scope: str | None, paths: dict[int, str], org_unit_id: int | None) -> bool:
    if scope is None:
        return True
    return org_unit_id is not None and paths.get(org_unit_id, "").startswith(scope)


def load_view(session: Session, principal: Principal, locale: str, now: dt.datetime | None = None) -> LoadView:
    assert principal.tenant_id is not None
    tenant_id = principal.tenant_id
    now = now or utc_now()
    zone = tenancy_service.tenant_zone(session, tenant_id)
    found = service.desk(session, tenant_id, now)
    scope = service.supervisor_path(session, principal)
    handlers = []
    visible_ids: set[int] = set()
    for user_id, (profile, user) in sorted(found.profiles.items(), key=lambda item: item[1][1].username):
        if not _visible(scope, found.org_paths, profile.org_unit_id or user.org_unit_id):
            continue
        visible_ids.add(user_id)
        load = found.loads.get(user_id, service.Load())
        handlers.append(
            {
                "username": user.username,
                "name": user.display_name or user.username,
                "open_claims": load.claims,
                "open_complaints": load.complaints,
                "weighted": round(load.weighted, 1),
                "capacity": profile.capacity,
                "percent": round(100 * load.open / profile.capacity) if profile.capacity else 0,
                "red": load.red,
                "yellow": load.yellow,
                "on_leave": user_id in found.on_leave,
                "active": profile.active and user.active,
                "lines": [workflow_service.line_label(line, locale) for line in profile.lines],
                "authority": None if profile.authority_fen is None else profile.authority_fen // 100,
                "handles_claims": profile.handles_claims,
                "handles_complaints": profile.handles_complaints,
            }
        )
    claims, complaints = repository.unassigned_counts(session)
    return LoadView(
        mode=service.tenant_mode(session),
        rules_version=rules().version,
        handlers=handlers,
        unassigned_claims=claims,
        unassigned_complaints=complaints,
        cases=_cases(session, found, scope, visible_ids, locale),
        chart=_chart(session, found, visible_ids, now, zone),
        decisions=_decisions(session, locale),
        time_zone=zone,
    )


def _cases(
    session: Session, found: service.Desk, scope: str | None, visible: set[int], locale: str
) -> list[dict[str, Any]]:
    """Open cases of the visible handlers and the unassigned ones, the green channel first (claims.priority),
    then red first, for rebalancing."""
    names = {user_id: user.username for user_id, (_, user) in found.profiles.items()}
    rank = {"red": 0, "yellow": 1, "green": 2}
    claim_rows = session.scalars(
        select(Claim)
        .where(Claim.closed_at.is_(None))
        .order_by(Claim.priority.desc(), Claim.reported_at)
        .limit(CASE_ROWS * 5)
    ).all()
    lights = {item.id: item.light for item in repository.open_claims(session, [c.id for c in claim_rows])}
    rows: list[dict[str, Any]] = []
    for claim in claim_rows:
        if claim.assignee_id is not None and claim.assignee_id not in visible:
            continue
        if not _visible(scope, found.org_paths, claim.org_unit_id) and claim.assignee_id is None:
            continue
        rows.append(
            {
                "kind": "claim",
                "number": claim.number,
                "label": workflow_service.line_label(claim.line, locale),
                "status": workflow_service.state_label(claim.line, claim.status, locale),
                "claimant": mask_name(claim.claimant_name),
                "assignee": names.get(claim.assignee_id) if claim.assignee_id else None,
                "light": lights.get(claim.id, "green"),
                "at": claim.reported_at,
                "priority": claim.priority or 0,
            }
        )
    complaint_rows = session.scalars(
        select(Complaint)
        .where(Complaint.status.not_in(CLOSED_STATUSES))
        .order_by(Complaint.received_at)
        .limit(CASE_ROWS)
    ).all()
    for complaint in complaint_rows:
        if complaint.handler_id is not None and complaint.handler_id not in visible:
            continue
        if not _visible(scope, found.org_paths, complaint.org_unit_id) and complaint.handler_id is None:
            continue
        rows.append(
            {
                "kind": "complaint",
                "number": complaint.number,
                "label": complaint.subject[:30],
                "status": label(STATUS_LABELS, complaint.status, locale),
                "claimant": mask_name(complaint.complainant_name) if complaint.complainant_name else "—",
                "assignee": names.get(complaint.handler_id) if complaint.handler_id else None,
                "light": "green",
                "at": complaint.received_at,
                "priority": 0,
            }
        )
    rows.sort(key=lambda r: (-r["priority"], rank.get(r["light"], 3), r["assignee"] is not None, r["at"]))
    return rows[:CASE_ROWS]


def _chart(session: Session, found: service.Desk, visible: set[int], now: dt.datetime, zone: Any) -> dict[str, Any]:
    """Weighted load per handler and the unassigned queue per snapshot, the last two weeks."""
    snapshots = repository.snapshots_since(session, now - dt.timedelta(days=HISTORY_DAYS))
    times = sorted({s.taken_at for s in snapshots})
    index = {at: i for i, at in enumerate(times)}
    series: dict[str, list[float | None]] = {}
    queue: list[int | None] = [None] * len(times)
    for snap in snapshots:
        if snap.user_id is None:
            queue[index[snap.taken_at]] = snap.open_claims + snap.open_complaints
            continue
        if snap.user_id not in visible or snap.user_id not in found.profiles:
            continue
        name = found.profiles[snap.user_id][1].username
        series.setdefault(name, [None] * len(times))[index[snap.taken_at]] = snap.weighted_load
    peak = max((q for q in queue if q is not None), default=0)
    return {
        "times": [at.astimezone(zone).strftime("%m-%d %H:%M") for at in times],
        "series": [{"name": name, "data": data} for name, data in sorted(series.items())],
        "queue": queue,
        "queue_peak": peak,
    }


def _decisions(session: Session, locale: str) -> list[dict[str, Any]]:
    rows = repository.recent_decisions(session, 20)
    names = auth_repository.usernames_by_id(session, {r.user_id for r in rows if r.user_id})
    return [
        {
            "kind": r.kind,
            "number": r.case_number,
            "user": names.get(r.user_id) if r.user_id else None,
            "status": r.status,
            "mode": r.mode,
            "version": r.rules_version,
            "at": r.decided_at,
        }
        for r in rows
    ]
