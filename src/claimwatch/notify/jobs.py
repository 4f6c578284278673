"""The delivery pass: take due outbox messages, send them, record what happened.

1. Claim (one short transaction): up to ``batch`` due messages, ``FOR UPDATE SKIP LOCKED`` on
   PostgreSQL so several workers take disjoint sets; each claimed message counts an attempt and is
   leased (``next_attempt_at`` = end of the lease), so no other worker sees it meanwhile.
2. Send, outside any transaction, each with its idempotency key.
3. Record (short transactions every few messages): sent/delivered, or failed with exponential
   backoff, or dead after the last attempt, guarded by the attempt number.

A worker killed between 2 and 3 leaves its messages leased: they come back when the lease ends and
are sent again with the same idempotency key, so the receiver can recognise the repeat. Nothing is
lost. Dead messages raise one admin alert per tenant per day.
"""

from __future__ import annotations

import datetime as dt
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any
from zoneinfo import ZoneInfo

import structlog
from sqlalchemy import select
from sqlalchemy.orm import Session

from claimwatch import reactions
from claimwatch.config import Settings, get_settings
from claimwatch.db import TenantContext, unit_of_work, utc_now
from claimwatch.notify import channels as channel_registry
from claimwatch.notify import repository, service, staff_notices
from claimwatch.notify.events import SentMessage
from claimwatch.notify.models import MessageStatus, StaffNotification
from claimwatch.privacy import field_cipher, scrub_text
from claimwatch.tenancy.service import tenant_zone

log = structlog.get_logger("claimwatch.notify")

ALERT_KIND = service.ALERT_KIND
_RECORD_EVERY = 25
_RECORD_SECONDS = 1.0


@dataclass
class DeliveryResult:
    claimed: int = 0
    sent: int = 0
    delivered: int = 0
    failed: int = 0
    dead: int = 0
    opted_out: int = 0
    released: int = 0
    alerts: int = 0
    routed: int = 0  # staff notices fanned out to their users and robots
    digests: int = 0  # daily digest e-mails written
    dead_tenants: set[int] = field(default_factory=set)


def backoff(attempt: int, settings: Settings) -> dt.timedelta:
    """Wait after the ``attempt``-th failure: base * 2**(attempt-1), capped."""
    seconds = settings.notify_backoff_base_seconds * (2 ** max(attempt - 1, 0))
    return dt.timedelta(seconds=min(seconds, settings.notify_backoff_max_seconds))


def deliver(
    now: dt.datetime | None = None,
    batch: int | None = None,
    max_batches: int | None = None,
    on_sent: Callable[[int], None] | None = None,
) -> DeliveryResult:
    """One pass: claim and send batches until nothing is due (or ``max_batches``). ``now`` fixes the
    clock (tests); by default each batch reads the real time."""
    settings = get_settings()
    size = batch or settings.notify_batch_size
    result = DeliveryResult()
    # Staff notices first: their e-mails and robot messages join the outbox and leave in this same pass.
    result.routed = route_notices(now)
    result.digests = send_digests(now)
    channels: dict[str, channel_registry.Channel] = {}
    batches = 0
    try:
        while max_batches is None or batches < max_batches:
            batches += 1
            handled = _deliver_batch(now or utc_now(), size, settings, channels, result, on_sent)
            if handled < size:
                break
    finally:
        for channel in channels.values():
            try:
                channel.close()
            except Exception:  # noqa: BLE001 - closing is best effort
                log.warning("channel close failed", channel=channel.name)
    if result.dead_tenants:
        result.alerts = alert_admins(result.dead_tenants, now or utc_now())
    return result


def deliver_until_stopped(stop: threading.Event, interval: float, passes: int | None = None) -> int:
    """Delivery passes only (no sweeps, no surveys, no KPIs), every ``interval`` seconds until ``stop`` is
    set or ``passes`` ran: ``claimwatch notify worker``, a delivery-only process beside the main worker.
    Returns the passes run."""
    done = 0
    while not stop.is_set():
        try:
            sent = deliver()
            if sent.claimed:
                log.info("claimant messages", claimed=sent.claimed, sent=sent.sent + sent.delivered, failed=sent.failed)
        except Exception:  # the outbox keeps every message; the next pass retries
            log.exception("notification delivery failed")
        done += 1
        if passes is not None and done >= passes:
            break
        stop.wait(interval)
    return done


