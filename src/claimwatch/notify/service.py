"""Claimant notifications: render a template, write outbox rows in the caller's transaction, and
tell staff what each claimant was told. No HTTP here, no commits.

Messages never carry ID numbers, diagnoses or bank accounts: templates take only the claim number,
a masked name, labels and dates, and the rendered text also passes :func:`scrub_text`.
"""

from __future__ import annotations

import datetime as dt
import json
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from jinja2 import Environment, FileSystemLoader, StrictUndefined, Template
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from claimwatch import reactions
from claimwatch.audit import service as audit_service
from claimwatch.auth.models import User
from claimwatch.cases.events import CaseChange
from claimwatch.config import get_settings
from claimwatch.db import bulk_insert_ignore, utc_now
from claimwatch.errors import Problem
from claimwatch.notify import repository
from claimwatch.notify.events import SentMessage
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
from claimwatch.privacy import field_cipher, keyed_hash, mask_name, mask_phone, scrub_text
from claimwatch.tenancy import repository as tenancy_repository
from claimwatch.tenancy.service import tenant_zone
from claimwatch.web.i18n import N_, translate
from claimwatch.workflow import service as workflow_service

TEMPLATES = (
    "acknowledgement",
    "status_changed",
    "materials_notice",
    # 保险法 art. 24: the written refusal with the reason and the appeal route, on every rejection
    "refusal_notice",
    "lookup_otp",
    # complaints: receipt, extension notice (required before a 60-day decision), decision letter, review result
    "complaint_received",
    "complaint_extended",
    "complaint_decision",
    "complaint_decision_sms",  # the SMS of a decision: a short notice with the lookup link, not the letter
    "complaint_reviewed",
    # satisfaction survey link after a claim or complaint closes
    "survey_invitation",
    "underwriting_decision",  # policies.underwriting: the applicant told the decision and its reasons
    "policy_revisit",  # policies.revisits: the post-issue revisit (新契约回访) with its reply code
    "service_reply",  # servicedesk: a handler's reply to a service request (客户服务回复)
    # staff notices: one notice (e-mail), the daily digest (e-mail), a group robot's markdown
    "staff_notice",
    "staff_digest",
    "staff_robot",
)
LOCALES = ("zh", "en")
CHANNELS = ("sms", "email", "wechat", "webhook")
# Context values that must never be shown to staff (or stored in clear): the text sent is kept
# encrypted, and staff see it with these values masked.
ALERT_KIND = "notify_failures"  # the daily admin notice of dead claimant messages (notify.jobs)
SECRET_FIELDS: dict[str, tuple[str, ...]] = {"lookup_otp": ("code",), "survey_invitation": ("survey_url",)}
_MASK = "******"
# A template too long for a text message has a short form the SMS channel sends instead (with the lookup link).
SMS_TEMPLATES: dict[str, str] = {"complaint_decision": "complaint_decision_sms"}
_TEMPLATE_DIR = Path(__file__).resolve().parent / "templates"
# The status whose entry is a refusal (拒赔): the claimant gets the refusal notice instead of a progress message,
# whatever the state's notify_claimant flag says; sla stops the art. 24 clock when it is sent.
REFUSED_STATUS = "rejected"
REFUSAL_TEMPLATE = "refusal_notice"
COMPULSORY = "compulsory"  # cases.schemas.Coverage.COMPULSORY: the notice cites the 交强险条例 too
# Notices the law requires (保险法 art. 24, the written refusal): an opt-out does not suppress them (an opt-out is
# from service messages; the insurer must still notify), and they may be sent by post (:func:`record_posted`).
LEGAL_TEMPLATES = frozenset({REFUSAL_TEMPLATE})
POSTABLE_TEMPLATES = LEGAL_TEMPLATES
_TRACKING = re.compile(r"^[A-Za-z0-9][A-Za-z0-9-]{3,63}$")


class NotifyError(Problem):
    """A request the notification rules refuse; ``status`` is the HTTP status that fits, ``field`` the input."""


@lru_cache
def _environment() -> Environment:
    return Environment(
        loader=FileSystemLoader(_TEMPLATE_DIR),
        undefined=StrictUndefined,
        autoescape=False,  # plain text (SMS, email text part); never HTML
        keep_trailing_newline=False,
        trim_blocks=False,
        # The templates ship with the package: no file check per message (ingestion renders one per event).
        auto_reload=False,
    )


@lru_cache(maxsize=len(TEMPLATES) * len(LOCALES))
def _compiled(name: str) -> Template:
    return _environment().get_template(name)


_BLANK_LINES = re.compile(r"\n{3,}")


