"""Notices to staff: queued by any domain in its own transaction (escalations, overdue work, quality alerts), then
fanned out by the delivery pass to each user they reach (inbox rows, instant e-mails, daily digests) and to group
robots. No HTTP here, no commits."""

from __future__ import annotations

import datetime as dt
import json
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy.orm import Session

from claimwatch.auth.models import User
from claimwatch.config import get_settings
from claimwatch.db import bulk_insert_ignore
from claimwatch.notify import repository
from claimwatch.notify.models import (
    MessageStatus,
    NotifyRobot,
    OutboxMessage,
    StaffInboxItem,
    StaffNotification,
)
from claimwatch.notify.service import ALERT_KIND, LOCALES, local_time, render
from claimwatch.privacy import field_cipher
from claimwatch.tenancy import repository as tenancy_repository
from claimwatch.tenancy.service import tenant_zone
from claimwatch.web.i18n import N_, translate

# -- notices to staff (escalations, failures, quality alerts) --------------------------------------

STAFF_NOTICE_COLUMNS = (
    "tenant_id",
    "recipient_role",
    "org_unit_id",
    "user_id",
    "kind",
    "subject",
    "body",
    "claim_id",
    "dedupe_key",
    "status",
    "created_at",
)


def queue_staff_notices(
    session: Session,
    rows: Sequence[tuple[Any, ...]],
    columns: Sequence[str] = STAFF_NOTICE_COLUMNS,
    constants: dict[str, Any] | None = None,
) -> None:
    """Queue many staff notices, tuples of ``columns`` (by default :data:`STAFF_NOTICE_COLUMNS`), the rest of
    those columns given once in ``constants``; a repeated (tenant, dedupe key) is ignored, so a notice is
    never queued twice."""
    if set(columns) | set(constants or {}) != set(STAFF_NOTICE_COLUMNS):
        raise ValueError("staff notices need exactly the columns of STAFF_NOTICE_COLUMNS")
    bulk_insert_ignore(session, StaffNotification, columns, rows, constants)


def notify_staff(
    session: Session,
    tenant_id: int,
    role: str,
    kind: str,
    subject: str,
    body: str,
    dedupe_key: str,
    now: dt.datetime,
    *,
    org_unit_id: int | None = None,
    user_id: int | None = None,
    claim_id: int | None = None,
    link: str | None = None,
) -> bool:
    """One notice to a role's staff (of ``org_unit_id``'s supervising units when given; or to one user),
    at most one per (tenant, dedupe key); True when this call queued it (a concurrent writer that lost
    the race gets False). ``link``: the page it is about, e.g. "/complaints/TS-1" (a claim's page is
    derived from ``claim_id``). The delivery pass routes it (:func:`route_staff_notices`)."""
    values = (
        tenant_id,
        role,
        org_unit_id,
        user_id,
        kind,
        subject[:200],
        body,
        claim_id,
        dedupe_key[:120],
        "queued",
        now,
    )
    row = dict(zip(STAFF_NOTICE_COLUMNS, values, strict=True))
    if link:
        row["link"] = link[:200]
    return repository.insert_staff_notice(session, row)


def notify_user(
    session: Session,
    tenant_id: int,
    user_id: int | None,
    kind: str,
    subject: str,
    body: str,
    dedupe_key: str,
    now: dt.datetime,
    *,
    link: str | None = None,
) -> bool:
    """:func:`notify_staff` to one staff member (addressed by their role), e.g. the owner of a rectification
    or an improvement action; False when there is nobody (no such user) or it was queued already."""
    if user_id is None:
        return False
    user = session.get(User, user_id)
    if user is None:
        return False
    return notify_staff(
        session, tenant_id, user.role.value, kind, subject, body, dedupe_key, now, user_id=user_id, link=link
    )


# -- staff notices delivered: fan-out, inboxes, preferences, digests, group robots --------------------

