"""Ingestion writes a claim's new state by a driver statement, past the ORM. A Claim the same transaction loaded
before (the assignment domain's, a page action's) shows the event applied afterwards, to its caller and to the
subscribers that read claims through the session, and a change the caller made on it still reaches the
database."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import select

from claimwatch.auth.models import Role
from claimwatch.auth.principal import Principal
from claimwatch.cases import service as cases_service
from claimwatch.cases.models import Claim
from claimwatch.cases.schemas import EventIn
from claimwatch.db import TenantContext, unit_of_work
from tests.factories import World, at, reported, transition


def test_a_claim_the_session_holds_shows_the_event_and_keeps_its_own_change(world: World) -> None:
    tenant = world.tenant("ACME")
    world.user("li.adjuster", Role.ADJUSTER, tenant)
    principal = Principal(role=Role.INTEGRATION, tenant_id=tenant.id, actor="test")
    with unit_of_work(TenantContext.for_tenant(tenant.id)) as session:
        cases_service.ingest_events(session, principal, [EventIn.model_validate(reported("e-1", "C-1"))])
    with unit_of_work(TenantContext.for_tenant(tenant.id)) as session:
        held = session.execute(select(Claim).where(Claim.number == "C-1")).scalar_one()
        assert (held.status, held.assignee_id, held.event_count) == ("reported", None, 1)
        held.vulnerable = True  # the caller's own change, not yet flushed
        events = [
            {
                "event_id": "e-2",
                "claim_number": "C-1",
                "type": "assigned",
                "occurred_at": at(1),
                "assignee": "li.adjuster",
            },
            transition("e-3", "C-1", "accepted", hours=2),
        ]
        cases_service.ingest_events(session, principal, [EventIn.model_validate(event) for event in events])
        assert (held.status, held.event_count) == ("accepted", 3)
        assert held.assignee_id is not None and held.status_changed_at == dt.datetime.fromisoformat(at(2))
        assigned_to = held.assignee_id
    with unit_of_work(TenantContext.for_tenant(tenant.id)) as session:
        stored = session.execute(select(Claim).where(Claim.number == "C-1")).scalar_one()
        assert (stored.status, stored.assignee_id, stored.event_count, stored.vulnerable) == (
            "accepted",
            assigned_to,
            3,
            True,
        )
