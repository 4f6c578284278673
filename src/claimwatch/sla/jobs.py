"""The SLA sweep: turn lights as deadlines pass, escalate yellow to supervisors, file red with the regulator.

It reads only clocks whose ``next_check_at`` has come (an index range), tenant by tenant, in
transactions of at most ``sweep_batch_size`` clocks. Each transaction takes the tenant's audit
chain first and then the clock rows (``FOR UPDATE SKIP LOCKED`` on PostgreSQL), so several workers
can sweep at once without working the same clock; the unique (clock, level) key on escalations
makes a second firing impossible even if they did.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from sqlalchemy.orm import Session

from claimwatch.audit import service as audit_service
from claimwatch.audit.hashing import canonical_json, sha256_hex
from claimwatch.config import get_settings
from claimwatch.db import TenantContext, unit_of_work, utc_now
from claimwatch.notify.models import StaffNotification
from claimwatch.sla import engine, repository
from claimwatch.sla.models import Escalation, RegulatorFiling, SlaClock
from claimwatch.sla.service import SYSTEM_ACTOR, Axes, tenant_policies
from claimwatch.tenancy import repository as tenancy_repository

# A clock that cannot be decided now (e.g. a year without calendar data) is looked at again later.
_RETRY = dt.timedelta(hours=1)


@dataclass
class SweepResult:
    checked: int = 0
    yellow: int = 0
    red: int = 0
    by_tenant: dict[int, int] = field(default_factory=dict)


def sweep(now: dt.datetime | None = None, batch_size: int | None = None) -> SweepResult:
    """One pass over every tenant's due clocks. Each batch commits on its own."""
    now = now or utc_now()
    batch_size = batch_size or get_settings().sweep_batch_size
    result = SweepResult()
    with unit_of_work(TenantContext.system_context()) as session:
        tenant_ids = [tenant.id for tenant in tenancy_repository.all_tenants(session)]
        due = repository.tenants_with_due_clocks(session, tenant_ids, now)
    for tenant_id in due:
        while True:
            with unit_of_work(TenantContext.system_context()) as session:
                handled = sweep_tenant_batch(session, tenant_id, now, batch_size, result)
            if handled < batch_size:
                break
    return result


def sweep_tenant_batch(session: Session, tenant_id: int, now: dt.datetime, limit: int, result: SweepResult) -> int:
    chain = audit_service.open_chain(session, tenant_id)
    clocks = repository.due_clocks(session, tenant_id, now, limit)
    if not clocks:
        chain.close()
        return 0
    axes = Axes(session, tenant_id)
    policies = tenant_policies(session, tenant_id)
    facts = repository.claim_facts(session, [clock.claim_id for clock in clocks])
    yellow: list[SlaClock] = []
    red: list[SlaClock] = []
    for clock in clocks:
        axis = axes(clock.unit)
        engine.advance_light(axis, clock, now)
        owed = engine.LEVELS[clock.light]
        if clock.escalated < 1 <= owed:
            yellow.append(clock)
        if clock.escalated < 2 <= owed:
            red.append(clock)
        clock.escalated = max(clock.escalated, owed)
        clock.updated_at = now
        next_check = engine.next_check(axis, clock)
        clock.next_check_at = next_check if next_check is None or next_check > now else now + _RETRY

    def escalation_row(clock: SlaClock, level: str) -> dict[str, object]:
        claim = facts[clock.claim_id]
        return {
            "tenant_id": tenant_id,
            "clock_id": clock.id,
            "claim_id": clock.claim_id,
            "org_unit_id": claim.org_unit_id,
            "level": level,
            "due_at": clock.yellow_due_at if level == engine.YELLOW else clock.red_due_at,
            "fired_at": now,
            "status": "open",
        }

    repository.insert_ignore_duplicates(
        session,
        Escalation,
        [escalation_row(c, engine.YELLOW) for c in yellow] + [escalation_row(c, engine.RED) for c in red],
    )
    red_ids = repository.escalation_ids(session, [c.id for c in red], engine.RED)
    repository.insert_ignore_duplicates(
        session,
        RegulatorFiling,
        [
            {
                "tenant_id": tenant_id,
                "escalation_id": red_ids[clock.id],
                "clock_id": clock.id,
                "claim_id": clock.claim_id,
                "claim_number": facts[clock.claim_id].number,
                "line": facts[clock.claim_id].line,
                "org_unit_id": facts[clock.claim_id].org_unit_id,
                "region_code": facts[clock.claim_id].region_code,
                "policy_code": clock.policy_code,
                "reported_at": facts[clock.claim_id].reported_at,
                "yellow_due_at": clock.yellow_due_at,
                "red_due_at": clock.red_due_at,
                "filed_at": now,
            }
            for clock in red
        ],
    )
    notices = []
    for level, fired in ((engine.YELLOW, yellow), (engine.RED, red)):
        for clock in fired:
            claim = facts[clock.claim_id]
            policy = policies.get(clock.policy_code)
            name = policy.name_zh if policy else clock.policy_code
            light = "黄灯" if level == engine.YELLOW else "红灯（已报监管）"
            overdue = "超期" if level == engine.YELLOW else "严重超期"
            notices.append(
                {
                    "tenant_id": tenant_id,
                    "recipient_role": "supervisor",
                    "org_unit_id": claim.org_unit_id,
                    "user_id": None,
                    "kind": f"sla_{level}",
                    "subject": f"{claim.number} {name} {light}",
                    "body": f"赔案 {claim.number} 的「{name}」时限已{overdue}，请督办。",
                    "claim_id": clock.claim_id,
                    "dedupe_key": f"sla:{clock.id}:{level}",
                    "status": "queued",
                    "created_at": now,
                }
            )
            payload = canonical_json(
                {
                    "claim": claim.number,
                    "policy": clock.policy_code,
                    "cycle": clock.cycle,
                    "level": level,
                    "due_at": (clock.yellow_due_at if level == engine.YELLOW else clock.red_due_at),
                    "fired_at": now,
                }
            )
            chain.append("sla.escalation", claim.number, SYSTEM_ACTOR, sha256_hex(payload), payload)
    repository.insert_ignore_duplicates(session, StaffNotification, notices)
    session.flush()
    chain.close()
    result.checked += len(clocks)
    result.yellow += len(yellow)
    result.red += len(red)
    result.by_tenant[tenant_id] = result.by_tenant.get(tenant_id, 0) + len(clocks)
    return len(clocks)
