"""Demo assignment (issue 12, item 3): handler profiles for the demo adjusters and complaint handler (one
on leave, one overloaded: capacity far below the claims they already hold), the first insurer's rules
active and the second's in monitor mode, a morning's new claims and a complaint decided by the rules (one
claim nobody may take: too large for every authority in its branch, so the supervisors are told; one the core
system assigns itself, just under its handler's authority, which triage flags), and two weeks of load history
reconstructed from the record.

Call after the claims, complaints and sweeps are loaded, before the staff notices are routed (so the
"unassigned" notice reaches the supervisor's inbox): ``demo_assignment.load(spec)``."""

from __future__ import annotations

import datetime as dt
from collections import Counter
from dataclasses import dataclass
from decimal import Decimal

from claimwatch.assignment import repository, service
from claimwatch.auth import repository as auth_repository
from claimwatch.auth.models import Role
from claimwatch.auth.principal import Principal
from claimwatch.cases import service as cases_service
from claimwatch.cases.schemas import EventIn
from claimwatch.complaints import intake as complaints_intake
from claimwatch.complaints import schemas as complaint_schemas
from claimwatch.db import TenantContext, unit_of_work, utc_now
from claimwatch.demo.generator import DemoSpec
from claimwatch.demo.organisation import DemoTenant
from claimwatch.tenancy import repository as tenancy_repository

HISTORY = dt.timedelta(days=14)
STEP = dt.timedelta(hours=2)
CHINA = dt.timezone(dt.timedelta(hours=8))


@dataclass
class Loaded:
    profiles: int = 0
    decisions: int = 0
    assigned: int = 0
    snapshots: int = 0


