"""The audit chain's own transactions: linking the blocks that concurrent writers left past the head.

:func:`link_if_free` runs right after a concurrent batch commits and links only if no other writer holds the
head at that moment (``NOWAIT``): under load the next pass does it. :func:`link_all` is the worker's pass (and
what ``audit link`` runs): it waits for the head, briefly stopping the tenant's writers while it links.
"""

from __future__ import annotations

import structlog
from sqlalchemy import select

from claimwatch.audit import service
from claimwatch.audit.models import AuditHead
from claimwatch.db import TenantContext, unit_of_work

log = structlog.get_logger("claimwatch.audit")


def link_if_free(tenant_id: int) -> int:
    """Link now if the head is free; -1 if it is not. Never raises (it runs after a commit)."""
    try:
        with unit_of_work(TenantContext.for_tenant(tenant_id)) as session:
            return service.link(session, tenant_id, nowait=True)
    except Exception:  # the batch is committed whatever happens here; the worker's pass retries and reports
        log.exception("linking the audit chain after a batch failed", tenant_id=tenant_id)
        return -1


def link_all() -> dict[int, int]:
    """Every tenant's pending blocks linked (each in its own transaction): ``{tenant_id: entries linked}``."""
    with unit_of_work(TenantContext.system_reader()) as session:
        tenant_ids = list(session.scalars(select(AuditHead.tenant_id).order_by(AuditHead.tenant_id)))
    done: dict[int, int] = {}
    for tenant_id in tenant_ids:
        with unit_of_work(TenantContext.for_tenant(tenant_id)) as session:
            done[tenant_id] = service.link(session, tenant_id)
    return done
