"""Demo queues and materials (issue 12, items 5 and 8): a branch supervisor per insurer, attached to its
first branch (the supervision queue then shows that branch's subtree only; the head-office supervisor
sees every unit), and the claims waiting for materials (待补材料) in the states a real desk has: most with
their claim type set and the one-time notice sent (the claimant's lookup page lists the same items as the
claim page), some with part of the items already uploaded, a notice that also asks for an optional item,
and every tenth left without a claim type (the bad case: the claim page says "set the claim type first",
the lookup page says the list is being prepared).

Call after :func:`claimwatch.demo.jobs.setup` (the claims exist) and before the SLA sweep (a notice
pauses the clocks): ``queue_materials.load(spec)``."""

from __future__ import annotations

import datetime as dt
import io
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from claimwatch.auth import service as auth_service
from claimwatch.auth.models import Role
from claimwatch.cases.models import Claim
from claimwatch.db import TenantContext, unit_of_work, utc_now
from claimwatch.demo.generator import DemoSpec
from claimwatch.demo.organisation import DEMO_PASSWORD
from claimwatch.imports import jobs as import_jobs
from claimwatch.imports import service as import_service
from claimwatch.materials import service as materials_service
from claimwatch.tenancy import repository as tenancy_repository

MIN_WAITING = 12  # open claims moved to 待补材料 when the generated history left fewer waiting
# The way into 待补材料 from where an open claim may stand (the default workflows).
_TO_WAITING = {
    "accepted": ["initial_review", "awaiting_materials"],
    "initial_review": ["awaiting_materials"],
    "investigation": ["awaiting_materials"],
    "assessment": ["awaiting_materials"],
}
WITHOUT_CLAIM_TYPE_EVERY = 10  # one claim in ten waits for materials with no claim type: the bad case
PARTLY_UPLOADED_EVERY = 4
OPTIONAL_ASKED_EVERY = 7


def demo_pdf(item: str) -> bytes:
    """A minimal, well-formed PDF (one per item, so each has its own fingerprint): passes the content
    sniffing like a real scan would."""
    body = b"\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n"
    return b"%PDF-1.7\n% " + item.encode() + body


@dataclass
class Loaded:
    branch_supervisors: list[str]
    typed: int = 0
    untyped: int = 0
    noticed: int = 0
    uploaded: int = 0


def branch_supervisor(tenant_code: str) -> str:
    return f"{tenant_code.lower()}.branch.supervisor"


def load(spec: DemoSpec, now: dt.datetime | None = None) -> Loaded:
    now = now or utc_now()
    loaded = Loaded([])
    for tenant in spec.tenants:
        with unit_of_work(TenantContext.system_context()) as session:
            found = tenancy_repository.tenant_by_code(session, tenant.code)
        if found is None or not tenant.branches:
            continue
        tenant_id = found.id
        _more_waiting(tenant_id, now)
        branch = tenant.branches[0]
        adjuster = f"user:{tenant.adjusters()[0]}"
        with unit_of_work(TenantContext.for_tenant(tenant_id)) as session:
            unit = tenancy_repository.org_unit_by_code(session, branch.code)
            username = branch_supervisor(tenant.code)
            auth_service.create_user(
                session,
                username=username,
                password=DEMO_PASSWORD,
                role=Role.SUPERVISOR,
                tenant_id=tenant_id,
                display_name=f"{branch.name}理赔主管",
                org_unit_id=unit.id if unit else None,
                actor="demo",
            )
            loaded.branch_supervisors.append(username)
            waiting = session.execute(
                select(Claim).where(Claim.status == materials_service.AWAITING_STATUS).order_by(Claim.id)
            ).scalars()
            for index, claim in enumerate(list(waiting)):
                checklist = materials_service.registry().get(claim.line)
                if checklist is None or not checklist.claim_types:
                    continue
                if index % WITHOUT_CLAIM_TYPE_EVERY == 0:
                    loaded.untyped += 1
                    continue
                types = list(checklist.claim_types)
                at = min(claim.status_changed_at + dt.timedelta(hours=1), now)
                materials_service.set_profile(session, claim, types[index % len(types)], [], adjuster, at)
                loaded.typed += 1
                items = None
                if index % OPTIONAL_ASKED_EVERY == 0:
                    evaluation = materials_service.claim_evaluation(session, claim)
                    if evaluation is not None and evaluation.optional_missing:
                        items = [*evaluation.missing, evaluation.optional_missing[0]]
                materials_service.issue_notice(session, claim, adjuster, at + dt.timedelta(minutes=30), items)
                loaded.noticed += 1
                if index % PARTLY_UPLOADED_EVERY == 1:
                    loaded.uploaded += _upload_some(session, claim, min(at + dt.timedelta(hours=20), now))
    return loaded


def _upload_some(session: Session, claim: Claim, at: dt.datetime) -> int:
    """The claimant sent the first two awaited items (through the lookup page, as the actor says)."""
    evaluation = materials_service.claim_evaluation(session, claim)
    if evaluation is None:
        return 0
    sent = 0
    for item in evaluation.missing[:2]:
        staged = materials_service.stage_upload(io.BytesIO(demo_pdf(item)))
        try:
            materials_service.store_document(
                session, claim, "claimant:lookup", item, f"{item}.pdf", "application/pdf", staged, at
            )
        finally:
            staged.discard()
        sent += 1
    return sent


def _more_waiting(tenant_id: int, now: dt.datetime) -> None:
    """Move open claims into 待补材料 (through the event import, as a core system would) until at least
    :data:`MIN_WAITING` wait, so every demo shows the materials states whatever its size."""
    with unit_of_work(TenantContext.for_tenant(tenant_id)) as session:
        open_claims = session.execute(
            select(Claim.number, Claim.status, Claim.status_changed_at)
            .where(Claim.closed_at.is_(None))
            .order_by(Claim.reported_at.desc())
        ).all()
    waiting = sum(1 for _, status, _ in open_claims if status == materials_service.AWAITING_STATUS)
    events = []
    for number, status, since in open_claims:
        if waiting >= MIN_WAITING:
            break
        steps = _TO_WAITING.get(status)
        if steps is None:
            continue
        at = max(since, now - dt.timedelta(hours=30))
        for step, to_status in enumerate(steps, start=1):
            at = min(at + dt.timedelta(hours=2), now)
            events.append(
                {
                    "event_id": f"demo-waiting-{number}-{step}",
                    "claim_number": number,
                    "type": "transition",
                    "to_status": to_status,
                    "occurred_at": at.isoformat(),
                }
            )
        waiting += 1
    if not events:
        return
    principal = import_service.integration_principal(tenant_id, "demo")
    rows = (import_service.validate_row(line, event) for line, event in enumerate(events, start=1))
    result = import_jobs.import_rows(rows, principal, mode="all-or-nothing")
    if not result.committed:
        first = result.rejects[0]
        raise RuntimeError(f"demo waiting claims rejected at event {first.line} ({first.event_id}): {first.reason}")
