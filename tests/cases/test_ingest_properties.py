"""Property: for any sequence of requested status changes, ingestion accepts exactly the moves the
workflow allows, and the claim ends where a plain walk of the workflow ends."""

from __future__ import annotations

import itertools

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from claimwatch.auth.models import Role
from claimwatch.auth.principal import Principal
from claimwatch.cases import service as cases_service
from claimwatch.cases.schemas import EventIn
from claimwatch.db import TenantContext, unit_of_work
from claimwatch.workflow import service as workflow_service
from tests.factories import reported, transition

MOTOR = workflow_service.get_workflow("motor")
STATES = sorted(MOTOR.states)
_claim_numbers = itertools.count(1)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(targets=st.lists(st.sampled_from(STATES), min_size=1, max_size=12))
def test_ingestion_follows_the_workflow(world_tenant, targets):
    tenant_id = world_tenant
    principal = Principal(role=Role.INTEGRATION, tenant_id=tenant_id, actor="prop")
    number = f"P-{next(_claim_numbers)}"
    with unit_of_work(TenantContext.for_tenant(tenant_id)) as session:
        cases_service.ingest_events(session, principal, [EventIn.model_validate(reported(f"{number}-r", number))])

    expected = MOTOR.initial
    for step, target in enumerate(targets):
        event = EventIn.model_validate(transition(f"{number}-{step}", number, target, hours=step + 1, reason="因为"))
        move = MOTOR.transition(expected, target)
        # These claims stay on the normal route: a move limited to other routes (the 三免 shortcut) is refused.
        allowed = move is not None and (move.routes is None or "normal" in move.routes)
        try:
            with unit_of_work(TenantContext.for_tenant(tenant_id)) as session:
                cases_service.ingest_events(session, principal, [event])
            accepted = True
        except cases_service.IngestRejected as exc:
            accepted = False
            assert exc.event_problems[0].field == "to_status"
        assert accepted == allowed, (expected, target)
        if allowed:
            expected = target

    with unit_of_work(TenantContext.for_tenant(tenant_id)) as session:
        claim = cases_service.get_claim(session, number)
        assert claim.status == expected
        assert (claim.closed_at is not None) == MOTOR.is_terminal(expected)