def _deliver_batch(
    now: dt.datetime,
    size: int,
    settings: Settings,
    channels: dict[str, channel_registry.Channel],
    result: DeliveryResult,
    on_sent: Callable[[int], None] | None,
) -> int:
    lease = dt.timedelta(seconds=settings.notify_lease_seconds)
    lease_until = now + lease
    with unit_of_work(TenantContext.system_context()) as session:
        rows = repository.claim_due(session, now, size, lease_until)
        opted = repository.opted_out(session, [row[5] for row in rows])
    if not rows:
        return 0
    result.claimed += len(rows)
    # Stop sending a little before the lease ends: what is left is released, not sent twice.
    deadline = time.monotonic() + lease.total_seconds() * 0.8
    pending: list[dict[str, Any]] = []
    sent: list[SentMessage] = []  # published with the outcomes (the refusal-notice clock stops on it)
    last_record = time.monotonic()
    cipher = field_cipher()
    for position, row in enumerate(rows):
        (message_id, tenant_id, claim_id, channel_name, recipient_enc, recipient_hash, template, locale) = row[:8]
        subject, body, secret_enc, key, attempt, claim_number = row[8:]
        stamp = max(now, utc_now())
        if time.monotonic() > deadline:
            for rest in rows[position:]:
                pending.append({"id": rest[0], "attempt": rest[12], "attempts": rest[12] - 1, "next_attempt_at": now})
                result.released += 1
            break
        if (
            recipient_hash
            and template not in service.LEGAL_TEMPLATES  # a legal notice goes out whatever the opt-outs
            and ((recipient_hash, channel_name) in opted or (recipient_hash, "*") in opted)
        ):
            pending.append(
                {
                    "id": message_id,
                    "attempt": attempt,
                    "status": MessageStatus.OPTED_OUT,
                    "next_attempt_at": None,
                    "updated_at": stamp,
                }
            )
            result.opted_out += 1
            continue
        if secret_enc:
            subject, _, body = (cipher.decrypt(secret_enc) or "").partition("\n")
        outgoing = channel_registry.Outgoing(
            message_id=message_id,
            tenant_id=tenant_id,
            claim_number=claim_number,
            channel=channel_name,
            recipient=cipher.decrypt(recipient_enc) if recipient_enc else None,
            template=template,
            locale=locale,
            subject=subject,
            body=body,
            idempotency_key=key,
        )
        try:
            channel = channels.get(channel_name)
            if channel is None:
                channel = channels[channel_name] = channel_registry.make_channel(channel_name, settings)
            status = channel.send(outgoing)
        except Exception as exc:  # noqa: BLE001 - any failure of a channel is this attempt's failure
            permanent = isinstance(exc, channel_registry.DeliveryError) and exc.permanent
            error = scrub_text(str(exc) or type(exc).__name__)[:500]
            if permanent or attempt >= settings.notify_max_attempts:
                pending.append(
                    {
                        "id": message_id,
                        "attempt": attempt,
                        "status": MessageStatus.DEAD,
                        "next_attempt_at": None,
                        "last_error": error,
                        "updated_at": stamp,
                    }
                )
                result.dead += 1
                result.dead_tenants.add(tenant_id)
            else:
                pending.append(
                    {
                        "id": message_id,
                        "attempt": attempt,
                        "status": MessageStatus.FAILED,
                        "next_attempt_at": stamp + backoff(attempt, settings),
                        "last_error": error,
                        "updated_at": stamp,
                    }
                )
                result.failed += 1
            log.warning(
                "claimant message failed", message=message_id, channel=channel_name, attempt=attempt, error=error
            )
        else:
            pending.append(
                {
                    "id": message_id,
                    "attempt": attempt,
                    "status": status,
                    "next_attempt_at": None,
                    "last_error": None,
                    "sent_at": stamp,
                    "updated_at": stamp,
                }
            )
            if status == MessageStatus.DELIVERED:
                result.delivered += 1
            else:
                result.sent += 1
            if claim_id is not None:
                sent.append(SentMessage(tenant_id, claim_id, template, stamp))
            if on_sent is not None:
                on_sent(message_id)
        if len(pending) >= _RECORD_EVERY or time.monotonic() - last_record > _RECORD_SECONDS:
            _record(pending, sent)
            pending, sent = [], []
            last_record = time.monotonic()
    _record(pending, sent)
    return len(rows)


