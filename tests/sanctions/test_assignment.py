"""The assignment rules choose among handler profiles, not principals: a handler whose BE_ASSIGNED is
suspended by a sanction is passed over ("suspended") until the suspension ends. Runs once assignment/service.py
reads the suspensions (the patch /work/notes/h4_assignment_suspended.patch; skipped before)."""

from __future__ import annotations

import datetime as dt

import pytest

from claimwatch.assignment import service as assignment_service
from claimwatch.auth.models import Role
from claimwatch.auth.principal import Principal
from claimwatch.db import TenantContext, unit_of_work, utc_now
from claimwatch.sanctions import service
from tests.sanctions.conftest import SanctionWorld

pytestmark = pytest.mark.skipif(
    "suspended" not in assignment_service.Desk.__dataclass_fields__,
    reason="assignment does not read permission suspensions yet",
)


def test_a_suspended_handler_is_passed_over_until_the_end(sw: SanctionWorld):
    admin = Principal(role=Role.SUPERVISOR, tenant_id=sw.acme.id, actor="test")
    with unit_of_work(TenantContext.for_tenant(sw.acme.id)) as session:
        change = assignment_service.ProfileChange(sw.adjuster, [], [], None, None, [], 10, True, True, True)
        assignment_service.save_profile(session, admin, change)
        sanction = service.propose(
            session,
            sw.principal(sw.inspector),
            violation_code="REPEATED_SERIOUS_ERROR",
            user_id=sw.user_id(sw.adjuster),
            party=None,
            source_kind="manual",
            source_id=1,
            source_label="m",
            source_url="/sanctions",
            days=3,
            reason="r",
        )
        approved = service.approve(session, sw.principal(sw.qm), sanction.id)
        case = assignment_service.Case("claim", 1, "C-1", "motor", 100, None, None)
        now = utc_now()
        assert assignment_service.desk(session, sw.acme.id, now).choose(case, None)[0] is None
        assert assignment_service.desk(session, sw.acme.id, now).refusal(sw.user_id(sw.adjuster), case) == "suspended"
        assert approved.ends_at is not None
        later = approved.ends_at + dt.timedelta(minutes=1)
        assert assignment_service.desk(session, sw.acme.id, later).choose(case, None)[0] == sw.user_id(sw.adjuster)