def render(template: str, locale: str, context: dict[str, Any]) -> tuple[str, str]:
    """(subject, body): the first line of the template is the subject. Scrubbed of ID/phone/card numbers."""
    if template not in TEMPLATES:
        raise NotifyError(422, "template", f"unknown template {template!r} (known: {', '.join(TEMPLATES)})")
    if locale not in LOCALES:
        locale = "zh"
    compiled = _compiled(f"{template}.{locale}.txt")
    # shared=True: the context is used as it is, without a merged copy of Jinja's globals (range, dict, …), which
    # no message template uses; an undefined name still raises (StrictUndefined).
    text = _environment().concat(compiled.root_render_func(compiled.new_context(context, shared=True)))
    subject, _, body = text.partition("\n")
    body = _BLANK_LINES.sub("\n\n", body).strip()
    return scrub_text(subject.strip())[:300], scrub_text(body)


def local_time(value: dt.datetime, with_time: bool = True, *, zone: ZoneInfo) -> str:
    """A date (and time) as the claimant reads it: in ``zone``, the tenant's (``tenancy.service.tenant_zone``)."""
    local = value.astimezone(zone)
    return local.strftime("%Y-%m-%d %H:%M" if with_time else "%Y-%m-%d")


def local_due_date(value: dt.datetime | None, *, zone: ZoneInfo) -> str | None:
    """The last day of a deadline as people say it: a whole-day deadline ends at the local midnight that
    closes its last day, so 'by 2026-11-17' is the instant 2026-11-18 00:00."""
    return local_time(value - dt.timedelta(microseconds=1), with_time=False, zone=zone) if value is not None else None


def lookup_url(tenant_code: str | None = None) -> str:
    """The claimant's lookup page: the insurer's own (``/lookup/{code}``), so the claimant lands there."""
    base = get_settings().public_base_url.rstrip("/") + "/lookup"
    return f"{base}/{tenant_code}" if tenant_code else base


def default_channels() -> list[str]:
    channels = ["sms", "email"]
    if get_settings().notify_webhook_url:
        channels.append("webhook")
    return channels


def _addresses(contact: repository.Contact, channels: Sequence[str]) -> list[tuple[str, str | None, str | None]]:
    """(channel, encrypted address, keyed hash that opt-outs match) for each channel the claimant can get."""
    claimant_hash = contact.phone_hash or contact.email_hash
    found: list[tuple[str, str | None, str | None]] = []
    for channel in channels:
        if channel in ("sms", "wechat"):
            if contact.phone_enc:
                found.append((channel, contact.phone_enc, contact.phone_hash))
        elif channel == "email":
            if contact.email_enc:
                found.append((channel, contact.email_enc, contact.email_hash))
        elif channel == "webhook":
            found.append((channel, None, claimant_hash))
        else:
            raise NotifyError(422, "channels", f"unknown channel {channel!r} (known: {', '.join(CHANNELS)})")
    return found


def _is_opted_out(pairs: set[tuple[str, str]], address_hash: str | None, channel: str) -> bool:
    return bool(address_hash) and ((address_hash, channel) in pairs or (address_hash, "*") in pairs)


def _base_context(
    session: Session, contact: repository.Contact, locale: str, tenant_lookup_url: str | None = None
) -> dict[str, Any]:
    """``tenant_lookup_url``: the tenant's :func:`lookup_url` when the caller already has it (a batch of one tenant)."""
    if tenant_lookup_url is None:
        tenant = tenancy_repository.tenant_by_id(session, contact.tenant_id)
        tenant_lookup_url = lookup_url(tenant.code if tenant is not None else None)
    return {
        "number": contact.number,
        "name": mask_name(contact.name),
        "line_label": workflow_service.line_label(contact.line, locale) if contact.line else "",
        "lookup_url": tenant_lookup_url,
    }


def _row(
    contact: repository.Contact,
    channel: str,
    recipient_enc: str | None,
    recipient_hash: str | None,
    template: str,
    locale: str,
    event_ref: str | None,
    about_status: str | None,
    rendered: tuple[str, str],
    secret_body_enc: str | None,
    key: str,
    opted: bool,
    now: dt.datetime,
) -> tuple[Any, ...]:
    subject, body = rendered
    status = MessageStatus.OPTED_OUT if opted else MessageStatus.QUEUED
    return (
        contact.tenant_id,
        contact.claim_id,
        channel,
        recipient_enc,
        recipient_hash,
        template,
        locale,
        event_ref,
        about_status,
        subject,
        body,
        secret_body_enc,
        f"{key}:{channel}",
        status,
        0,
        None if opted else now,
        None,
        now,
        now,
        None,
    )


# --- the public service functions --------------------------------------------------------------------


