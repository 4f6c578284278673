"""The sweep of a clock table whose clocks belong to another domain's records (provider tasks, underwriting cases,
service requests): one definition of how a due clock turns its light and fires each level once, so the domains
only say whose clock it is, whether that record is still open, and what to tell at yellow and at red.

Per batch (:func:`claimwatch.sla.jobs.sweep_clock_table`: the tenant's audit chain first, then the due clocks
locked): the batch's records are read in one statement, the tenant's axes and zone once. A clock whose record is
gone or closed, or that is no longer running, is not looked at again (``next_check_at`` cleared). Otherwise the
light advances on the clock's axis; yellow fires once before the deadline, red once after it (``escalated`` only
grows under the row lock, and every notice carries a dedupe key, so racing sweeps never double one); the next check
is the next level's time, or an hour later when the calendar cannot say."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Generic, TypeVar
from zoneinfo import ZoneInfo

from sqlalchemy.orm import Session

from claimwatch.db import utc_now
from claimwatch.sla import engine
from claimwatch.sla import jobs as sla_jobs
from claimwatch.sla import service as sla_service
from claimwatch.sla.jobs import SweepResult
from claimwatch.sla.models import ClockColumns
from claimwatch.tenancy import service as tenancy_service

# A level that cannot be decided now (a year without calendar data) is looked at again an hour later.
_RETRY = dt.timedelta(hours=1)


Subject = TypeVar("Subject")
Clock = TypeVar("Clock", bound=ClockColumns)


@dataclass
class BatchContext:
    """What one batch reads once: the tenant's axes and zone, and what the domain adds (``extra``)."""

    session: Session
    tenant_id: int
    axes: sla_service.Axes
    zone: ZoneInfo
    now: dt.datetime
    extra: Any = None


@dataclass(frozen=True)
class SubjectSweep(Generic[Subject, Clock]):
    clock_table: type[Clock]
    # The clock's record id, and the batch's records by id (one tenant-scoped read).
    subject_id: Callable[[Clock], int]
    load_subjects: Callable[[Session, int, list[int]], Mapping[int, Subject]]
    is_open: Callable[[Subject], bool]
    # What to tell, once per level; each call has already been counted in the result.
    on_yellow: Callable[[BatchContext, Subject, Clock], None]
    on_red: Callable[[BatchContext, Subject, Clock], None]
    # Anything else the domain reads once per batch (the provider task kinds, say).
    batch_extra: Callable[[Session, int], Any] | None = None

    def run(self, now: dt.datetime | None = None, batch_size: int = 500) -> SweepResult:
        """One pass over every tenant's due clocks of this table; each batch commits on its own."""
        at = now or utc_now()
        return sla_jobs.sweep_clock_table(
            at,
            batch_size,
            self.clock_table,
            lambda session, tenant_id, due, result: self._check_batch(session, tenant_id, due, at, result),
            SweepResult(),
        )

    def _check_batch(
        self, session: Session, tenant_id: int, due: Sequence[Clock], now: dt.datetime, result: SweepResult
    ) -> None:
        subjects = self.load_subjects(session, tenant_id, sorted({self.subject_id(clock) for clock in due}))
        context = BatchContext(
            session,
            tenant_id,
            sla_service.Axes(session, tenant_id),
            tenancy_service.tenant_zone(session, tenant_id),
            now,
            self.batch_extra(session, tenant_id) if self.batch_extra is not None else None,
        )
        for clock in due:
            subject = subjects.get(self.subject_id(clock))
            if subject is None or clock.state != engine.RUNNING or not self.is_open(subject):
                # Stopped, decided or gone before the sweep looked: nothing to warn about any more.
                clock.next_check_at = None
                continue
            self._check(context, subject, clock, result)

    def _check(self, context: BatchContext, subject: Subject, clock: Clock, result: SweepResult) -> None:
        now = context.now
        axis = context.axes(clock.unit)
        engine.advance_light(axis, clock, now)
        overdue = clock.red_due_at is not None and now >= clock.red_due_at
        owed = 2 if overdue else engine.LEVELS[clock.light]
        if clock.escalated < 1 <= owed and not overdue:
            self.on_yellow(context, subject, clock)
            result.yellow += 1
        if clock.escalated < 2 <= owed:
            self.on_red(context, subject, clock)
            result.red += 1
        clock.escalated = max(clock.escalated, owed)
        clock.updated_at = now
        if clock.escalated >= 2:
            clock.next_check_at = None  # nothing more to tell until the clock stops
            return
        upcoming = engine.next_check(axis, clock) or clock.red_due_at
        clock.next_check_at = upcoming if upcoming is None or upcoming > now else now + _RETRY