# Kinds of staff notice and their labels (N_: the pages and messages translate them).
KIND_LABELS: dict[str, str] = {
    "sla_yellow": N_("SLA yellow light"),
    "sla_red": N_("SLA red light"),
    "complaint_major": N_("Major complaint"),
    "complaint_overdue": N_("Complaint overdue"),
    "complaint_major_overdue": N_("Major complaint overdue"),
    "complaint_overdue_red": N_("Complaint seriously overdue"),
    "kpi_alert": N_("Quality alert"),
    "rectification_opened": N_("Rectification opened"),
    "rectification_submitted": N_("Rectification submitted for acceptance"),
    "rectification_sent_back": N_("Rectification sent back"),
    "rectification_overdue": N_("Rectification overdue"),
    "rectification_overdue_red": N_("Rectification seriously overdue"),
    "rectification_reminder": N_("Rectification reminder"),
    "sanction": N_("Sanction approved"),
    "action_assigned": N_("Improvement action assigned"),
    "action_reminder": N_("Improvement action reminder"),
    "action_overdue": N_("Improvement action overdue"),
    "action_escalated": N_("Improvement action escalated"),
    "worker_stale": N_("Background worker stopped"),
    "advance_payment": N_("Advance payment to consider (catastrophe)"),
    "provider_task_due_soon": N_("Provider task due soon"),
    "provider_task_overdue": N_("Provider task overdue"),
    "provider_task_disputed": N_("Provider report disputed"),
    "evidence_alarm": N_("Evidence alarm (history rewritten or bad signature)"),
    "rating_published": N_("Service rating published"),
    "rating_objection_decided": N_("Rating objection decided"),
    "licence_expiring": N_("Licence expiring"),
    "training_overdue": N_("Mandatory training overdue"),
    "underwriting_due_soon": N_("Underwriting turnaround due soon"),
    "underwriting_overdue": N_("Underwriting turnaround passed"),
    "service_request_due_soon": N_("Service request due soon"),
    "service_request_overdue": N_("Service request overdue"),
    ALERT_KIND: N_("Failed claimant messages"),
}
# Where a user's e-mail goes by default: escalations, red lights and complaint/quality alerts at once,
# the daily failure report in the digest; a kind not listed here stays in-app only.
DEFAULT_EMAIL: dict[str, str] = {kind: "instant" for kind in KIND_LABELS} | {ALERT_KIND: "digest"}
EMAIL_MODES = ("instant", "digest", "off")
ROBOT_PROVIDERS = ("wecom", "dingtalk")
STAFF_LOCALES = LOCALES
EMAIL_RE = re.compile(r"^[^@\s<>,;\"']{1,64}@[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?(?:\.[A-Za-z0-9-]{1,63})+$")
STAFF_OUTBOX_COLUMNS = (*repository.OUTBOX_COLUMNS, "reference")
INBOX_COLUMNS = ("tenant_id", "notification_id", "user_id", "kind", "created_at", "read_at", "digest", "digest_day")


def kind_label(kind: str, locale: str) -> str:
    label = KIND_LABELS.get(kind)
    return translate(locale, label) if label else kind


def notice_link(notice: StaffNotification, claim_number: str | None) -> str | None:
    """The page a notice is about: its own link, its claim's page, or the page of its kind."""
    if notice.link:
        return notice.link
    if claim_number:
        return f"/claims/{claim_number}"
    if notice.kind.startswith("complaint"):
        return "/complaints"
    if notice.kind == "kpi_alert":
        return "/dashboard"
    return None


def _absolute(link: str | None) -> str | None:
    return get_settings().public_base_url.rstrip("/") + link if link else None


def _ancestors(paths: dict[int, str], org_unit_id: int | None) -> set[int] | None:
    """The unit and every unit above it (from the materialised path "/1/4/9/"); None: no unit (all)."""
    if org_unit_id is None:
        return None
    path = paths.get(org_unit_id)
    if path is None:
        return {org_unit_id}
    return {int(part) for part in path.strip("/").split("/") if part} | {org_unit_id}


def _reaches(notice: StaffNotification, user: repository.StaffUser, ancestors: set[int] | None) -> bool:
    """Whether the notice is for this user: addressed to them, or to their role in a unit they oversee
    (their own unit or one below it; a user with no unit oversees the whole tenant)."""
    if notice.user_id is not None:
        return user.id == notice.user_id
    if user.role != notice.recipient_role:
        return False
    return ancestors is None or user.org_unit_id is None or user.org_unit_id in ancestors


