"""The SLA sweep: turn lights as deadlines pass, escalate yellow to supervisors, file red with the regulator.

It reads only clocks whose ``next_check_at`` has come (an index range), tenant by tenant, in
transactions of at most ``sweep_batch_size`` clocks. Each transaction takes the tenant's audit
chain first and then the clock rows (``FOR UPDATE SKIP LOCKED`` on PostgreSQL), so several workers
can sweep at once without working the same clock; the unique (clock, level) key on escalations
makes a second firing impossible even if they did.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any, NamedTuple, TypeVar, cast

from sqlalchemy import text
from sqlalchemy.orm import Session

from claimwatch.audit import service as audit_service
from claimwatch.audit.hashing import canonical_json, format_timestamp, sha256_hex
from claimwatch.config import get_settings
from claimwatch.db import TenantContext, bulk_insert_ignore, unit_of_work, utc_now
from claimwatch.notify import staff_notices as notify_staff_notices
from claimwatch.sla import engine, repository
from claimwatch.sla.loader import Policy
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


# Which tenants have clocks due at ``now``, given every tenant's id (a clock table's repository).
TenantsDue = Callable[[Session, list[int], dt.datetime], Iterable[int]]
# One batch of one tenant's due clocks in the given transaction; returns how many it handled.
SweepBatch = Callable[[Session, int, int], int]


def sweep_due_tenants(now: dt.datetime, batch_size: int, tenants_due: TenantsDue, sweep_batch: SweepBatch) -> None:
    """The one sweep loop of every clock table (claim clocks here, complaint clocks too): the tenants
    with due clocks, then each tenant batch by batch, every batch in its own transaction (committed
    on its own, so a long sweep holds no lock for long) until a batch comes back short."""
    with unit_of_work(TenantContext.system_context()) as session:
        tenant_ids = [tenant.id for tenant in tenancy_repository.all_tenants(session)]
        due = list(tenants_due(session, tenant_ids, now))
    for tenant_id in due:
        while True:
            with unit_of_work(TenantContext.system_context()) as session:
                handled = sweep_batch(session, tenant_id, batch_size)
            if handled < batch_size:
                break


Result = TypeVar("Result", bound=SweepResult)


def sweep_clock_table(
    now: dt.datetime,
    batch_size: int,
    clock_table: Any,
    check_batch: Callable[[Session, int, Sequence[Any], Result], None],
    result: Result,
) -> Result:
    """The sweep of a clock table whose clocks belong to another domain's records (complaints, rectifications,
    improvement actions, provider tasks, underwriting cases, service requests): per batch the tenant's audit chain
    first, then its due clocks locked, ``check_batch`` on them, and the counts in ``result`` (a
    :class:`SweepResult`, or one with the domain's own counts added)."""

    def batch(session: Session, tenant_id: int, limit: int) -> int:
        audit_service.open_chain(session, tenant_id).close()
        due = repository.lock_due_rows(session, clock_table, tenant_id, now, limit)
        if not due:
            return 0
        check_batch(session, tenant_id, due, result)
        session.flush()
        result.checked += len(due)
        result.by_tenant[tenant_id] = result.by_tenant.get(tenant_id, 0) + len(due)
        return len(due)

    sweep_due_tenants(
        now,
        batch_size,
        lambda session, tenant_ids, at: repository.tenants_with_due_rows(session, clock_table, tenant_ids, at),
        batch,
    )
    return result


def sweep(now: dt.datetime | None = None, batch_size: int | None = None) -> SweepResult:
    """One pass over every tenant's due clocks. Each batch commits on its own."""
    at = now or utc_now()
    result = SweepResult()
    sweep_due_tenants(
        at,
        batch_size or get_settings().sweep_batch_size,
        lambda session, tenant_ids, at: repository.tenants_with_due_rows(session, SlaClock, tenant_ids, at),
        lambda session, tenant_id, limit: sweep_tenant_batch(session, tenant_id, at, limit, result),
    )
    return result


class _DueClock:
    """A due clock as the sweep works on it: the columns of ``repository.DUE_CLOCK_FIELDS`` as
    attributes, so ``engine.advance_light``/``engine.next_check`` run on it unchanged, without the
    cost of an ORM entity."""

    __slots__ = repository.DUE_CLOCK_FIELDS

    def __init__(self, row: Sequence[Any]) -> None:
        for name, value in zip(self.__slots__, row, strict=False):
            setattr(self, name, value)

    # Declared for mypy; set from the row in __init__.
    id: int
    claim_id: int
    policy_code: str
    cycle: int
    unit: str
    light: str
    escalated: int
    yellow_due_at: dt.datetime | None
    red_due_at: dt.datetime | None
    updated_at: dt.datetime
    breached_at: dt.datetime | None
    next_check_at: dt.datetime | None


class _ClaimFacts(NamedTuple):
    """``repository.CLAIM_FACT_FIELDS`` of a due clock's claim."""

    number: str
    line: str
    org_unit_id: int | None
    region_code: str | None
    reported_at: dt.datetime


# Per escalation row; the tenant, level, firing time and status are the same for a whole batch and go once.
ESCALATION_COLUMNS = ("clock_id", "claim_id", "org_unit_id", "due_at")
# Per staff notice row (the rest of notify's STAFF_NOTICE_COLUMNS is constant per batch and level).
NOTICE_COLUMNS = ("org_unit_id", "subject", "body", "claim_id", "dedupe_key")
FILING_COLUMNS = (
    "tenant_id",
    "escalation_id",
    "clock_id",
    "claim_id",
    "claim_number",
    "line",
    "org_unit_id",
    "region_code",
    "policy_code",
    "reported_at",
    "yellow_due_at",
    "red_due_at",
    "filed_at",
)
_FACTS_AT = len(repository.DUE_CLOCK_FIELDS)


def sweep_tenant_batch(session: Session, tenant_id: int, now: dt.datetime, limit: int, result: SweepResult) -> int:
    chain = audit_service.open_chain(session, tenant_id)
    rows = repository.lock_due_clock_rows(session, tenant_id, now, limit)
    if not rows:
        chain.close()
        return 0
    if session.get_bind().dialect.name == "postgresql":
        # A sweep batch lost in a crash is simply done again by the next sweep (the clocks'
        # next_check_at did not move, escalations are unique per clock and level), so its commit
        # need not wait for the WAL flush.
        session.execute(text("SET LOCAL synchronous_commit TO OFF"))
    clocks = [_DueClock(row) for row in rows]
    facts = {row[1]: _ClaimFacts(*row[_FACTS_AT:]) for row in rows}
    axes = Axes(session, tenant_id)
    policies = tenant_policies(session, tenant_id)
    yellow: list[_DueClock] = []
    red: list[_DueClock] = []
    for clock in clocks:
        axis = axes(clock.unit)
        # The engine reads and writes only the attributes a _DueClock has (DUE_CLOCK_FIELDS).
        as_clock = cast(SlaClock, clock)
        engine.advance_light(axis, as_clock, now)
        owed = engine.LEVELS[clock.light]
        if clock.escalated < 1 <= owed:
            yellow.append(clock)
        if clock.escalated < 2 <= owed:
            red.append(clock)
        clock.escalated = max(clock.escalated, owed)
        clock.updated_at = now
        next_check = engine.next_check(axis, as_clock)
        clock.next_check_at = next_check if next_check is None or next_check > now else now + _RETRY

    # Escalations before the clocks' update: their foreign-key checks then find the clock rows this transaction
    # already holds FOR UPDATE and need not lock (and log) each clock's new row version (PostgreSQL).
    _escalate(session, chain, tenant_id, now, yellow, red, facts, policies)
    repository.update_swept_clocks(
        session,
        tenant_id,
        # In primary-key order, as an ORM flush writes them.
        sorted((c.id, c.light, c.breached_at, c.escalated, c.updated_at, c.next_check_at) for c in clocks),
    )
    chain.close()
    result.checked += len(clocks)
    result.yellow += len(yellow)
    result.red += len(red)
    result.by_tenant[tenant_id] = result.by_tenant.get(tenant_id, 0) + len(clocks)
    return len(clocks)


def _escalate(
    session: Session,
    chain: audit_service.ChainWriter,
    tenant_id: int,
    now: dt.datetime,
    yellow: list[_DueClock],
    red: list[_DueClock],
    facts: dict[int, _ClaimFacts],
    policies: dict[str, Policy],
) -> None:
    """Escalation rows, regulator filings for red, a notice to the supervisors and an audit entry each."""
    if not yellow and not red:
        return

    def escalation_row(clock: _DueClock, level: str) -> tuple[Any, ...]:
        due_at = clock.yellow_due_at if level == engine.YELLOW else clock.red_due_at
        return (clock.id, clock.claim_id, facts[clock.claim_id].org_unit_id, due_at)

    for level, fired in ((engine.YELLOW, yellow), (engine.RED, red)):
        bulk_insert_ignore(
            session,
            Escalation,
            ESCALATION_COLUMNS,
            [escalation_row(c, level) for c in fired],
            {"tenant_id": tenant_id, "level": level, "fired_at": now, "status": "open"},
        )
    red_ids = repository.escalation_ids(session, [c.id for c in red], engine.RED)
    bulk_insert_ignore(
        session,
        RegulatorFiling,
        FILING_COLUMNS,
        [
            (
                tenant_id,
                red_ids[clock.id],
                clock.id,
                clock.claim_id,
                facts[clock.claim_id].number,
                facts[clock.claim_id].line,
                facts[clock.claim_id].org_unit_id,
                facts[clock.claim_id].region_code,
                clock.policy_code,
                facts[clock.claim_id].reported_at,
                clock.yellow_due_at,
                clock.red_due_at,
                now,
            )
            for clock in red
        ],
    )
    fired_at = format_timestamp(now)  # what canonical_json writes for ``now``, formatted once
    for level, fired in ((engine.YELLOW, yellow), (engine.RED, red)):
        light = "黄灯" if level == engine.YELLOW else "红灯（已报监管）"
        overdue = "超期" if level == engine.YELLOW else "严重超期"
        notices = []
        for clock in fired:
            claim = facts[clock.claim_id]
            policy = policies.get(clock.policy_code)
            name = policy.name_zh if policy else clock.policy_code
            due_at = clock.yellow_due_at if level == engine.YELLOW else clock.red_due_at
            notices.append(
                (
                    claim.org_unit_id,
                    f"{claim.number} {name} {light}",
                    f"赔案 {claim.number} 的「{name}」时限已{overdue}，请督办。",
                    clock.claim_id,
                    f"sla:{clock.id}:{level}",
                )
            )
            payload = canonical_json(
                {
                    "claim": claim.number,
                    "policy": clock.policy_code,
                    "cycle": clock.cycle,
                    "level": level,
                    "due_at": due_at,
                    "fired_at": fired_at,
                }
            )
            chain.append("sla.escalation", claim.number, SYSTEM_ACTOR, sha256_hex(payload), payload)
        notify_staff_notices.queue_staff_notices(
            session,
            notices,
            NOTICE_COLUMNS,
            {
                "tenant_id": tenant_id,
                "recipient_role": "supervisor",
                "user_id": None,
                "kind": f"sla_{level}",
                "status": "queued",
                "created_at": now,
            },
        )
