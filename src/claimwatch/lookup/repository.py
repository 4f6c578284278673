"""Lookup rows: throttles (atomic upserts, so concurrent processes agree) and one-time codes."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Any

from sqlalchemy import bindparam, select
from sqlalchemy.orm import Session

from claimwatch import throttle
from claimwatch.cases.models import CaseEvent, Claim
from claimwatch.lookup.models import LookupCode, LookupThrottle
from claimwatch.materials.models import MaterialsDocument, MaterialsProfile
from claimwatch.sla.models import SlaClock


def throttles(session: Session, keys: Sequence[tuple[str, str]]) -> list[Any]:
    """(scope, failures, locked_until) of the throttle rows of these (scope, key_hash) pairs."""
    return throttle.rows(session, LookupThrottle, keys)


def count_failure(
    session: Session, scope: str, key_hash: str, now: dt.datetime, window: int, limit: int, lockout: int
) -> tuple[int, dt.datetime | None]:
    return throttle.count_failure(session, LookupThrottle, scope, key_hash, now, window, limit, lockout)


def clear_failures(session: Session, scope: str, key_hash: str) -> None:
    throttle.clear_failures(session, LookupThrottle, scope, key_hash)


def purge_throttles(session: Session, before: dt.datetime) -> int:
    return throttle.purge(session, LookupThrottle, before)


def add_code(session: Session, code: LookupCode) -> LookupCode:
    session.add(code)
    session.flush()
    return code


def latest_code(session: Session, claim_id: int, for_update: bool = False) -> LookupCode | None:
    statement = select(LookupCode).where(LookupCode.claim_id == claim_id).order_by(LookupCode.id.desc()).limit(1)
    if for_update:
        statement = statement.with_for_update()
    return session.execute(statement).scalar_one_or_none()


# --- the claimant's read model: exactly the columns the lookup shows, one query each ---------------------
# Read-only projections of the cases and SLA tables for the public hot path (a lookup must stay a few
# milliseconds at 10 M claims); the rows are written only by their own domains.


# Statements of the hot path are built once (building a statement costs more than running it on an
# indexed row) and run as Core statements on the session's connection, in its transaction. They skip
# the ORM's automatic tenant criteria, so each names ``tenant_id`` itself.
_STATUS_CHANGES = (
    select(CaseEvent.occurred_at, CaseEvent.to_status, CaseEvent.reason)
    .where(
        CaseEvent.tenant_id == bindparam("tenant_id"),
        CaseEvent.claim_id == bindparam("claim_id"),
        CaseEvent.to_status.is_not(None),
    )
    .order_by(CaseEvent.audit_seq)
)
# The claim a verification names: what the factor check and the claimant's view read of it.
LOOKUP_CLAIM_FIELDS = (
    "id",
    "tenant_id",
    "number",
    "line",
    "status",
    "route",
    "closed_at",
    "reported_at",
    "claimant_name",
    "claimant_phone_enc",
)
_CLAIM = select(*(getattr(Claim, name) for name in LOOKUP_CLAIM_FIELDS)).where(
    Claim.tenant_id == bindparam("tenant_id"), Claim.number == bindparam("number")
)
TIMELINESS_PREFIX = "timeliness_"  # timeliness_small / _middle / _large: the platform's targets
_CLOCK = (
    select(SlaClock.policy_code, SlaClock.state, SlaClock.yellow_due_at, SlaClock.calendar_gap)
    .where(
        SlaClock.tenant_id == bindparam("tenant_id"),
        SlaClock.claim_id == bindparam("claim_id"),
        SlaClock.policy_code.startswith(TIMELINESS_PREFIX, autoescape=True),
    )
    .order_by(SlaClock.cycle.desc(), SlaClock.id.desc())
    .limit(1)
)

# The claim's checklist inputs (claim type, facts) and the items received: what the materials rules need.
_MATERIALS_PROFILE = select(MaterialsProfile.claim_type, MaterialsProfile.facts).where(
    MaterialsProfile.tenant_id == bindparam("tenant_id"), MaterialsProfile.claim_id == bindparam("claim_id")
)
_RECEIVED_ITEMS = (
    select(MaterialsDocument.item_code)
    .where(MaterialsDocument.tenant_id == bindparam("tenant_id"), MaterialsDocument.claim_id == bindparam("claim_id"))
    .distinct()
)


def lookup_claim(session: Session, tenant_id: int, number: str) -> Any | None:
    """The claim of an insurer's claim number (unique per tenant) as a row of :data:`LOOKUP_CLAIM_FIELDS`."""
    return session.connection().execute(_CLAIM, {"tenant_id": tenant_id, "number": number}).first()


def status_changes(session: Session, tenant_id: int, claim_id: int) -> list[Any]:
    """(occurred_at, to_status, reason) of each event that set a status, oldest first; no actors."""
    return list(session.connection().execute(_STATUS_CHANGES, {"tenant_id": tenant_id, "claim_id": claim_id}).all())


def timeliness_clock(session: Session, tenant_id: int, claim_id: int) -> Any | None:
    """The latest cycle of the claim's platform timeliness clock: its policy, state, target due time
    and calendar gap."""
    return session.connection().execute(_CLOCK, {"tenant_id": tenant_id, "claim_id": claim_id}).first()


def materials_profile(session: Session, tenant_id: int, claim_id: int) -> Any | None:
    """(claim_type, facts) of the claim's materials profile; None until it is set. A Core read: it does not
    flush the session first, so it sees only what the session has flushed (the lookup's sessions write no
    materials before reading them)."""
    return session.connection().execute(_MATERIALS_PROFILE, {"tenant_id": tenant_id, "claim_id": claim_id}).first()


def received_items(session: Session, tenant_id: int, claim_id: int) -> set[str]:
    """The checklist items the claim has a document for."""
    rows = session.connection().execute(_RECEIVED_ITEMS, {"tenant_id": tenant_id, "claim_id": claim_id})
    return set(rows.scalars())
