"""Service requests (客户服务请求, DESIGN M19): intake from every channel and what a handler does with a request.

- :func:`intake` (HANDLE_SERVICE_REQUESTS; the API, the staff form, the import, the public page through
  :func:`public_principal`): validated against the categories file (an unknown category, priority or channel is
  :class:`Invalid` naming the field, nothing written), numbered ``SR-YYYY-NNNNNN`` per insurer and local year, linked
  to the claim (by number, within the insurer) and its policy, the customer's phone and ID number encrypted with the
  keyed-hash ``customer_key`` complaints use, jieba keywords for the knowledge-base suggestions, the category's team,
  the clocks started (:mod:`servicedesk.clocks`). A known ``external_ref`` returns the request already recorded.
- :func:`assign`, :func:`note` (internal), :func:`reply` (to the customer through the outbox, template
  ``service_reply``; the first reply stops the first-response clock), :func:`wait_for_customer` / :func:`resume`
  (the clocks pause), :func:`resolve` (a resolution code of the category), :func:`close`, :func:`reopen`,
  :func:`cancel`, :func:`escalate_to_complaint` (a complaint through ``complaints.intake`` whose ``external_ref`` is
  the request number; the request keeps ``complaint_id``).

Every change is audited (``servicedesk.*``) in the caller's transaction and written to the request's history; no
function commits. A note or reply to a closed or cancelled request is :class:`Conflict` naming ``status``."""

from __future__ import annotations

import datetime as dt
from typing import Any

from pydantic import ValidationError
from sqlalchemy import select
from sqlalchemy.orm import Session

from claimwatch.audit import service as audit_service
from claimwatch.auth.models import Role
from claimwatch.auth.principal import Permission, Principal
from claimwatch.cases import service as cases_service
from claimwatch.cases.models import Claim
from claimwatch.complaints import intake as complaints_intake
from claimwatch.complaints import schemas as complaint_schemas
from claimwatch.complaints.models import Complaint
from claimwatch.complaints.terms import stored_terms
from claimwatch.complaints.vocabulary import ComplaintError
from claimwatch.config import get_settings
from claimwatch.db import utc_now
from claimwatch.errors import Conflict, Forbidden, Invalid, NotFound
from claimwatch.kb.models import KbArticle
from claimwatch.notify import repository as notify_repository
from claimwatch.notify import service as notify_service
from claimwatch.params import FUTURE_SLACK, clean_text
from claimwatch.privacy import field_cipher, keyed_hash, mask_name
from claimwatch.servicedesk import categories, clocks, repository
from claimwatch.servicedesk.models import ServiceRequest, ServiceRequestEvent
from claimwatch.servicedesk.schemas import ServiceRequestIn
from claimwatch.tenancy import repository as tenancy_repository
from claimwatch.tenancy import service as tenancy_service
from claimwatch.web.i18n import N_

PUBLIC_ACTOR = "public:service"
CHANNELS = ("phone", "wechat", "email", "api", "staff", "import", "public")
STATUSES = ("open", "in_progress", "waiting_customer", "resolved", "closed", "cancelled")
OPEN_STATUSES = ("open", "in_progress", "waiting_customer")
FINISHED = ("closed", "cancelled")  # nothing more is written to these but a reopen (closed)
REPLY_TEMPLATE = "service_reply"
# An escalated request's channel as the complaint register names it.
COMPLAINT_CHANNEL = {"phone": "hotline", "wechat": "wechat", "email": "email", "public": "app", "api": "app"}

CHANNEL_LABELS: dict[str, str] = {
    "phone": N_("Phone"),
    "wechat": N_("WeChat"),
    "email": N_("Email"),
    "api": N_("Core system (API)"),
    "staff": N_("Staff form"),
    "import": N_("Import"),
    "public": N_("Public web page"),
}
STATUS_LABELS: dict[str, str] = {
    "open": N_("Open"),
    "in_progress": N_("In progress"),
    "waiting_customer": N_("Waiting for the customer"),
    "resolved": N_("Resolved"),
    "closed": N_("Closed"),
    "cancelled": N_("Cancelled"),
}
EVENT_LABELS: dict[str, str] = {
    "received": N_("Request received"),
    "assigned": N_("Assigned"),
    "noted": N_("Internal note"),
    "replied": N_("Replied to the customer"),
    "waiting": N_("Waiting for the customer"),
    "resumed": N_("Customer answered: resumed"),
    "resolved": N_("Resolved"),
    "closed": N_("Closed"),
    "reopened": N_("Reopened"),
    "cancelled": N_("Cancelled"),
    "escalated": N_("Escalated to a complaint"),
}


