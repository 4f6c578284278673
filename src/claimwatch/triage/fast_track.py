"""三免 fast track (免查勘、免定损、免纸质材料; 小额理赔服务指引 2015, DESIGN §4): what follows when triage moves a
claim onto or off it.

Eligibility itself is data: the ``fast_track`` rules of the rule set (``defaults/triage/rules.yaml``: motor vehicle
damage only, liability clear, ≤ 5 000 CNY; medical ≤ 3 000 CNY; no investigation; policy in force > 30 days and
not just reinstated; risk level not high; no repeat or shared-contact pattern). The effects are read from the
claim's own ``route`` column by the lower domains, which never import triage:

- workflow: the shortcut ``initial_review → verification`` (survey and loss assessment waived) carries
  ``routes: [fast_track]`` and ingestion refuses it for any other claim;
- materials: a fast-tracked claim needs only the checklist items marked electronic;
- sla: the ``fast_track_decision`` policy (``routes: [fast_track]``, 1 working day) starts with the route and is
  voided when the claim leaves it (:func:`follow_routes`).

An investigation ends eligibility: entering a re-evaluation status (``reevaluate_statuses``) makes the
``investigation`` fact true for good, the fast-track rules stop holding, and the new decision (naming the case
event that caused it, itself in the audit chain) takes the claim back to the normal route with the reason
:func:`leaving_reason` gives.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from claimwatch.cases.models import CaseEvent, Claim
from claimwatch.sla import service as sla_service
from claimwatch.triage.models import TriageDecision
from claimwatch.workflow.loader import ROUTE_FAST_TRACK

FAST_TRACK = ROUTE_FAST_TRACK
ENDED_BY_INVESTIGATION = "investigation started: no longer eligible for the fast track (三免)"
ENDED_BY_RISK = "risk level high: no longer eligible for the fast track (三免)"
ENDED = "no fast-track rule holds any more"


def leaving_reason(facts: Mapping[str, Any], new_route: str, trigger_reason: str | None = None) -> str:
    """Why a fast-tracked claim left the fast track, from the decision's facts snapshot, for its ``reason`` (at
    most 300 characters)."""
    if facts.get("investigation"):
        reason = ENDED_BY_INVESTIGATION
    elif facts.get("risk_level") == "high":
        reason = ENDED_BY_RISK
    else:
        reason = f"{ENDED}: now {new_route}"
    if trigger_reason:
        reason = f"{trigger_reason}; {reason}"
    return reason[:300]


def follow_routes(
    session: Session,
    tenant_id: int,
    moved: Sequence[tuple[Claim, TriageDecision]],
    actor: str,
    occurred: Mapping[str, dt.datetime] | None = None,
) -> int:
    """After triage changed the route of claims (``claim.route`` is the new route, the decision says why), the
    route-selected SLA clocks follow: the fast_track_decision clock starts when a claim joins the fast track and
    is voided when it leaves (the green channel's policies alike). The change counts from the report for a
    report-time decision, else from the case event that caused it (an investigation entered yesterday and
    ingested today ends the fast track yesterday): ``occurred`` gives when those events happened (by event ref)
    where the caller has them (the ingesting call: the changes it publishes), the others are read. Returns how
    many clocks changed."""
    known = dict(occurred or {})
    refs = [d.event_ref for _, d in moved if d.trigger != "reported" and d.event_ref and d.event_ref not in known]
    if refs:
        rows = session.execute(
            select(CaseEvent.client_event_id, CaseEvent.occurred_at).where(CaseEvent.client_event_id.in_(refs))
        )
        known.update({ref: at for ref, at in rows})
    changes = []
    for claim, decision in moved:
        if decision.trigger == "reported":
            at = claim.reported_at
        else:
            at = known.get(decision.event_ref or "", decision.decided_at)
        changes.append(sla_service.RouteChange.of(claim, at, actor, decision.reason))
    return sla_service.route_changed(session, tenant_id, changes)