def enqueue(
    session: Session,
    *,
    tenant_id: int,
    claim_id: int,
    template: str,
    context: dict[str, Any],
    channels: list[str] | None = None,
    idempotency_key: str,
    locale: str = "zh",
    event_ref: str | None = None,
    about_status: str | None = None,
) -> list[OutboxMessage]:
    """Write one outbox row per channel the claimant can be reached on, in the caller's transaction.

    The recipient comes from the claim (phone → sms/wechat, email → email; webhook → the configured
    URL). ``context`` adds to the standard keys (number, masked name, line_label, lookup_url). The
    row's key is ``<idempotency_key>:<channel>``: calling again with the same key returns the rows
    already written. A channel the claimant opted out of gets a row with status ``opted_out``."""
    contact = repository.claim_contacts(session, [claim_id]).get(claim_id)
    if contact is None or contact.tenant_id != tenant_id:
        raise NotifyError(404, "claim_id", f"no claim {claim_id} in this tenant")
    return enqueue_to_contact(
        session,
        contact,
        template=template,
        context=context,
        channels=channels,
        idempotency_key=idempotency_key,
        locale=locale,
        event_ref=event_ref,
        about_status=about_status,
    )


def complaint_contact(
    *,
    tenant_id: int,
    complaint_id: int,
    number: str,
    name: str | None,
    phone_enc: str | None,
    phone_hash: str | None,
    email_enc: str | None,
    email_hash: str | None,
    received_at: dt.datetime,
    claim_id: int | None = None,
    line: str | None = None,
) -> repository.Contact:
    """A complainant as a message recipient; ``number`` (the complaint's) is what the messages cite."""
    return repository.Contact(
        claim_id=claim_id,
        tenant_id=tenant_id,
        number=number,
        line=line or "",
        name=name or "",
        phone_enc=phone_enc,
        phone_hash=phone_hash,
        email_enc=email_enc,
        email_hash=email_hash,
        reported_at=received_at,
        complaint_id=complaint_id,
    )


def enqueue_to_contact(
    session: Session,
    contact: repository.Contact,
    *,
    template: str,
    context: dict[str, Any],
    channels: list[str] | None = None,
    idempotency_key: str,
    locale: str = "zh",
    event_ref: str | None = None,
    about_status: str | None = None,
) -> list[OutboxMessage]:
    """:func:`enqueue` for any recipient: a claim's claimant, or a complainant
    (:func:`complaint_contact`) whose complaint may match no claim."""
    if not idempotency_key:
        raise NotifyError(422, "idempotency_key", "an idempotency key is required")
    wanted = _addresses(contact, list(dict.fromkeys(channels)) if channels is not None else default_channels())
    keys = [f"{idempotency_key}:{channel}" for channel, _, _ in wanted]
    existing = {m.idempotency_key: m for m in repository.messages_by_keys(session, keys)}
    opted = repository.opted_out(session, [h for _, _, h in wanted])
    full_context = _base_context(session, contact, locale) | context
    rendered = render(template, locale, full_context)
    secret_enc = None
    secrets = SECRET_FIELDS.get(template, ())
    if secrets:
        secret_enc = field_cipher().encrypt("\n".join(rendered))
        rendered = render(template, locale, full_context | {name: _MASK for name in secrets})
    now = utc_now()
    messages = []
    for channel, recipient_enc, recipient_hash in wanted:
        key = f"{idempotency_key}:{channel}"
        if key in existing:
            messages.append(existing[key])
            continue
        short = SMS_TEMPLATES.get(template) if channel == "sms" else None
        row = _row(
            contact,
            channel,
            recipient_enc,
            recipient_hash,
            short or template,
            locale,
            event_ref,
            about_status,
            render(short, locale, full_context) if short else rendered,
            secret_enc,
            idempotency_key,
            template not in LEGAL_TEMPLATES and _is_opted_out(opted, recipient_hash, channel),
            now,
        )
        message = OutboxMessage(**dict(zip(repository.OUTBOX_COLUMNS, row, strict=True)))
        message.complaint_id = contact.complaint_id
        message.reference = contact.number
        session.add(message)
        messages.append(message)
    session.flush()
    return messages


ExpectedCompletion = Callable[[Session, int, list[int]], dict[int, dt.datetime]]