# -- helpers -----------------------------------------------------------------------------------------------


def tenant_of(principal: Principal) -> int:
    if principal.tenant_id is None:
        raise Forbidden("tenant", "service requests belong to one insurer")
    return principal.tenant_id


def _begin(session: Session, principal: Principal) -> int:
    """The caller may handle requests; the tenant's audit chain is locked for the transaction (one writer)."""
    principal.require(Permission.HANDLE_SERVICE_REQUESTS)
    tenant_id = tenant_of(principal)
    audit_service.open_chain(session, tenant_id).close()
    return tenant_id


def public_principal(tenant_id: int) -> Principal:
    """Who the public enquiry page files a request as (no sign-in; the audit trail names the page)."""
    return Principal(role=Role.INTEGRATION, tenant_id=tenant_id, actor=PUBLIC_ACTOR)


def get_request(session: Session, number: str, *, lock: bool = False) -> ServiceRequest:
    request = repository.by_number(session, number, lock=lock)
    if request is None:
        raise NotFound("number", f"no service request {number}")
    return request


def record_event(
    session: Session,
    request: ServiceRequest,
    kind: str,
    actor: str,
    at: dt.datetime,
    *,
    text: str | None = None,
    message_id: int | None = None,
    **detail: Any,
) -> ServiceRequestEvent:
    event = ServiceRequestEvent(
        tenant_id=request.tenant_id,
        request_id=request.id,
        kind=kind,
        actor=actor,
        at=at,
        text=text,
        message_id=message_id,
        detail={key: value for key, value in detail.items() if value is not None},
    )
    session.add(event)
    return event


def _audit(session: Session, request: ServiceRequest, kind: str, actor: str, payload: dict[str, Any]) -> None:
    audit_service.record(session, request.tenant_id, f"servicedesk.{kind}", request.number, actor, payload)


def _touch(request: ServiceRequest, now: dt.datetime) -> None:
    request.updated_at = now


# -- intake ------------------------------------------------------------------------------------------------


def vocabulary_problems(
    catalogue: categories.Catalogue, channel: str | None, category: str | None, priority: str | None
) -> list[tuple[str, str]]:
    """An unknown channel, category or priority as (field, message) (None: not given, not checked)."""
    found: list[tuple[str, str]] = []
    if channel is not None and channel not in CHANNELS:
        found.append(("channel", f"unknown channel {channel!r} (known: {', '.join(CHANNELS)})"))
    if category is not None and category not in catalogue.categories:
        found.append(("category", f"unknown category {category!r} (known: {', '.join(catalogue.categories)})"))
    if priority is not None and priority not in catalogue.priorities:
        found.append(("priority", f"unknown priority {priority!r} (known: {', '.join(catalogue.priorities)})"))
    return found


def problems_of(
    session: Session, tenant_id: int, data: ServiceRequestIn, channel: str, now: dt.datetime | None = None
) -> list[tuple[str, str]]:
    """Every problem of a request as (field, message): the API raises them all at once, the import reports each."""
    now = now or utc_now()
    catalogue = categories.for_tenant(session, tenant_id)
    found = vocabulary_problems(catalogue, channel, data.category, data.priority)
    if data.received_at is not None and data.received_at > now + FUTURE_SLACK:
        found.append(("received_at", f"received_at {data.received_at.isoformat()} is in the future"))
    if data.claim_number:
        try:
            cases_service.get_claim(session, data.claim_number)
        except cases_service.ClaimNotFound:
            found.append(("claim_number", f"no claim {data.claim_number} in this tenant"))
    if data.org_code and tenancy_repository.org_unit_by_code(session, data.org_code) is None:
        found.append(("org_code", f"unknown org unit {data.org_code!r}"))
    if not data.subject.strip():
        found.append(("subject", "subject is required"))
    if not data.description.strip():
        found.append(("description", "description is required"))
    return found