def _robot_wants(robot: NotifyRobot, notice: StaffNotification, ancestors: set[int] | None) -> bool:
    kinds = [k.strip() for k in (robot.kinds or "").split(",") if k.strip()]
    if kinds and notice.kind not in kinds:
        return False
    if robot.org_unit_id is None:
        return True
    return ancestors is not None and robot.org_unit_id in ancestors


def _staff_row(
    tenant_id: int,
    channel: str,
    recipient_enc: str,
    template: str,
    locale: str,
    event_ref: str | None,
    kind: str,
    rendered: tuple[str, str],
    key: str,
    reference: str | None,
    now: dt.datetime,
) -> tuple[Any, ...]:
    subject, body = rendered
    return (
        tenant_id,
        None,
        channel,
        recipient_enc,
        None,
        template,
        locale,
        event_ref,
        kind[:32],
        subject,
        body,
        None,
        key[:200],
        MessageStatus.QUEUED,
        0,
        now,
        None,
        now,
        now,
        None,
        reference,
    )


def _renderer(
    cache: dict[tuple[str, str], tuple[str, str]], context: dict[str, Any], kind: str
) -> Callable[[str, str], tuple[str, str]]:
    """One notice's text per (template, locale), rendered once however many users read it."""

    def text(template: str, locale: str) -> tuple[str, str]:
        if (template, locale) not in cache:
            cache[(template, locale)] = render(template, locale, context | {"kind_label": kind_label(kind, locale)})
        return cache[(template, locale)]

    return text


@dataclass
class RouteResult:
    notices: int = 0
    inbox: int = 0
    emails: int = 0
    held: int = 0
    robots: int = 0


def route_staff_notices(session: Session, tenant_id: int, now: dt.datetime, limit: int) -> RouteResult:
    """Fan the tenant's queued staff notices out, in the caller's transaction: one inbox row per user
    it reaches (unique per notice and user), an e-mail outbox row for each user whose preference for the
    kind is ``instant`` (``digest``: held for the daily digest), one outbox row per matching group robot;
    then the notice is ``routed``. Keys make every row idempotent, so routing twice writes nothing new."""
    result = RouteResult()
    notices = repository.queued_notices(session, limit)
    if not notices:
        return result
    paths = {unit.id: unit.path for unit in tenancy_repository.org_units(session)}
    users = repository.staff_users(session, tenant_id)
    by_role: dict[str, list[repository.StaffUser]] = {}
    for user in users:
        by_role.setdefault(user.role, []).append(user)
    by_id = {user.id: [user] for user in users}
    prefs = repository.preferences(session, [u.id for u in users])
    locales = repository.profile_locales(session, [u.id for u in users])
    robots = repository.active_robots(session)
    numbers = repository.claim_numbers(session, [n.claim_id for n in notices])
    zone = tenant_zone(session, tenant_id)
    cipher = field_cipher()
    settings_url = _absolute("/notifications/settings")
    email_of: dict[int, str] = {}
    inbox_rows: list[tuple[Any, ...]] = []
    outbox_rows: list[tuple[Any, ...]] = []
    for notice in notices:
        ancestors = _ancestors(paths, notice.org_unit_id)
        number = numbers.get(notice.claim_id) if notice.claim_id is not None else None
        context = {
            "kind_label": "",
            "subject": notice.subject,
            "body": notice.body,
            "link_url": _absolute(notice_link(notice, number)),
            "created_at": local_time(notice.created_at, zone=zone),
            "settings_url": settings_url,
        }
        rendered: dict[tuple[str, str], tuple[str, str]] = {}
        text = _renderer(rendered, context, notice.kind)
        candidates = (
            by_id.get(notice.user_id, []) if notice.user_id is not None else by_role.get(notice.recipient_role, [])
        )
        for user in candidates:
            if not _reaches(notice, user, ancestors):
                continue
            mode = prefs.get((user.id, notice.kind, "email"), DEFAULT_EMAIL.get(notice.kind, "off"))
            digest = None
            if user.email and mode == "instant":
                locale = locales.get(user.id, "zh")
                if user.id not in email_of:
                    email_of[user.id] = cipher.encrypt(user.email) or ""
                outbox_rows.append(
                    _staff_row(
                        tenant_id,
                        "email",
                        email_of[user.id],
                        "staff_notice",
                        locale,
                        f"staff:{notice.id}",
                        notice.kind,
                        text("staff_notice", locale),
                        f"staff:{notice.id}:u{user.id}:email",
                        number,
                        now,
                    )
                )
                result.emails += 1
            elif user.email and mode == "digest":
                digest = "held"
                result.held += 1
            inbox_rows.append((tenant_id, notice.id, user.id, notice.kind, notice.created_at, None, digest, None))
        for robot in robots:
            if not _robot_wants(robot, notice, ancestors):
                continue
            address = json.dumps(
                {"url": cipher.decrypt(robot.url_enc), "secret": cipher.decrypt(robot.secret_enc)},
                separators=(",", ":"),
            )
            outbox_rows.append(
                _staff_row(
                    tenant_id,
                    robot.provider,
                    cipher.encrypt(address) or "",
                    "staff_robot",
                    robot.locale,
                    f"staff:{notice.id}",
                    notice.kind,
                    text("staff_robot", robot.locale),
                    f"staff:{notice.id}:robot{robot.id}",
                    number,
                    now,
                )
            )
            result.robots += 1
        notice.status = "routed"
        notice.routed_at = now
        result.notices += 1
    result.inbox = len(inbox_rows)
    repository.insert_ignore(session, StaffInboxItem, INBOX_COLUMNS, inbox_rows)
    repository.insert_ignore(session, OutboxMessage, STAFF_OUTBOX_COLUMNS, outbox_rows)
    session.flush()
    return result