def on_case_events(
    session: Session, tenant_id: int, changes: Sequence[CaseChange], expected_completion: ExpectedCompletion
) -> int:
    """Enqueue the claimant messages a batch of applied events calls for, in the caller's transaction:
    an acknowledgement with the expected completion date at ``reported``, a progress message for each
    transition into a state whose workflow ``notify_claimant`` flag is set. One query per kind of
    data for the whole batch, one bulk insert. Returns the rows written.

    ``expected_completion`` gives each new claim's expected date (the SLA clocks' target); it is passed
    in because the clocks sit above the outbox, which every domain uses."""
    wanted: list[CaseChange] = []
    for change in changes:
        if change.to_status is None:
            continue
        if change.event_type == "reported":
            wanted.append(change)
        elif change.event_type == "transition":
            state = workflow_service.get_workflow(change.line).states.get(change.to_status)
            if change.to_status == REFUSED_STATUS or (state is not None and state.notify_claimant):
                wanted.append(change)
    if not wanted:
        return 0
    contacts = repository.claim_contacts(session, {c.claim_id for c in wanted})
    reported_ids = [c.claim_id for c in wanted if c.event_type == "reported"]
    expected = expected_completion(session, tenant_id, reported_ids)
    channels = default_channels()
    locale = get_settings().default_locale
    zone = tenant_zone(session, tenant_id)  # the dates in the messages: the insurer's local time
    addresses = {claim_id: _addresses(contact, channels) for claim_id, contact in contacts.items()}
    opted = repository.opted_out(session, [h for found in addresses.values() for _, _, h in found])
    now = utc_now()
    tenant = tenancy_repository.tenant_by_id(session, tenant_id)
    tenant_url = lookup_url(tenant.code if tenant is not None else None)
    rows = []
    for change in wanted:
        contact = contacts.get(change.claim_id)
        if contact is None or not addresses[change.claim_id]:
            continue
        context = _base_context(session, contact, locale, tenant_url)
        if change.event_type == "reported":
            template = "acknowledgement"
            due = expected.get(change.claim_id)
            context |= {
                "reported_at": local_time(change.at, zone=zone),
                "expected_date": local_due_date(due, zone=zone),
            }
        elif change.to_status == REFUSED_STATUS:
            template = REFUSAL_TEMPLATE
            context |= refusal_context(session, tenant_id, change, zone)
        else:
            template = "status_changed"
            assert change.to_status is not None
            context |= {
                "status_label": workflow_service.state_label(contact.line, change.to_status, locale),
                "changed_at": local_time(change.at, zone=zone),
            }
        rendered = render(template, locale, context)
        for channel, recipient_enc, recipient_hash in addresses[change.claim_id]:
            rows.append(
                _row(
                    contact,
                    channel,
                    recipient_enc,
                    recipient_hash,
                    template,
                    locale,
                    change.event_ref,
                    change.to_status,
                    rendered,
                    None,
                    f"evt:{change.event_ref}",
                    template not in LEGAL_TEMPLATES and _is_opted_out(opted, recipient_hash, channel),
                    now,
                )
            )
    repository.insert_messages(session, rows)
    return len(rows)


def refusal_context(session: Session, tenant_id: int, change: CaseChange, zone: ZoneInfo) -> dict[str, Any]:
    """The refusal notice's own keys: when, why (the rejection's reason, scrubbed like every text), by whom,
    and whether it is 交强险 (the notice then also cites the 交强险条例)."""
    tenant = tenancy_repository.tenant_by_id(session, tenant_id)
    return {
        "decided_at": local_time(change.at, with_time=False, zone=zone),
        "reason": (change.reason or "").strip() or "—",
        "insurer": tenant.name if tenant is not None else "",
        "compulsory": change.coverage == COMPULSORY,
    }


def materials_notice(
    session: Session, tenant_id: int, claim_id: int, claim_number: str, round_number: int, item_labels: list[str]
) -> list[OutboxMessage]:
    """The missing-materials notice: every requested item by name."""
    return enqueue(
        session,
        tenant_id=tenant_id,
        claim_id=claim_id,
        template="materials_notice",
        context={"items": item_labels, "round": round_number},
        idempotency_key=f"materials:{claim_number}:{round_number}",
        locale=get_settings().default_locale,
        about_status="awaiting_materials",
    )


def _recipient_display(message: OutboxMessage) -> str:
    if message.channel == "webhook":
        return "webhook"
    clear = field_cipher().decrypt(message.recipient_enc)
    if message.channel == "email" and clear:
        local, _, domain = clear.partition("@")
        return f"{local[:1]}***@{domain}"
    return mask_phone(clear)


def message_view(message: OutboxMessage, claim_number: str | None = None) -> dict[str, Any]:
    """A message as staff see it: masked recipient, the text as the claimant saw it (one-time codes masked)."""
    return {
        "id": message.id,
        "claim_number": claim_number,
        "channel": message.channel,
        "recipient": _recipient_display(message),
        "template": message.template,
        "locale": message.locale,
        "about_status": message.about_status,
        "subject": message.subject,
        "body": message.body,
        "status": message.status,
        "attempts": message.attempts,
        "last_error": scrub_text(message.last_error) if message.last_error else None,
        "idempotency_key": message.idempotency_key,
        "created_at": message.created_at,
        "sent_at": message.sent_at,
        "next_attempt_at": message.next_attempt_at,
    }


