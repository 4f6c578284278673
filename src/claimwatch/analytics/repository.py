"""The event log of claims, read from the case-event table (tenant-filtered ORM select)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from claimwatch.cases.models import CaseEvent, Claim
from claimwatch.tenancy.models import Tenant

# Events that move a claim into a status: the status entered is the activity.
STATUS_EVENTS = ("reported", "transition")


def claim_status_events(
    session: Session,
    tenant_id: int | None,
    *,
    line: str | None = None,
    since: dt.datetime | None = None,
    until: dt.datetime | None = None,
    batch: int = 20_000,
) -> Iterator[tuple[Any, ...]]:
    """(tenant code, claim number, status entered, occurred_at, actor) for every status event of the
    claims reported in [since, until) — whole cases, in (claim, occurred_at, event id) order.

    ``tenant_id=None`` reads every tenant (the regulator's read-only context)."""
    query = (
        select(Tenant.code, Claim.number, CaseEvent.to_status, CaseEvent.occurred_at, CaseEvent.actor)
        .join(Claim, Claim.id == CaseEvent.claim_id)
        .join(Tenant, Tenant.id == Claim.tenant_id)
        .where(CaseEvent.event_type.in_(STATUS_EVENTS), CaseEvent.to_status.is_not(None))
        .order_by(Claim.id, CaseEvent.occurred_at, CaseEvent.id)
    )
    if tenant_id is not None:
        query = query.where(CaseEvent.tenant_id == tenant_id, Claim.tenant_id == tenant_id)
    if line is not None:
        query = query.where(Claim.line == line)
    if since is not None:
        query = query.where(Claim.reported_at >= since)
    if until is not None:
        query = query.where(Claim.reported_at < until)
    result = session.execute(query.execution_options(yield_per=batch))
    for partition in result.partitions():
        yield from partition