def _next_number(session: Session, received_at: dt.datetime, tenant_id: int) -> str:
    """SR- + the local year of receipt + a sequence per insurer and year (the caller holds the chain)."""
    year = received_at.astimezone(tenancy_service.tenant_zone(session, tenant_id)).year
    prefix = f"SR-{year:04d}-"
    last = repository.last_number(session, prefix)
    sequence = int(last[len(prefix) :]) + 1 if last and last[len(prefix) :].isdigit() else 1
    return f"{prefix}{sequence:06d}"


def _customer_key(data: ServiceRequestIn, claim: Claim | None) -> str | None:
    return complaints_intake.customer_key(data.customer.id_number, data.customer.phone, claim)


def intake(
    session: Session, principal: Principal, data: ServiceRequestIn, *, channel: str | None = None
) -> tuple[ServiceRequest, bool]:
    """Record a request (see the module text); (request, created). ``channel``: how it came in when the body does
    not say (api, staff, import, public); the body's own channel wins."""
    tenant_id = _begin(session, principal)
    now = utc_now()
    used_channel = data.channel or channel or "api"
    problems = problems_of(session, tenant_id, data, used_channel, now)
    if problems:
        raise Invalid(*problems[0], problems=[{"field": f, "message": m} for f, m in problems])
    if data.external_ref:
        existing = repository.by_external_ref(session, data.external_ref)
        if existing is not None:
            return existing, False
    catalogue = categories.for_tenant(session, tenant_id)
    category = catalogue.categories[data.category]
    claim = cases_service.get_claim(session, data.claim_number) if data.claim_number else None
    org_unit_id = claim.org_unit_id if claim is not None else None
    if data.org_code:
        unit = tenancy_repository.org_unit_by_code(session, data.org_code)
        org_unit_id = unit.id if unit is not None else org_unit_id
    received_at = (data.received_at or now).astimezone(dt.UTC)
    who = data.customer
    cipher = field_cipher()
    phone_enc: str | None = cipher.encrypt(who.phone)
    phone_hash: str | None = keyed_hash(who.phone)
    if claim is not None and not who.phone:
        phone_enc, phone_hash = claim.claimant_phone_enc, claim.claimant_phone_hash  # ciphertext copied
    name = who.name or (claim.claimant_name if claim is not None else None)
    request = ServiceRequest(
        tenant_id=tenant_id,
        number=_next_number(session, received_at, tenant_id),
        channel=used_channel,
        external_ref=data.external_ref,
        category=data.category,
        priority=data.priority,
        # Free text may carry a phone or ID number typed by the customer: never kept in clear.
        subject=clean_text(data.subject, "subject", True, 200) or "",
        description=clean_text(data.description, "description", True, 20000) or "",
        keywords=stored_terms(data.subject, data.description, name) or None,
        customer_name_masked=mask_name(name) if name else None,
        phone_enc=phone_enc,
        phone_hash=phone_hash,
        id_number_enc=cipher.encrypt(who.id_number),
        id_number_hash=keyed_hash(who.id_number),
        customer_key=_customer_key(data, claim),
        policy_number=(data.policy_number or (claim.policy_number if claim is not None else None)),
        claim_id=claim.id if claim is not None else None,
        org_unit_id=org_unit_id,
        team=category.team,
        status="open",
        received_at=received_at,
        articles_used=[],
        created_by=principal.actor,
        created_at=now,
        updated_at=now,
    )
    session.add(request)
    session.flush()
    record_event(
        session,
        request,
        "received",
        principal.actor,
        received_at,
        channel=used_channel,
        category=data.category,
        priority=data.priority,
        team=category.team,
        external_ref=data.external_ref,
        claim=data.claim_number,
    )
    clocks.start_for(session, request)
    _audit(
        session,
        request,
        "received",
        principal.actor,
        {
            "channel": used_channel,
            "category": request.category,
            "priority": request.priority,
            "team": request.team,
            "external_ref": request.external_ref,
            "claim": data.claim_number,
            "policy_number": request.policy_number,
            "customer_key": request.customer_key,
            "peak_period_id": request.peak_period_id,
        },
    )
    return request, True


# -- handling ----------------------------------------------------------------------------------------------


def _writable(request: ServiceRequest, action: str) -> None:
    if request.status in FINISHED:
        raise Conflict("status", f"service request {request.number} is {request.status}: no {action} any more")


def _open(request: ServiceRequest, action: str) -> None:
    if request.status not in OPEN_STATUSES:
        raise Conflict("status", f"service request {request.number} is {request.status}: cannot {action}")