def messages_for_claim(session: Session, claim_id: int, since: dt.datetime | None = None) -> list[dict[str, Any]]:
    """What the claimant was told and when, on which channel, with what status, oldest first (``since``: see
    ``repository.messages_of_claim``)."""
    return [message_view(m) for m in repository.messages_of_claim(session, claim_id, since)]


def record_posted(
    session: Session,
    claim_id: int,
    claim_number: str,
    actor: str,
    tracking_number: str,
    posted_at: dt.datetime | None = None,
    carrier: str | None = None,
    template: str = REFUSAL_TEMPLATE,
) -> PostedNotice:
    """A legal notice was sent by post (保险法 art. 24: the refusal, in writing): who, when, the tracking
    number — also when no electronic channel reaches the claimant (no address known, every one failing). Only
    for a claim that was rejected; the time is not in the future. Audited (``notify.notice_posted``); then
    published as a sent claimant message (``reactions.CLAIMANT_MESSAGES_SENT``), so the notice's clock stops at
    ``posted_at`` as when a channel accepts it. The same tracking number twice is refused."""
    tracking = (tracking_number or "").strip()
    if not _TRACKING.match(tracking):
        raise NotifyError(422, "tracking_number", "a tracking number is 4–64 letters, digits or dashes")
    if template not in POSTABLE_TEMPLATES:
        raise NotifyError(422, "template", f"only {', '.join(sorted(POSTABLE_TEMPLATES))} is recorded as posted")
    now = utc_now()
    posted_at = posted_at or now
    if posted_at.tzinfo is None:
        raise NotifyError(422, "posted_at", "give the time with its offset (e.g. +08:00)")
    if posted_at > now + dt.timedelta(minutes=5):
        raise NotifyError(422, "posted_at", "posted_at is in the future")
    if not repository.entered_status(session, claim_id, REFUSED_STATUS):
        raise NotifyError(409, "template", f"claim {claim_number} was never rejected: there is no {template} to post")
    carrier = scrub_text(carrier.strip())[:64] if carrier and carrier.strip() else None
    row = PostedNotice(
        tenant_id=repository.claim_tenant(session, claim_id),
        claim_id=claim_id,
        template=template,
        posted_at=posted_at.astimezone(dt.UTC),
        posted_by=actor[:100],
        tracking_number=tracking,
        carrier=carrier,
        recorded_at=now,
    )
    session.add(row)
    try:
        with session.begin_nested():
            session.flush()
    except IntegrityError as exc:
        raise NotifyError(409, "tracking_number", f"{tracking} is already recorded for claim {claim_number}") from exc
    audit_service.record(
        session,
        row.tenant_id,
        "notify.notice_posted",
        claim_number,
        actor,
        {
            "posted_notice_id": row.id,
            "template": template,
            "posted_at": row.posted_at.isoformat(),
            "tracking_number": tracking,
            "carrier": carrier,
        },
    )
    sent = [SentMessage(row.tenant_id, claim_id, template, row.posted_at)]
    reactions.publish(reactions.CLAIMANT_MESSAGES_SENT, session, row.tenant_id, sent)
    return row


def posted_for_claim(session: Session, claim_id: int) -> list[dict[str, Any]]:
    """The claim's notices sent by post, oldest first (the claim page and the API)."""
    return [
        {
            "id": p.id,
            "template": p.template,
            "posted_at": p.posted_at,
            "posted_by": p.posted_by,
            "tracking_number": p.tracking_number,
            "carrier": p.carrier,
            "recorded_at": p.recorded_at,
        }
        for p in repository.posted_of_claim(session, claim_id)
    ]


def messages_for_complaint(session: Session, complaint_id: int) -> list[dict[str, Any]]:
    """What the complainant was told (receipt, extension notice, decision, survey), oldest first."""
    return [message_view(m, m.reference) for m in repository.messages_of_complaint(session, complaint_id)]


def failures(session: Session, limit: int = 500) -> list[dict[str, Any]]:
    return [message_view(message, number) for message, number in repository.failures(session, limit)]


def resend(session: Session, ids: Sequence[int] | None = None) -> int:
    """Failed or dead messages (these ids, or every one of the tenant) go back to the queue."""
    return repository.requeue(session, list(ids) if ids is not None else None, utc_now())


def resend_one(session: Session, message_id: int) -> OutboxMessage:
    message = session.get(OutboxMessage, message_id)
    if message is None:
        raise NotifyError(404, "id", f"no message {message_id}")
    if message.status not in (MessageStatus.FAILED, MessageStatus.DEAD):
        raise NotifyError(
            409, "status", f"message {message_id} is {message.status}; only failed or dead ones are resent"
        )
    repository.requeue(session, [message_id], utc_now())
    session.refresh(message)
    return message