def _record(outcomes: list[dict[str, Any]], sent: list[SentMessage] | None = None) -> None:
    """Write the outcomes and, in the same transaction, tell the subscribers which claim messages went out."""
    if not outcomes:
        return
    with unit_of_work(TenantContext.system_context()) as session:
        repository.record_outcomes(session, outcomes)
        if sent:
            reactions.publish(reactions.CLAIMANT_MESSAGES_SENT, session, None, sent)


def _local_day(now: dt.datetime, zone: ZoneInfo) -> tuple[dt.date, dt.datetime]:
    day = now.astimezone(zone).date()
    start = dt.datetime.combine(day, dt.time(), tzinfo=zone).astimezone(dt.UTC)
    return day, start


def alert_admins(tenant_ids: set[int], now: dt.datetime) -> int:
    """One notice to the tenant's admins per local day (the tenant's own zone) listing the messages that died
    that day: the first dead message of the day creates it (dedupe key with the date); while unread it is
    kept current."""
    created = 0
    for tenant_id in sorted(tenant_ids):
        with unit_of_work(TenantContext.for_tenant(tenant_id)) as session:
            day, start = _local_day(now, tenant_zone(session, tenant_id))
            created += _alert_tenant(session, tenant_id, day, start, now)
    return created


def _alert_tenant(session: Session, tenant_id: int, day: dt.date, start: dt.datetime, now: dt.datetime) -> int:
    dead = repository.dead_since(session, tenant_id, start)
    if not dead:
        return 0
    lines = [
        f"#{message.id} {number} {message.channel} {message.template}: {scrub_text(message.last_error or '')}"
        for message, number in dead
    ]
    subject = f"{day.isoformat()} 理赔通知发送失败 {len(dead)} 条 / {len(dead)} claimant message(s) failed"
    body = "以下消息已多次重试仍失败，请核实后重发：\n" + "\n".join(lines)
    dedupe = f"notify-failures:{day.isoformat()}"
    if staff_notices.notify_staff(session, tenant_id, "admin", ALERT_KIND, subject, body, dedupe, now):
        return 1
    notice = session.execute(
        select(StaffNotification).where(
            StaffNotification.tenant_id == tenant_id, StaffNotification.dedupe_key == dedupe
        )
    ).scalar_one()
    # The day's notice is kept current: the inbox shows it as it is now (e-mails already sent keep theirs).
    notice.subject = subject[:200]
    notice.body = body
    return 0


def route_notices(now: dt.datetime | None = None, batch: int | None = None) -> int:
    """Fan queued staff notices out to their users' inboxes, e-mail and group robots
    (``staff_notices.route_staff_notices``), a short transaction per tenant and batch. A tenant that fails is
    logged and retried on the next pass; the others go on. Returns the notices routed."""
    size = batch or get_settings().staff_route_batch
    with unit_of_work(TenantContext.system_reader()) as session:
        tenant_ids = repository.tenants_with_queued_notices(session)
    routed = 0
    for tenant_id in tenant_ids:
        try:
            while True:
                with unit_of_work(TenantContext.for_tenant(tenant_id)) as session:
                    done = staff_notices.route_staff_notices(session, tenant_id, now or utc_now(), size)
                routed += done.notices
                if done.notices < size:
                    break
        except Exception:  # noqa: BLE001 - one tenant's failure must not stop the others' delivery
            log.exception("routing staff notices failed", tenant=tenant_id)
    return routed


def send_digests(now: dt.datetime | None = None) -> int:
    """The daily digest e-mails of every tenant with notices held for one (``staff_notices.send_digests``)."""
    hour = get_settings().staff_digest_hour
    with unit_of_work(TenantContext.system_reader()) as session:
        tenant_ids = repository.tenants_with_held_digests(session)
    written = 0
    for tenant_id in tenant_ids:
        try:
            with unit_of_work(TenantContext.for_tenant(tenant_id)) as session:
                written += staff_notices.send_digests(session, tenant_id, now or utc_now(), hour)
        except Exception:  # noqa: BLE001
            log.exception("staff digest failed", tenant=tenant_id)
    return written
