"""The evidence pass of the worker: for every insurer, append the new audit entries to its tree, sign a head
at the size of every audit checkpoint (seal) no head covers yet (reason ``seal``) and one at least hourly
while something new was recorded (``hourly``); then hand each new head to the witness
(``evidence.witness.receive``) in a transaction of the platform's own, after the insurer's has committed.

A tenant with nothing new is only read (no write lock). An hourly head is not signed when the only entry
since the last head is that head's own record (``evidence.head_signed``): otherwise each head would be the
reason for the next one.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

import structlog
from sqlalchemy import select
from sqlalchemy.orm import Session

from claimwatch.db import TenantContext, unit_of_work, utc_now
from claimwatch.evidence import heads, repository, store, witness
from claimwatch.evidence.models import EvidenceTreeHead
from claimwatch.tenancy import repository as tenancy_repository

log = structlog.get_logger("claimwatch.evidence")
HOURLY = dt.timedelta(hours=1)


@dataclass
class EvidencePass:
    appended: int = 0  # leaves added to the trees
    signed: list[int] = field(default_factory=list)  # ids of the heads signed
    witnessed: dict[str, int] = field(default_factory=dict)  # witness status -> heads
    failed: list[str] = field(default_factory=list)  # tenant codes whose pass raised

    @property
    def items(self) -> int:
        return self.appended + len(self.signed)


@dataclass(frozen=True)
class _Due:
    seals: tuple[int, ...]
    hourly: bool
    chain: int

    @property
    def any(self) -> bool:
        return bool(self.seals) or self.hourly


def _due(session: Session, tenant_id: int, now: dt.datetime) -> _Due:
    """What the tenant needs now (reads only)."""
    newest = heads.newest(session, tenant_id)
    covered = newest.tree_size if newest is not None else 0
    chain = repository.chain_size(session, tenant_id)
    seals = tuple(repository.checkpoint_sizes_above(session, tenant_id, covered))
    pending = chain - covered
    own_record_only = pending == 1 and repository.last_entry_kind(session, tenant_id, chain) == heads.HEAD_SIGNED_KIND
    hourly = pending > 0 and not own_record_only and (newest is None or now - newest.signed_at >= HOURLY)
    return _Due(seals, hourly, chain)


def run_tenant(session: Session, tenant_id: int, now: dt.datetime, result: EvidencePass) -> list[int]:
    """Append, then sign what is due, in the caller's transaction (the tenant's own). Returns the new heads'
    ids."""
    due = _due(session, tenant_id, now)
    before = store.tree_size(session, tenant_id)
    if not due.any and before >= due.chain:
        return []
    signed = []
    for size in due.seals:
        signed.append(heads.sign_head(session, tenant_id, heads.SEAL, size=size, now=now).id)
    if due.hourly and (not due.seals or due.seals[-1] < due.chain):
        signed.append(heads.sign_head(session, tenant_id, heads.HOURLY, now=now).id)
    result.appended += store.append(session, tenant_id) - before
    return signed


def run(now: dt.datetime | None = None) -> EvidencePass:
    """One pass over every insurer (each in its own transaction), then the witness over the new heads."""
    now = now or utc_now()
    result = EvidencePass()
    with unit_of_work(TenantContext.system_reader()) as session:
        tenants = [(t.id, t.code) for t in tenancy_repository.all_tenants(session)]
    for tenant_id, code in tenants:
        try:
            with unit_of_work(TenantContext.for_tenant(tenant_id)) as session:
                result.signed.extend(run_tenant(session, tenant_id, now, result))
        except Exception:  # one insurer's failure does not stop the others; the next pass retries it
            result.failed.append(code)
            log.exception("evidence pass failed", tenant=code)
    if result.signed:
        witness_heads(result.signed, now, result)
    return result


def witness_heads(head_ids: list[int], now: dt.datetime, result: EvidencePass | None = None) -> None:
    """The platform receives each head (its own transaction: the witness is another party)."""
    with unit_of_work(TenantContext.system_context()) as session:
        found = session.execute(
            select(EvidenceTreeHead).where(EvidenceTreeHead.id.in_(head_ids)).order_by(EvidenceTreeHead.id)
        ).scalars()
        for head in found:
            copy = witness.receive(session, head, now)
            if result is not None:
                result.witnessed[copy.status] = result.witnessed.get(copy.status, 0) + 1