def opt_out(
    session: Session,
    tenant_id: int,
    address: str,
    channel: str,
    actor: str,
    reason: str | None = None,
) -> OptOut:
    """Record that the claimant with this phone or email wants nothing on ``channel`` (``*``: any).
    Queued messages to them on it become ``opted_out``."""
    if channel != "*" and channel not in CHANNELS:
        raise NotifyError(422, "channel", f"unknown channel {channel!r} (known: *, {', '.join(CHANNELS)})")
    address_hash = keyed_hash(address)
    if address_hash is None:
        raise NotifyError(422, "address", "a phone number or email address is required")
    found = session.execute(
        select(OptOut).where(OptOut.address_hash == address_hash, OptOut.channel == channel)
    ).scalar_one_or_none()
    if found is None:
        found = OptOut(
            tenant_id=tenant_id,
            address_hash=address_hash,
            channel=channel,
            reason=scrub_text(reason)[:200] if reason else None,
            created_by=actor,
            created_at=utc_now(),
        )
        session.add(found)
        try:
            with session.begin_nested():
                session.flush()
        except IntegrityError as exc:  # a concurrent identical opt-out
            raise NotifyError(409, "address", "this opt-out was just recorded") from exc
    pending = select(OutboxMessage).where(
        OutboxMessage.recipient_hash == address_hash,
        OutboxMessage.status.in_(MessageStatus.PENDING),
        OutboxMessage.template.not_in(sorted(LEGAL_TEMPLATES)),  # a legal notice still goes out
    )
    if channel != "*":
        pending = pending.where(OutboxMessage.channel == channel)
    now = utc_now()
    for message in session.execute(pending).scalars():
        message.status = MessageStatus.OPTED_OUT
        message.next_attempt_at = None
        message.updated_at = now
    session.flush()
    return found


def proactive_notification_rate(
    session: Session,
    tenant_id: int,
    org_unit_id: int | None = None,
    since: dt.datetime | None = None,
    until: dt.datetime | None = None,
) -> dict[str, Any]:
    """Share of claims whose every status change (in the period) into a notify-flagged state got a
    message that reached the claimant (sent or delivered; an honoured opt-out counts as informed).
    ``org_unit_id`` takes the unit and its whole subtree."""
    org_ids: list[int] | None = None
    if org_unit_id is not None:
        units = tenancy_repository.org_units(session)
        children: dict[int | None, list[int]] = {}
        for unit in units:
            children.setdefault(unit.parent_id, []).append(unit.id)
        org_ids, stack = [], [org_unit_id]
        while stack:
            current = stack.pop()
            org_ids.append(current)
            stack.extend(children.get(current, []))
    informed_statuses = (*MessageStatus.DONE, MessageStatus.OPTED_OUT)
    events: dict[tuple[int, str], bool] = {}
    claims: dict[int, bool] = {}
    for claim_id, line, event_ref, to_status, status in repository.notify_events(
        session, tenant_id, org_ids, since, until
    ):
        try:
            flag = workflow_service.get_workflow(line).states[to_status].notify_claimant
        except (workflow_service.UnknownLine, KeyError):
            continue
        if not flag and to_status != workflow_service.get_workflow(line).initial:
            continue
        key = (claim_id, event_ref)
        events[key] = events.get(key, False) or status in informed_statuses
    for (claim_id, _), informed in events.items():
        claims[claim_id] = claims.get(claim_id, True) and informed
    total = len(claims)
    notified = sum(1 for ok in claims.values() if ok)
    return {
        "tenant_id": tenant_id,
        "org_unit_id": org_unit_id,
        "since": since,
        "until": until,
        "claims": total,
        "claims_fully_notified": notified,
        "status_changes": len(events),
        "status_changes_notified": sum(1 for ok in events.values() if ok),
        "rate": round(notified / total, 4) if total else None,
    }


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
_EMAIL_RE = re.compile(r"^[^@\s<>,;\"']{1,64}@[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?(?:\.[A-Za-z0-9-]{1,63})+$")
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


# -- a user's own inbox ---------------------------------------------------------------------------------


def _own_user(principal_user_id: int | None) -> int:
    if principal_user_id is None:
        raise NotifyError(403, "user", "only a signed-in staff member has notifications")
    return principal_user_id