def send_digests(session: Session, tenant_id: int, now: dt.datetime, hour: int) -> int:
    """The daily digest, in the caller's transaction: at or after ``hour`` of the tenant's local day, one
    e-mail per user listing the notices held for it (key ``staff-digest:<user>:<day>``, so at most one a
    day; what arrives after today's went out waits for tomorrow's). Returns the e-mails written."""
    zone = tenant_zone(session, tenant_id)
    local = now.astimezone(zone)
    if local.hour < hour:
        return 0
    day = local.date().isoformat()
    held = repository.held_digest_items(session)
    if not held:
        return 0
    users = {user.id: user for user in repository.staff_users(session, tenant_id)}
    locales = repository.profile_locales(session, list(users))
    by_user: dict[int, list[tuple[StaffInboxItem, StaffNotification, str | None]]] = {}
    for entry in held:
        by_user.setdefault(entry[0].user_id, []).append(entry)
    keys = {user_id: f"staff-digest:{user_id}:{day}" for user_id in by_user}
    sent_today = {m.idempotency_key for m in repository.messages_by_keys(session, list(keys.values()))}
    cipher = field_cipher()
    rows = []
    for user_id, entries in by_user.items():
        user = users.get(user_id)
        if user is None or not user.email:
            for item, _, _ in entries:  # no address (any more): the inbox keeps them
                item.digest = None
            continue
        if keys[user_id] in sent_today:
            continue
        locale = locales.get(user_id, "zh")
        items = [
            {
                "created_at": local_time(notice.created_at, zone=zone),
                "kind_label": kind_label(notice.kind, locale),
                "subject": notice.subject,
                "link_url": _absolute(notice_link(notice, number)),
            }
            for _, notice, number in entries
        ]
        context = {
            "day": day,
            "items": items,
            "count": len(items),
            "inbox_url": _absolute("/notifications"),
            "settings_url": _absolute("/notifications/settings"),
        }
        rows.append(
            _staff_row(
                tenant_id,
                "email",
                cipher.encrypt(user.email) or "",
                "staff_digest",
                locale,
                None,
                "digest",
                render("staff_digest", locale, context),
                keys[user_id],
                None,
                now,
            )
        )
        for item, _, _ in entries:
            item.digest = "sent"
            item.digest_day = day
    repository.insert_ignore(session, OutboxMessage, STAFF_OUTBOX_COLUMNS, rows)
    session.flush()
    return len(rows)