def _profiles(tenant: DemoTenant, open_claims: dict[str, int]) -> list[service.ProfileChange]:
    """Adjusters two by two per branch: a junior (motor, 50 000 CNY) and a senior (more lines, 500 000 CNY).
    The adjuster holding the most open claims (leave aside) gets a capacity of half of them: overloaded."""
    adjusters = tenant.adjusters()
    busiest = max(adjusters[:3] + adjusters[4:], key=lambda name: (open_claims.get(name, 0), name))
    branches = tenant.branches
    found = []
    for n, username in enumerate(adjusters):
        branch = branches[(n // 2) % len(branches)]
        senior = n % 2 == 1
        found.append(
            service.ProfileChange(
                username=username,
                lines=["motor", "property", "accident"] if senior else ["motor"],
                claim_types=[],
                authority=Decimal("500000") if senior else Decimal("50000"),
                org_code=branch.code,
                region_codes=[branch.region_code],
                capacity=max(1, (open_claims.get(username, 0) + 1) // 2) if username == busiest else 40,
                handles_claims=True,
                handles_complaints=False,
                active=True,
            )
        )
    found.append(service.ProfileChange(f"{tenant.code.lower()}.cs", [], [], None, None, [], 30, False, True, True))
    return found


def _claim(tenant: DemoTenant, n: int, line: str, amount: str, branch_index: int, at: dt.datetime) -> EventIn:
    branch = tenant.branches[branch_index % len(tenant.branches)]
    number = f"{tenant.code}-ASG-{at:%Y%m%d}-{n:03d}"
    return EventIn.model_validate(
        {
            "event_id": f"{number}-r",
            "claim_number": number,
            "type": "reported",
            "occurred_at": at.isoformat(),
            "claim": {
                "line": line,
                "policy_number": f"P{number}",
                "org_code": branch.code,
                "region_code": branch.region_code,
                "reported_amount": amount,
                "claimant": {"name": ["陈晓明", "刘芳", "周建国", "吴丽娟"][n % 4], "phone": f"1391234{n:04d}"},
            },
        }
    )


def _near_limit(tenant: DemoTenant, at: dt.datetime) -> tuple[EventIn, EventIn]:
    """A claim the core system gives to a handler itself: 490 000 CNY of property damage to the third branch's
    senior adjuster, whose authority is 500 000 CNY. At the report (no handler yet) no tier of the red-flag file
    lies above the amount; once assigned, triage scores it again against the handler's own limit and it carries
    "amount just under an authority limit"."""
    reported = _claim(tenant, 9, "property", "490000.00", 2, at)
    assigned = {
        "event_id": f"{reported.claim_number}-a",
        "claim_number": reported.claim_number,
        "type": "assigned",
        "occurred_at": (at + dt.timedelta(minutes=2)).isoformat(),
        "assignee": tenant.adjusters()[5],
        "reason": "核心系统指定",
    }
    return reported, EventIn.model_validate(assigned)


def load(spec: DemoSpec, now: dt.datetime | None = None) -> Loaded:
    now = now or utc_now()
    loaded = Loaded()
    for index, tenant in enumerate(spec.tenants[:2]):
        with unit_of_work(TenantContext.system_context()) as session:
            found = tenancy_repository.tenant_by_code(session, tenant.code)
            assert found is not None
            tenant_id = found.id
        admin = Principal(role=Role.ADMIN, tenant_id=tenant_id, actor="demo")
        with unit_of_work(TenantContext.for_tenant(tenant_id)) as session:
            held = repository.open_claims(session)
            names = auth_repository.usernames_by_id(session, {c.user_id for c in held if c.user_id})
            open_claims = Counter(names[c.user_id] for c in held if c.user_id)
            for change in _profiles(tenant, open_claims):
                service.save_profile(session, admin, change)
                loaded.profiles += 1
            today = now.astimezone(CHINA).date()
            # adjuster04 is on annual leave this week.
            service.add_leave(
                session,
                admin,
                tenant.adjusters()[3],
                today - dt.timedelta(days=2),
                today + dt.timedelta(days=4),
                "年假",
            )
            service.set_mode(session, admin, "active" if index == 0 else "monitor")
        with unit_of_work(TenantContext.for_tenant(tenant_id)) as session:
            loaded.snapshots += service.backfill_snapshots(
                session, tenant_id, now - HISTORY, now - STEP, STEP, "demo: reconstructed from the record"
            )
        # This morning's new claims, reported without an assignee: the rules decide.
        morning = now - dt.timedelta(hours=3)
        events = [
            _claim(tenant, n, line, amount, branch, morning + dt.timedelta(minutes=9 * n))
            for n, (line, amount, branch) in enumerate(
                [
                    ("motor", "3200.00", 0),
                    ("motor", "8600.00", 0),
                    ("motor", "1500.00", 1),
                    ("property", "120000.00", 1),
                    ("motor", "4200.00", 2),
                    ("accident", "30000.00", 0),
                    ("motor", "2800.00", 1),
                    # Nobody in this branch may take it: above every authority (500 000 CNY).
                    ("property", "2600000.00", 0),
                ],
                start=1,
            )
        ]
        later: list[EventIn] = []
        if index == 0:
            near_limit = _near_limit(tenant, morning + dt.timedelta(minutes=9 * (len(events) + 1)))
            events.append(near_limit[0])
            later.append(near_limit[1])
        integration = Principal(role=Role.INTEGRATION, tenant_id=tenant_id, actor="api_key:core-demo")
        with unit_of_work(TenantContext.for_tenant(tenant_id)) as session:
            cases_service.ingest_events(session, integration, events)
            loaded.decisions += len(events)
            complaint = complaint_schemas.ComplaintIn.model_validate(
                {
                    "channel": "hotline",
                    "received_at": now - dt.timedelta(hours=1),
                    "complainant": {"name": "黄志强", "phone": "13987650001"},
                    "category": "claims",
                    "sub_cause": "delay",
                    "subject": "车险理赔进度慢",
                    "description": "报案三天没有人联系查勘，电话一直转人工。",
                }
            )
            complaints_intake.intake(session, integration, complaint)
            loaded.decisions += 1
        if later:  # the core system's own assignment, a few minutes after the report
            with unit_of_work(TenantContext.for_tenant(tenant_id)) as session:
                cases_service.ingest_events(session, integration, later)
        with unit_of_work(TenantContext.for_tenant(tenant_id)) as session:
            loaded.assigned += service.apply_pending(session, tenant_id)
            loaded.snapshots += service.take_snapshot(session, tenant_id, now)
    return loaded
