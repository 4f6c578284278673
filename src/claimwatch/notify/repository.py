"""Queries of the outbox. No commits here."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import and_, func, or_, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from claimwatch.auth.models import User
from claimwatch.cases.models import CaseEvent, Claim
from claimwatch.db import bulk_insert, bulk_insert_ignore
from claimwatch.notify.models import (
    MessageStatus,
    NotifyRobot,
    OptOut,
    OutboxMessage,
    PostedNotice,
    StaffInboxItem,
    StaffNotification,
    StaffNotifyPreference,
    StaffNotifyProfile,
)

_CHUNK = 900

OUTBOX_COLUMNS = (
    "tenant_id",
    "claim_id",
    "channel",
    "recipient_enc",
    "recipient_hash",
    "template",
    "locale",
    "event_ref",
    "about_status",
    "subject",
    "body",
    "secret_body_enc",
    "idempotency_key",
    "status",
    "attempts",
    "next_attempt_at",
    "last_error",
    "created_at",
    "updated_at",
    "sent_at",
)
_OUTBOX_TIMESTAMPS = sum(1 << i for i, name in enumerate(OUTBOX_COLUMNS) if name.endswith("_at"))


def _chunks(values: Sequence[Any]) -> Iterable[Sequence[Any]]:
    for start in range(0, len(values), _CHUNK):
        yield values[start : start + _CHUNK]


@dataclass(frozen=True)
class Contact:
    claim_id: int | None
    tenant_id: int
    number: str
    line: str
    name: str
    phone_enc: str | None
    phone_hash: str | None
    email_enc: str | None
    email_hash: str | None
    reported_at: dt.datetime
    complaint_id: int | None = None


def claim_contacts(session: Session, claim_ids: Iterable[int]) -> dict[int, Contact]:
    ids = sorted(set(claim_ids))
    found: dict[int, Contact] = {}
    for chunk in _chunks(ids):
        rows = session.execute(
            select(
                Claim.id,
                Claim.tenant_id,
                Claim.number,
                Claim.line,
                Claim.claimant_name,
                Claim.claimant_phone_enc,
                Claim.claimant_phone_hash,
                Claim.claimant_email_enc,
                Claim.claimant_email_hash,
                Claim.reported_at,
            ).where(Claim.id.in_(chunk))
        )
        for row in rows:
            found[row[0]] = Contact(*tuple(row))
    return found


def opted_out(session: Session, hashes: Iterable[str | None]) -> set[tuple[str, str]]:
    """(address hash, channel) pairs opted out; channel ``*`` means every channel."""
    wanted = sorted({h for h in hashes if h})
    pairs: set[tuple[str, str]] = set()
    for chunk in _chunks(wanted):
        rows = session.execute(select(OptOut.address_hash, OptOut.channel).where(OptOut.address_hash.in_(chunk)))
        pairs.update((address, channel) for address, channel in rows)
    return pairs


def insert_messages(session: Session, rows: list[tuple[Any, ...]]) -> None:
    """Rows in OUTBOX_COLUMNS order (the ingestion hot path: COPY / executemany)."""
    bulk_insert(session, "outbox_messages", OUTBOX_COLUMNS, rows, _OUTBOX_TIMESTAMPS)


def messages_by_keys(session: Session, keys: Sequence[str]) -> list[OutboxMessage]:
    if not keys:
        return []
    return list(session.execute(select(OutboxMessage).where(OutboxMessage.idempotency_key.in_(keys))).scalars())


def messages_of_claim(session: Session, claim_id: int, since: dt.datetime | None = None) -> list[OutboxMessage]:
    """``since``: a time before any message of the claim was written (PostgreSQL then reads recent partitions)."""
    query = select(OutboxMessage).where(OutboxMessage.claim_id == claim_id)
    if since is not None:
        query = query.where(OutboxMessage.created_at >= since)
    return list(session.execute(query.order_by(OutboxMessage.id)).scalars())


def entered_status(session: Session, claim_id: int, status: str) -> bool:
    """Whether the claim ever entered ``status`` (a case event to it)."""
    found = session.execute(
        select(CaseEvent.id).where(CaseEvent.claim_id == claim_id, CaseEvent.to_status == status).limit(1)
    ).first()
    return found is not None


def claim_tenant(session: Session, claim_id: int) -> int:
    tenant_id = session.execute(select(Claim.tenant_id).where(Claim.id == claim_id)).scalar_one()
    return int(tenant_id)


def posted_of_claim(session: Session, claim_id: int) -> list[PostedNotice]:
    return list(
        session.execute(
            select(PostedNotice).where(PostedNotice.claim_id == claim_id).order_by(PostedNotice.id)
        ).scalars()
    )


def messages_of_complaint(session: Session, complaint_id: int) -> list[OutboxMessage]:
    return list(
        session.execute(
            select(OutboxMessage).where(OutboxMessage.complaint_id == complaint_id).order_by(OutboxMessage.id)
        ).scalars()
    )


# The number the recipient knows: the claim's, or for a message about a complaint with no claim, its own.
_REFERENCE = func.coalesce(Claim.number, OutboxMessage.reference)

DUE_FIELDS = (
    OutboxMessage.id,
    OutboxMessage.tenant_id,
    OutboxMessage.claim_id,
    OutboxMessage.channel,
    OutboxMessage.recipient_enc,
    OutboxMessage.recipient_hash,
    OutboxMessage.template,
    OutboxMessage.locale,
    OutboxMessage.subject,
    OutboxMessage.body,
    OutboxMessage.secret_body_enc,
    OutboxMessage.idempotency_key,
    OutboxMessage.attempts,
)


def claim_due(session: Session, now: dt.datetime, limit: int, lease_until: dt.datetime) -> list[tuple[Any, ...]]:
    """Take up to ``limit`` due messages for this worker: lock them (``FOR UPDATE SKIP LOCKED`` on
    PostgreSQL, so concurrent workers take disjoint sets), count the attempt and push
    ``next_attempt_at`` to the end of the lease, so no other worker sees them until then. On SQLite
    the write serialises workers: a second worker that read the same rows cannot commit its update."""
    query = (
        select(*DUE_FIELDS, _REFERENCE)
        .outerjoin(Claim, Claim.id == OutboxMessage.claim_id)
        .where(
            OutboxMessage.next_attempt_at <= now,
            OutboxMessage.status.in_(MessageStatus.PENDING),
        )
        .order_by(OutboxMessage.next_attempt_at, OutboxMessage.id)
        .limit(limit)
    )
    if session.get_bind().dialect.name == "postgresql":
        query = query.with_for_update(skip_locked=True, of=OutboxMessage)
    rows = [tuple(row) for row in session.execute(query)]
    if not rows:
        return []
    ids = [row[0] for row in rows]
    for chunk in _chunks(ids):
        session.execute(
            update(OutboxMessage)
            .where(OutboxMessage.id.in_(chunk))
            .values(next_attempt_at=lease_until, attempts=OutboxMessage.attempts + 1, updated_at=now)
            .execution_options(synchronize_session=False)
        )
    attempts_at = len(DUE_FIELDS) - 1
    return [(*row[:attempts_at], row[attempts_at] + 1, row[attempts_at + 1]) for row in rows]


def record_outcomes(session: Session, outcomes: Sequence[dict[str, Any]]) -> int:
    """Write each attempt's outcome, guarded by the attempt number: if the lease ran out and another
    worker took the message meanwhile, its later attempt wins. Returns the rows written."""
    written = 0
    for outcome in outcomes:
        values = {k: v for k, v in outcome.items() if k not in ("id", "attempt")}
        result = session.execute(
            update(OutboxMessage)
            .where(OutboxMessage.id == outcome["id"], OutboxMessage.attempts == outcome["attempt"])
            .values(**values)
            .execution_options(synchronize_session=False)
        )
        written += result.rowcount  # type: ignore[attr-defined]
    return written


def failures(session: Session, limit: int = 500) -> list[tuple[OutboxMessage, str]]:
    rows = session.execute(
        select(OutboxMessage, _REFERENCE)
        .outerjoin(Claim, Claim.id == OutboxMessage.claim_id)
        .where(OutboxMessage.status.in_((MessageStatus.FAILED, MessageStatus.DEAD)))
        .order_by(OutboxMessage.updated_at.desc(), OutboxMessage.id.desc())
        .limit(limit)
    )
    return [(message, number) for message, number in rows]


def dead_since(session: Session, tenant_id: int, since: dt.datetime) -> list[tuple[OutboxMessage, str]]:
    rows = session.execute(
        select(OutboxMessage, _REFERENCE)
        .outerjoin(Claim, Claim.id == OutboxMessage.claim_id)
        .where(
            OutboxMessage.tenant_id == tenant_id,
            OutboxMessage.status == MessageStatus.DEAD,
            OutboxMessage.updated_at >= since,
        )
        .order_by(OutboxMessage.id)
        .limit(200)
    )
    return [(message, number) for message, number in rows]


def requeue(session: Session, ids: Sequence[int] | None, now: dt.datetime) -> int:
    """Failed and dead messages (these ids, or all the session's tenant may see) start over."""
    condition = OutboxMessage.status.in_((MessageStatus.FAILED, MessageStatus.DEAD))
    count = 0
    targets: list[Sequence[int] | None] = list(_chunks(list(ids))) if ids is not None else [None]
    for chunk in targets:
        statement = update(OutboxMessage).where(condition)
        if chunk is not None:
            statement = statement.where(OutboxMessage.id.in_(chunk))
        result = session.execute(
            statement.values(
                status=MessageStatus.QUEUED, attempts=0, next_attempt_at=now, last_error=None, updated_at=now
            ).execution_options(synchronize_session=False)
        )
        count += result.rowcount  # type: ignore[attr-defined]
    return count


def notify_events(
    session: Session,
    tenant_id: int,
    org_unit_ids: Sequence[int] | None,
    since: dt.datetime | None,
    until: dt.datetime | None,
) -> list[tuple[int, str, str, str, str | None]]:
    """(claim id, line, event ref, to_status, best message status) for every change of status into
    some state (reports and transitions) in the period; the message status is None when none was
    written for it."""
    conditions = [
        CaseEvent.tenant_id == tenant_id,
        CaseEvent.to_status.is_not(None),
        CaseEvent.event_type.in_(("reported", "transition")),
    ]
    if since is not None:
        conditions.append(CaseEvent.occurred_at >= since)
    if until is not None:
        conditions.append(CaseEvent.occurred_at < until)
    if org_unit_ids is not None:
        conditions.append(Claim.org_unit_id.in_(list(org_unit_ids)))
    query = (
        select(CaseEvent.claim_id, Claim.line, CaseEvent.client_event_id, CaseEvent.to_status, OutboxMessage.status)
        .join(Claim, Claim.id == CaseEvent.claim_id)
        .outerjoin(
            OutboxMessage,
            and_(
                OutboxMessage.claim_id == CaseEvent.claim_id,
                OutboxMessage.event_ref == CaseEvent.client_event_id,
                or_(OutboxMessage.template == "acknowledgement", OutboxMessage.template == "status_changed"),
            ),
        )
        .where(*conditions)
    )
    return [tuple(row) for row in session.execute(query)]  # type: ignore[misc]


def insert_staff_notice(session: Session, values: dict[str, Any]) -> bool:
    """INSERT … ON CONFLICT (tenant, dedupe key) DO NOTHING; True when the row was inserted."""
    insert = pg_insert if session.get_bind().dialect.name == "postgresql" else sqlite_insert
    statement = (
        insert(StaffNotification)
        .values(**values)
        .on_conflict_do_nothing(index_elements=["tenant_id", "dedupe_key"])
        # A row back means this statement inserted it; ``rowcount`` is not reliable for an ORM
        # insert on PostgreSQL (it reports 1 on conflict as well).
        .returning(StaffNotification.id)
    )
    return session.execute(statement).first() is not None


# -- staff notices: routing, inboxes, preferences, robots -------------------------------------------


@dataclass(frozen=True)
class StaffUser:
    id: int
    username: str
    role: str
    org_unit_id: int | None
    email: str | None


def tenants_with_queued_notices(session: Session, limit: int = 1000) -> list[int]:
    rows = session.execute(
        select(StaffNotification.tenant_id).where(StaffNotification.status == "queued").distinct().limit(limit)
    )
    return [int(tenant_id) for (tenant_id,) in rows]


def queued_notices(session: Session, limit: int) -> list[StaffNotification]:
    """The oldest queued notices of the session's tenant, locked for this worker on PostgreSQL."""
    query = (
        select(StaffNotification)
        .where(StaffNotification.status == "queued")
        .order_by(StaffNotification.id)
        .limit(limit)
    )
    if session.get_bind().dialect.name == "postgresql":
        query = query.with_for_update(skip_locked=True)
    return list(session.execute(query).scalars())


def staff_users(session: Session, tenant_id: int) -> list[StaffUser]:
    """Active users of the tenant (``users`` is not tenant-scoped: the tenant is named here)."""
    rows = session.execute(
        select(User.id, User.username, User.role, User.org_unit_id, User.email)
        .where(User.tenant_id == tenant_id, User.active.is_(True))
        .order_by(User.id)
    )
    return [StaffUser(row[0], row[1], str(getattr(row[2], "value", row[2])), row[3], row[4]) for row in rows]


def user_in_tenant(session: Session, tenant_id: int, username: str) -> User | None:
    return session.execute(
        select(User).where(User.tenant_id == tenant_id, User.username == username)
    ).scalar_one_or_none()


def preferences(session: Session, user_ids: Sequence[int]) -> dict[tuple[int, str, str], str]:
    found: dict[tuple[int, str, str], str] = {}
    for chunk in _chunks(sorted(set(user_ids))):
        rows = session.execute(
            select(
                StaffNotifyPreference.user_id,
                StaffNotifyPreference.kind,
                StaffNotifyPreference.channel,
                StaffNotifyPreference.mode,
            ).where(StaffNotifyPreference.user_id.in_(chunk))
        )
        found.update({(user_id, kind, channel): mode for user_id, kind, channel, mode in rows})
    return found


def profile_locales(session: Session, user_ids: Sequence[int]) -> dict[int, str]:
    found: dict[int, str] = {}
    for chunk in _chunks(sorted(set(user_ids))):
        rows = session.execute(
            select(StaffNotifyProfile.user_id, StaffNotifyProfile.locale).where(StaffNotifyProfile.user_id.in_(chunk))
        )
        found.update({user_id: locale for user_id, locale in rows})
    return found


def profile(session: Session, user_id: int) -> StaffNotifyProfile | None:
    return session.execute(select(StaffNotifyProfile).where(StaffNotifyProfile.user_id == user_id)).scalar_one_or_none()


def preference_rows(session: Session, user_id: int) -> list[StaffNotifyPreference]:
    return list(
        session.execute(select(StaffNotifyPreference).where(StaffNotifyPreference.user_id == user_id)).scalars()
    )


def active_robots(session: Session) -> list[NotifyRobot]:
    return list(
        session.execute(select(NotifyRobot).where(NotifyRobot.active.is_(True)).order_by(NotifyRobot.id)).scalars()
    )


def robots(session: Session) -> list[NotifyRobot]:
    return list(session.execute(select(NotifyRobot).order_by(NotifyRobot.name)).scalars())


def robot_by_name(session: Session, name: str) -> NotifyRobot | None:
    return session.execute(select(NotifyRobot).where(NotifyRobot.name == name)).scalar_one_or_none()


def claim_numbers(session: Session, claim_ids: Iterable[int | None]) -> dict[int, str]:
    ids = sorted({i for i in claim_ids if i is not None})
    found: dict[int, str] = {}
    for chunk in _chunks(ids):
        found.update(
            {
                claim_id: number
                for claim_id, number in session.execute(select(Claim.id, Claim.number).where(Claim.id.in_(chunk)))
            }
        )
    return found


def insert_ignore(session: Session, model: type, columns: Sequence[str], rows: Sequence[tuple[Any, ...]]) -> None:
    bulk_insert_ignore(session, model, columns, rows)


def inbox_page(
    session: Session, user_id: int, unread_only: bool, limit: int, offset: int, item_id: int | None = None
) -> list[tuple[StaffInboxItem, StaffNotification, str | None]]:
    query = (
        select(StaffInboxItem, StaffNotification, Claim.number)
        .join(StaffNotification, StaffNotification.id == StaffInboxItem.notification_id)
        .outerjoin(Claim, Claim.id == StaffNotification.claim_id)
        .where(StaffInboxItem.user_id == user_id)
    )
    if unread_only:
        query = query.where(StaffInboxItem.read_at.is_(None))
    if item_id is not None:
        query = query.where(StaffInboxItem.id == item_id)
    query = query.order_by(StaffInboxItem.id.desc()).limit(limit).offset(offset)
    return [(item, notice, number) for item, notice, number in session.execute(query)]


def inbox_count(session: Session, user_id: int, unread_only: bool) -> int:
    query = select(func.count()).select_from(StaffInboxItem).where(StaffInboxItem.user_id == user_id)
    if unread_only:
        query = query.where(StaffInboxItem.read_at.is_(None))
    return int(session.execute(query).scalar_one())


def inbox_item(session: Session, item_id: int) -> StaffInboxItem | None:
    return session.get(StaffInboxItem, item_id)


def mark_all_read(session: Session, user_id: int, now: dt.datetime) -> int:
    result = session.execute(
        update(StaffInboxItem)
        .where(StaffInboxItem.user_id == user_id, StaffInboxItem.read_at.is_(None))
        .values(read_at=now)
        .execution_options(synchronize_session=False)
    )
    return int(result.rowcount)  # type: ignore[attr-defined]


def tenants_with_held_digests(session: Session, limit: int = 1000) -> list[int]:
    rows = session.execute(
        select(StaffInboxItem.tenant_id).where(StaffInboxItem.digest == "held").distinct().limit(limit)
    )
    return [int(tenant_id) for (tenant_id,) in rows]


def held_digest_items(session: Session) -> list[tuple[StaffInboxItem, StaffNotification, str | None]]:
    query = (
        select(StaffInboxItem, StaffNotification, Claim.number)
        .join(StaffNotification, StaffNotification.id == StaffInboxItem.notification_id)
        .outerjoin(Claim, Claim.id == StaffNotification.claim_id)
        .where(StaffInboxItem.digest == "held")
        .order_by(StaffInboxItem.user_id, StaffInboxItem.id)
    )
    return [(item, notice, number) for item, notice, number in session.execute(query)]