def inbox(
    session: Session,
    user_id: int | None,
    locale: str,
    unread_only: bool = False,
    limit: int = 50,
    offset: int = 0,
    item_id: int | None = None,
) -> list[dict[str, Any]]:
    """The user's notices (or the one ``item_id``), newest first, as the bell's page shows them."""
    own = _own_user(user_id)
    return [
        {
            "id": item.id,
            "kind": notice.kind,
            "kind_label": kind_label(notice.kind, locale),
            "subject": scrub_text(notice.subject),
            "body": scrub_text(notice.body),
            "claim_number": number,
            "link": notice_link(notice, number),
            "created_at": item.created_at,
            "read_at": item.read_at,
            "unread": item.read_at is None,
        }
        for item, notice, number in repository.inbox_page(session, own, unread_only, limit, offset, item_id)
    ]


def unread_count(session: Session, user_id: int | None) -> int:
    return repository.inbox_count(session, _own_user(user_id), unread_only=True)


def inbox_total(session: Session, user_id: int | None, unread_only: bool = False) -> int:
    return repository.inbox_count(session, _own_user(user_id), unread_only=unread_only)


def mark_read(session: Session, user_id: int | None, item_id: int, read: bool = True) -> StaffInboxItem:
    """Mark one of the user's own notices read (or unread again). Another user's (or tenant's) is 404."""
    own = _own_user(user_id)
    item = repository.inbox_item(session, item_id)  # tenant-scoped by the session
    if item is None or item.user_id != own:
        raise NotifyError(404, "id", f"no notification {item_id}")
    item.read_at = (item.read_at or utc_now()) if read else None
    session.flush()
    return item


def mark_all_read(session: Session, user_id: int | None) -> int:
    return repository.mark_all_read(session, _own_user(user_id), utc_now())


# -- preferences ----------------------------------------------------------------------------------------


def preferences_view(session: Session, user_id: int | None, tenant_id: int) -> dict[str, Any]:
    """Each kind with the user's e-mail mode (``default`` marks the ones not chosen), their language and
    their e-mail address (masked)."""
    own = _own_user(user_id)
    chosen = {(p.kind, p.channel): p.mode for p in repository.preference_rows(session, own)}
    profile = repository.profile(session, own)
    user = next((u for u in repository.staff_users(session, tenant_id) if u.id == own), None)
    return {
        "kinds": [
            {
                "kind": kind,
                "label": label,
                "email": chosen.get((kind, "email"), DEFAULT_EMAIL.get(kind, "off")),
                "default": (kind, "email") not in chosen,
            }
            for kind, label in KIND_LABELS.items()
        ],
        "locale": profile.locale if profile is not None else "zh",
        "email": _masked_email(user.email) if user is not None else None,
    }


def _masked_email(address: str | None) -> str | None:
    if not address:
        return None
    local, _, domain = address.partition("@")
    return f"{local[:1]}***@{domain}"


def set_preferences(
    session: Session,
    user_id: int | None,
    tenant_id: int,
    email_modes: dict[str, str],
    locale: str | None,
    actor: str,
) -> dict[str, Any]:
    """Set the user's e-mail mode per kind (instant, digest, off) and their notices' language."""
    own = _own_user(user_id)
    for kind, mode in email_modes.items():
        if kind not in KIND_LABELS:
            raise NotifyError(422, f"email.{kind}", f"unknown kind of notice {kind!r}")
        if mode not in EMAIL_MODES:
            raise NotifyError(422, f"email.{kind}", f"mode must be one of {', '.join(EMAIL_MODES)}")
    if locale is not None and locale not in STAFF_LOCALES:
        raise NotifyError(422, "locale", f"locale must be one of {', '.join(STAFF_LOCALES)}")
    now = utc_now()
    existing = {(p.kind, p.channel): p for p in repository.preference_rows(session, own)}
    for kind, mode in email_modes.items():
        row = existing.get((kind, "email"))
        if row is None:
            session.add(
                StaffNotifyPreference(
                    tenant_id=tenant_id, user_id=own, kind=kind, channel="email", mode=mode, updated_at=now
                )
            )
        elif row.mode != mode:
            row.mode = mode
            row.updated_at = now
    if locale is not None:
        profile = repository.profile(session, own)
        if profile is None:
            session.add(StaffNotifyProfile(tenant_id=tenant_id, user_id=own, locale=locale, updated_at=now))
        else:
            profile.locale = locale
            profile.updated_at = now
    session.flush()
    audit_service.record(
        session,
        tenant_id,
        "config.notify_preferences",
        str(own),
        actor,
        {"email": dict(sorted(email_modes.items())), "locale": locale},
    )
    return preferences_view(session, own, tenant_id)