def _handler_user(session: Session, tenant_id: int, username: str) -> tuple[int, str]:
    user = repository.tenant_user(session, tenant_id, username)
    if (
        user is None
        or user.role is Role.INTEGRATION
        or not Principal(role=user.role, tenant_id=tenant_id, actor="").can(Permission.HANDLE_SERVICE_REQUESTS)
    ):
        raise Invalid("username", f"{username!r} is not a service-request handler of this insurer")
    return user.id, user.username


def assign(
    session: Session, principal: Principal, number: str, *, team: str | None = None, username: str | None = None
) -> ServiceRequest:
    """Give a request to a team (of the categories file) and/or a handler (a user who may handle requests); a
    request given to a handler is in progress."""
    tenant_id = _begin(session, principal)
    request = get_request(session, number, lock=True)
    _open(request, "be assigned")
    if not team and not username:
        raise Invalid("team", "name a team or a handler (username)")
    catalogue = categories.for_tenant(session, tenant_id)
    if team and team not in catalogue.teams:
        raise Invalid("team", f"unknown team {team!r} (known: {', '.join(catalogue.teams)})")
    handler = _handler_user(session, tenant_id, username) if username else None
    now = utc_now()
    before = {"team": request.team, "handler_id": request.handler_id}
    if team:
        request.team = team
    if handler is not None:
        request.handler_id = handler[0]
        if request.status == "open":
            request.status = "in_progress"
    _touch(request, now)
    record_event(session, request, "assigned", principal.actor, now, team=team, handler=handler[1] if handler else None)
    _audit(
        session,
        request,
        "assigned",
        principal.actor,
        {"team": request.team, "handler_id": request.handler_id, "before": before},
    )
    return request


def note(session: Session, principal: Principal, number: str, text: str) -> ServiceRequest:
    """An internal note (never sent to the customer)."""
    _begin(session, principal)
    request = get_request(session, number, lock=True)
    _writable(request, "note")
    body = clean_text(text, "text", True)
    now = utc_now()
    _touch(request, now)
    record_event(session, request, "noted", principal.actor, now, text=body)
    _audit(session, request, "noted", principal.actor, {"length": len(body or "")})
    return request


def _articles(session: Session, ids: list[int]) -> list[int]:
    wanted = list(dict.fromkeys(ids))
    if not wanted:
        return []
    known = set(session.execute(select(KbArticle.id).where(KbArticle.id.in_(wanted))).scalars())
    missing = [i for i in wanted if i not in known]
    if missing:
        raise Invalid("articles_used", f"no knowledge-base article {missing[0]} at this insurer")
    return wanted


def contact_of(request: ServiceRequest) -> notify_repository.Contact:
    return notify_repository.Contact(
        claim_id=None,
        tenant_id=request.tenant_id,
        number=request.number,
        line="",
        name=request.customer_name_masked or "",
        phone_enc=request.phone_enc,
        phone_hash=request.phone_hash,
        # e-mail columns when the model has them (see /work/notes/wt17_h1_needs.md); else SMS only
        email_enc=getattr(request, "email_enc", None),
        email_hash=getattr(request, "email_hash", None),
        reported_at=request.received_at,
    )


def reply(
    session: Session,
    principal: Principal,
    number: str,
    text: str,
    *,
    articles_used: list[int] | None = None,
    channels: list[str] | None = None,
) -> ServiceRequest:
    """A reply to the customer through the outbox (``service_reply``: SMS, and e-mail when known). The first reply
    sets ``first_response_at`` and stops the first-response clock. ``articles_used``: the knowledge-base
    articles the answer came from (kept on the request)."""
    tenant_id = _begin(session, principal)
    request = get_request(session, number, lock=True)
    _writable(request, "reply")
    body = clean_text(text, "text", True) or ""
    used = _articles(session, articles_used or [])
    for channel in channels or ():
        if channel not in ("sms", "email"):
            raise Invalid("channels", f"unknown channel {channel!r} (known: sms, email)")
    contact = contact_of(request)
    if not (contact.phone_enc or contact.email_enc):
        raise Invalid("customer", f"service request {number} has no phone or e-mail to reply to: write a note")
    now = utc_now()
    sequence = sum(1 for kind in repository.event_kinds(session, request.id) if kind == "replied") + 1
    locale = get_settings().default_locale
    catalogue = categories.for_tenant(session, tenant_id)
    messages = notify_service.enqueue_to_contact(
        session,
        contact,
        template=REPLY_TEMPLATE,
        context={"reply": body, "category_label": catalogue.category_label(request.category, locale)},
        channels=list(channels) if channels else ["sms", "email"],
        idempotency_key=f"servicedesk:{request.number}:reply:{sequence}",
        locale=locale,
        about_status=request.status,
    )
    if not messages:
        raise Invalid("channels", f"service request {number} has no address for the channels asked for")
    first = request.first_response_at is None
    if first:
        request.first_response_at = now
        clocks.on_first_response(session, request, now)
    if request.status == "open":
        request.status = "in_progress"
    if used:
        request.articles_used = [*request.articles_used, *(i for i in used if i not in request.articles_used)]
    _touch(request, now)
    record_event(
        session,
        request,
        "replied",
        principal.actor,
        now,
        text=body,
        message_id=messages[0].id,
        channels=[m.channel for m in messages],
        articles=used or None,
        first=first or None,
    )
    _audit(
        session,
        request,
        "replied",
        principal.actor,
        {"messages": [m.id for m in messages], "first_response": first, "articles_used": used},
    )
    return request


