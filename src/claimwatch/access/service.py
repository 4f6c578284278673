"""Recording views of personal data, unmasking a field by role and reason, and reading the log.

Takes the session it is given, like every service: the request's (a staff member's view is recorded in
the same transaction as the page it shows) or, for a regulator's read-only view, one the route opens for
the record (:func:`claimwatch.access.api.record_view`)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from typing import Any

from sqlalchemy.orm import Session

from claimwatch.access import repository
from claimwatch.access.models import PersonalDataAccess
from claimwatch.auth.principal import Permission, Principal
from claimwatch.db import utc_now
from claimwatch.errors import Invalid, NotFound
from claimwatch.privacy import field_cipher, scrub_text

CLAIM, COMPLAINT, EXPORT = "claim", "complaint", "export"
UNMASK = "unmask"
MIN_REASON = 5


def record(
    session: Session,
    principal: Principal,
    tenant_ids: Iterable[int],
    kind: str,
    ref: str,
    purpose: str,
    *,
    field: str | None = None,
    reason: str | None = None,
    now: dt.datetime | None = None,
) -> None:
    """One row per insurer whose data was shown (an export across insurers names each), in one INSERT."""
    now = now or utc_now()
    rows = [
        PersonalDataAccess(
            tenant_id=tenant_id,
            accessed_at=now,
            actor=principal.actor[:100],
            role=principal.role.value,
            record_kind=kind,
            record_ref=ref[:200],
            purpose=purpose,
            field=field,
            reason=reason,
        )
        for tenant_id in sorted(set(tenant_ids))
    ]
    session.add_all(rows)
    session.flush()


def unmask(
    session: Session,
    principal: Principal,
    tenant_id: int,
    kind: str,
    ref: str,
    field: str,
    reason: str,
    token: str | None,
) -> str:
    """The clear value of an encrypted field, recorded with the reason given (scrubbed of numbers that look
    personal); the record commits with the answer. ``AccessDenied`` without ``UNMASK_PERSONAL_DATA``; 422 for a
    reason too short to mean anything; 404 when the record has no such value."""
    principal.require(Permission.UNMASK_PERSONAL_DATA)
    reason = reason.strip()
    if len(reason) < MIN_REASON:
        raise Invalid("reason", f"give the reason in at least {MIN_REASON} characters")
    clear = field_cipher().decrypt(token)
    if not clear:
        raise NotFound("field", f"the {kind} has no {field}")
    record(session, principal, [tenant_id], kind, ref, UNMASK, field=field, reason=scrub_text(reason)[:500])
    return clear


def search(session: Session, filters: repository.AccessFilter, page: int, page_size: int) -> dict[str, Any]:
    total, rows = repository.search(session, filters, page, page_size)
    return {
        "total": total,
        "page": page,
        "page_size": page_size,
        "items": [
            {
                "id": row.id,
                "accessed_at": row.accessed_at,
                "actor": row.actor,
                "role": row.role,
                "record_kind": row.record_kind,
                "record": row.record_ref,
                "purpose": row.purpose,
                "field": row.field,
                "reason": row.reason,
            }
            for row in rows
        ],
    }