def set_user_email(session: Session, tenant_id: int, username: str, email: str | None, actor: str) -> User:
    """An admin sets (or clears, with None/"") where a staff member's notices are e-mailed."""
    user = repository.user_in_tenant(session, tenant_id, username)
    if user is None:
        raise NotifyError(404, "username", f"no user {username!r} in this tenant")
    address = (email or "").strip()
    if address and (len(address) > 254 or not _EMAIL_RE.match(address)):
        raise NotifyError(422, "email", "not an e-mail address")
    user.email = address or None
    session.flush()
    audit_service.record(
        session, tenant_id, "config.user", username, actor, {"action": "set_email", "email": _masked_email(user.email)}
    )
    return user


# -- group robots ---------------------------------------------------------------------------------------


def robot_view(robot: NotifyRobot, org_codes: dict[int, str] | None = None) -> dict[str, Any]:
    url = field_cipher().decrypt(robot.url_enc) or ""
    base, _, query = url.partition("?")
    return {
        "id": robot.id,
        "name": robot.name,
        "provider": robot.provider,
        "url": f"{base}?***" if query else base,  # the query carries the robot's token
        "signed": robot.secret_enc is not None,
        "org": (org_codes or {}).get(robot.org_unit_id) if robot.org_unit_id is not None else None,
        "kinds": [k for k in (robot.kinds or "").split(",") if k],
        "locale": robot.locale,
        "active": robot.active,
        "created_at": robot.created_at,
    }


def list_robots(session: Session) -> list[dict[str, Any]]:
    codes = {unit.id: unit.code for unit in tenancy_repository.org_units(session)}
    return [robot_view(robot, codes) for robot in repository.robots(session)]


def save_robot(
    session: Session,
    tenant_id: int,
    *,
    name: str,
    provider: str,
    url: str,
    secret: str | None = None,
    org: str | None = None,
    kinds: Sequence[str] | None = None,
    locale: str = "zh",
    actor: str,
) -> dict[str, Any]:
    """Add a group robot, or replace the one of that name. ``url``: the robot's webhook address (a WeCom
    robot's https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=…, a DingTalk one's
    https://oapi.dingtalk.com/robot/send?access_token=…, or a relay's); ``secret``: DingTalk's 加签 secret."""
    name = name.strip()
    if not name or len(name) > 64:
        raise NotifyError(422, "name", "a name of 1 to 64 characters is required")
    if provider not in ROBOT_PROVIDERS:
        raise NotifyError(422, "provider", f"provider must be one of {', '.join(ROBOT_PROVIDERS)}")
    url = url.strip()
    if not re.match(r"^https?://[^\s/?#]+[^\s]*$", url) or len(url) > 500:
        raise NotifyError(422, "url", "the robot's webhook URL (http or https, at most 500 characters)")
    if secret is not None and (len(secret) > 200 or not secret.strip()):
        raise NotifyError(422, "secret", "the signing secret is 1 to 200 characters")
    if secret and provider != "dingtalk":
        raise NotifyError(422, "secret", "only a DingTalk robot signs its messages")
    unknown = [k for k in kinds or () if k not in KIND_LABELS]
    if unknown:
        raise NotifyError(422, "kinds", f"unknown kinds {', '.join(unknown)}")
    if locale not in STAFF_LOCALES:
        raise NotifyError(422, "locale", f"locale must be one of {', '.join(STAFF_LOCALES)}")
    org_unit_id = None
    if org:
        found = tenancy_repository.org_unit_by_code(session, org)
        if found is None:
            raise NotifyError(404, "org", f"unknown org unit {org!r}")
        org_unit_id = found.id
    cipher = field_cipher()
    now = utc_now()
    robot = repository.robot_by_name(session, name)
    if robot is None:
        robot = NotifyRobot(tenant_id=tenant_id, name=name, created_by=actor, created_at=now)
        session.add(robot)
    robot.provider = provider
    robot.url_enc = cipher.encrypt(url) or ""
    robot.secret_enc = cipher.encrypt(secret) if secret else None
    robot.org_unit_id = org_unit_id
    robot.kinds = ",".join(kinds) if kinds else None
    robot.locale = locale
    robot.active = True
    robot.updated_at = now
    session.flush()
    view = robot_view(robot, {org_unit_id: org} if org_unit_id is not None and org else None)
    audit_service.record(
        session,
        tenant_id,
        "config.notify_robot",
        name,
        actor,
        {
            "action": "save",
            "provider": provider,
            "url": view["url"],
            "signed": view["signed"],
            "org": org,
            "kinds": view["kinds"],
            "locale": locale,
        },
    )
    return view


def remove_robot(session: Session, tenant_id: int, name: str, actor: str) -> None:
    robot = repository.robot_by_name(session, name)
    if robot is None:
        raise NotifyError(404, "name", f"no robot {name!r}")
    session.delete(robot)
    session.flush()
    audit_service.record(session, tenant_id, "config.notify_robot", name, actor, {"action": "remove"})