def wait_for_customer(session: Session, principal: Principal, number: str, reason: str | None = None) -> ServiceRequest:
    """Waiting on the customer (a document, an answer): the clocks pause."""
    _begin(session, principal)
    request = get_request(session, number, lock=True)
    if request.status not in ("open", "in_progress"):
        raise Conflict("status", f"service request {number} is {request.status}: cannot wait for the customer")
    text = clean_text(reason, "reason", False)
    now = utc_now()
    request.status = "waiting_customer"
    paused = clocks.pause(session, request, now)
    _touch(request, now)
    record_event(session, request, "waiting", principal.actor, now, text=text, paused=paused or None)
    _audit(session, request, "waiting", principal.actor, {"reason": text, "paused": paused})
    return request


def resume(session: Session, principal: Principal, number: str, reason: str | None = None) -> ServiceRequest:
    """The customer answered: the clocks count again."""
    _begin(session, principal)
    request = get_request(session, number, lock=True)
    if request.status != "waiting_customer":
        raise Conflict("status", f"service request {number} is {request.status}, not waiting for the customer")
    text = clean_text(reason, "reason", False)
    now = utc_now()
    request.status = "in_progress"
    resumed = clocks.resume(session, request, now)
    _touch(request, now)
    record_event(session, request, "resumed", principal.actor, now, text=text, resumed=resumed or None)
    _audit(session, request, "resumed", principal.actor, {"reason": text, "resumed": resumed})
    return request


def _first_contact(kinds: list[str]) -> bool:
    """Resolved at the first contact: at most one reply, never waiting on the customer, never reopened."""
    return kinds.count("replied") <= 1 and "waiting" not in kinds and "reopened" not in kinds


def resolve(
    session: Session,
    principal: Principal,
    number: str,
    resolution_code: str,
    note: str | None = None,
    first_contact_resolved: bool | None = None,
) -> ServiceRequest:
    """Resolved with a resolution code of the request's category; every open clock stops."""
    tenant_id = _begin(session, principal)
    request = get_request(session, number, lock=True)
    _open(request, "be resolved")
    category = categories.for_tenant(session, tenant_id).categories.get(request.category)
    codes = category.resolution_codes if category is not None else {}
    if not resolution_code:
        raise Invalid("resolution_code", "a resolution code is required")
    if resolution_code not in codes:
        raise Invalid(
            "resolution_code",
            f"unknown resolution code {resolution_code!r} for {request.category} (known: {', '.join(codes)})",
        )
    text = clean_text(note, "note", False)
    now = utc_now()
    first_contact = (
        _first_contact(repository.event_kinds(session, request.id))
        if first_contact_resolved is None
        else first_contact_resolved
    )
    request.status = "resolved"
    request.resolved_at = now
    request.resolution_code = resolution_code
    request.resolution_note = text
    request.first_contact_resolved = first_contact
    stopped = clocks.stop_all(session, request, now)
    _touch(request, now)
    record_event(session, request, "resolved", principal.actor, now, text=text, code=resolution_code, fcr=first_contact)
    _audit(
        session,
        request,
        "resolved",
        principal.actor,
        {"resolution_code": resolution_code, "first_contact_resolved": first_contact, "stopped": stopped},
    )
    return request


