"""The access log's route, and the one call other domains' routes make to record a view of personal data.

``GET /api/v1/access-log`` (``VIEW_ACCESS_LOG``: quality managers and admins) lists the caller's insurer's
records, newest first. :func:`record_view` is what the claim and complaint pages and API, the exports and the
unmask routes call after they have read what they show."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from typing import Any

from fastapi import APIRouter, Depends, Query
from fastapi.encoders import jsonable_encoder
from sqlalchemy.orm import Session

from claimwatch.access import repository, service
from claimwatch.access.schemas import PRINTABLE
from claimwatch.auth.deps import TenantSession, require
from claimwatch.auth.principal import Permission, Principal
from claimwatch.db import TenantContext, tenant_context, unit_of_work
from claimwatch.params import checked_instant

router = APIRouter(prefix="/api/v1", tags=["access log"])


def record_view(
    session: Session, principal: Principal, tenant_ids: Iterable[int | None], kind: str, ref: str, purpose: str
) -> None:
    """Record that ``principal`` was shown personal data of ``ref`` (of each insurer in ``tenant_ids``).

    In the request's session when it may write (staff: the record commits with the answer, one INSERT). A
    regulator's session is read-only and rolls back, but its views are personal data processing too (PIPL):
    they are recorded in a unit of work of their own, opened here, which writes only these rows."""
    ids = [tenant_id for tenant_id in tenant_ids if tenant_id is not None]
    if not ids:
        return
    if not tenant_context(session).read_only:
        service.record(session, principal, ids, kind, ref, purpose)
        return
    with unit_of_work(TenantContext.system_context()) as own:
        service.record(own, principal, ids, kind, ref, purpose)


def _aware(name: str, value: dt.datetime | None) -> dt.datetime | None:
    return checked_instant(name, value)


@router.get("/access-log", summary="Who viewed, exported or unmasked personal data (newest first)")
def get_access_log(
    session: TenantSession,
    since: dt.datetime | None = Query(None, description="at or after (ISO 8601 with offset)"),
    until: dt.datetime | None = Query(None, description="before (ISO 8601 with offset)"),
    actor: str | None = Query(
        None, max_length=100, pattern=PRINTABLE, description="user:NAME, api_key:NAME or a user name"
    ),
    record: str | None = Query(None, max_length=200, pattern=PRINTABLE, description="a claim or complaint number"),
    kind: str | None = Query(None, pattern="^(claim|complaint|export)$"),
    page: int = Query(1, ge=1, le=1_000_000),
    page_size: int = Query(100, ge=1, le=1000),
    _: Principal = Depends(require(Permission.VIEW_ACCESS_LOG)),
) -> Any:
    filters = repository.AccessFilter(
        since=_aware("since", since), until=_aware("until", until), actor=actor, record=record, kind=kind
    )
    return jsonable_encoder(service.search(session, filters, page, page_size))
