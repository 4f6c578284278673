"""Claimant notifications: render a template, write outbox rows in the caller's transaction, and
tell staff what each claimant was told. No HTTP here, no commits.

Messages never carry ID numbers, diagnoses or bank accounts: templates take only the claim number,
a masked name, labels and dates, and the rendered text also passes :func:`scrub_text`.

Notices to staff are in :mod:`claimwatch.notify.staff_notices` (queued and fanned out), a staff member's inbox
and preferences in :mod:`~claimwatch.notify.staff_inbox`, group robots in :mod:`~claimwatch.notify.robots`.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable, Sequence
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
from claimwatch.cases.events import CaseChange
from claimwatch.config import get_settings
from claimwatch.db import utc_now
from claimwatch.errors import Problem
from claimwatch.notify import repository
from claimwatch.notify.events import SentMessage
from claimwatch.notify.models import (
    MessageStatus,
    OptOut,
    OutboxMessage,
    PostedNotice,
)
from claimwatch.privacy import field_cipher, keyed_hash, mask_name, mask_phone, scrub_text
from claimwatch.tenancy import repository as tenancy_repository
from claimwatch.tenancy.service import tenant_zone
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