def close(session: Session, principal: Principal, number: str) -> ServiceRequest:
    """A resolved request closed (the customer had nothing more)."""
    _begin(session, principal)
    request = get_request(session, number, lock=True)
    if request.status != "resolved":
        raise Conflict("status", f"service request {number} is {request.status}: only a resolved one can be closed")
    now = utc_now()
    request.status = "closed"
    request.closed_at = now
    _touch(request, now)
    record_event(session, request, "closed", principal.actor, now)
    _audit(session, request, "closed", principal.actor, {})
    return request


def reopen(session: Session, principal: Principal, number: str, reason: str) -> ServiceRequest:
    """A resolved or closed request reopened with a reason: in progress again, a new resolution clock."""
    _begin(session, principal)
    request = get_request(session, number, lock=True)
    if request.status not in ("resolved", "closed"):
        raise Conflict("status", f"service request {number} is {request.status}: only a resolved or closed one reopens")
    text = clean_text(reason, "reason", True)
    now = utc_now()
    before = {"status": request.status, "resolution_code": request.resolution_code}
    request.status = "in_progress"
    request.resolved_at = None
    request.closed_at = None
    request.resolution_code = None
    request.resolution_note = None
    request.first_contact_resolved = None
    clocks.restart_resolution(session, request, now)
    _touch(request, now)
    record_event(session, request, "reopened", principal.actor, now, text=text)
    _audit(session, request, "reopened", principal.actor, {"reason": text, "before": before})
    return request


def cancel(session: Session, principal: Principal, number: str, reason: str) -> ServiceRequest:
    """Cancelled with a reason (a duplicate, a request withdrawn): the clocks end without a result."""
    _begin(session, principal)
    request = get_request(session, number, lock=True)
    _open(request, "be cancelled")
    text = clean_text(reason, "reason", True)
    now = utc_now()
    request.status = "cancelled"
    request.closed_at = now
    clocks.stop_all(session, request, now, void=True)
    _touch(request, now)
    record_event(session, request, "cancelled", principal.actor, now, text=text)
    _audit(session, request, "cancelled", principal.actor, {"reason": text})
    return request


def escalate_to_complaint(
    session: Session, principal: Principal, number: str, category: str, sub_cause: str | None = None
) -> Complaint:
    """The request becomes a complaint (投诉) through the complaint intake, with its text and customer; the
    complaint's ``external_ref`` is the request number, the request keeps ``complaint_id``. Needs
    HANDLE_COMPLAINTS as well. A complaint category the register does not know is :class:`Invalid`."""
    _begin(session, principal)
    principal.require(Permission.HANDLE_COMPLAINTS)
    request = get_request(session, number, lock=True)
    if request.status == "cancelled":
        raise Conflict("status", f"service request {number} is cancelled")
    if request.complaint_id is not None:
        raise Conflict("complaint", f"service request {number} was escalated already")
    cipher = field_cipher()
    claim_number = repository.claim_numbers(session, [request.claim_id]).get(request.claim_id or 0)
    try:
        data = complaint_schemas.ComplaintIn(
            channel=COMPLAINT_CHANNEL.get(request.channel, "hotline"),
            external_ref=request.number,
            claim_number=claim_number,
            org_code=repository.org_code(session, request.org_unit_id),
            complainant=complaint_schemas.ComplainantIn(
                name=request.customer_name_masked,
                phone=cipher.decrypt(request.phone_enc),
                id_number=cipher.decrypt(request.id_number_enc),
            ),
            category=category,
            sub_cause=sub_cause,
            subject=request.subject,
            description=f"{request.description}\n\n（由服务请求 {request.number} 转投诉）",
        )
        complaint, _ = complaints_intake.intake(session, principal, data)
    except ComplaintError as exc:
        raise Invalid(exc.field, exc.message) from exc
    except ValidationError as exc:  # never quote the values: they are the customer's
        fields = sorted({".".join(str(part) for part in error["loc"]) for error in exc.errors()})
        raise Invalid(fields[0].split(".")[0], f"not a valid complaint: {', '.join(fields)}") from exc
    now = utc_now()
    request.complaint_id = complaint.id
    _touch(request, now)
    record_event(session, request, "escalated", principal.actor, now, complaint=complaint.number)
    _audit(
        session,
        request,
        "escalated",
        principal.actor,
        {"complaint": complaint.number, "category": category, "sub_cause": sub_cause},
    )
    return complaint
