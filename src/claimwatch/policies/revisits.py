"""Post-issue revisits (新契约回访, seed 002 承保后定期回访): every long-term life or health policy sold gets a
revisit due within its cooling-off period (犹豫期), so a customer who was misled can still cancel without loss.

* **Due.** ``due_on = signed_on + cooling_off_days − margin_days`` (``defaults/revisits/revisits.yaml``; per insurer
  ``<CLAIMWATCH_POLICY_OVERRIDES_DIR>/revisits/<TENANT_CODE>.yaml``). Scheduled when the sale is recorded
  (:func:`schedule_for_sale`, called by the sales service) and by the worker for sales that have none
  (:mod:`claimwatch.policies.revisit_jobs`).
* **Channel.** ``message`` when the sale came with the customer's phone: an outbox text (notify template
  ``policy_revisit``) asking for a reply ``1 <code>`` (understood) or ``2 <code>`` (not as explained); the phone is
  kept only in the encrypted outbox row. Otherwise ``call``: a task in the revisit queue of the service agents
  (WORK_REVISITS), in their to-do inbox until done.
* **Outcome.** understood | misled | unreachable (only after ``unreachable_after_attempts`` recorded attempts);
  notes are required for misled. A misled outcome opens an inspection finding on the sale: a single-subject plan
  ``REVISIT-<policy number>`` drawn at once (as :mod:`claimwatch.inspections.special` does for an alert), its
  inspection opened by the system and a major ``mis_selling`` finding recorded against the agent (which opens a
  rectification); the sale gets a ``revisit_misled`` flag. Every change is in the audit chain.
* **Overdue.** The worker marks revisits past ``due_on`` and not done ``overdue`` (still workable).

No HTTP here, no commits.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import re
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from claimwatch.audit import service as audit_service
from claimwatch.auth.principal import Permission, Principal, Role
from claimwatch.config import PACKAGE_DIR, tenant_override
from claimwatch.db import utc_now
from claimwatch.errors import Conflict, Forbidden, Invalid, NotFound
from claimwatch.inspections import findings as inspection_findings
from claimwatch.inspections import repository as inspections_repository
from claimwatch.inspections import scoring
from claimwatch.inspections import service as inspections_service
from claimwatch.inspections.models import Inspection, InspectionPlan
from claimwatch.inspections.schemas import PlanDefinition
from claimwatch.notify import repository as notify_repository
from claimwatch.notify import service as notify_service
from claimwatch.people.models import StaffMember
from claimwatch.policies import sales
from claimwatch.policies.models import PolicyRevisit, PolicySale, SaleFlag
from claimwatch.privacy import derive_key, field_cipher, keyed_hash, scrub_text
from claimwatch.tenancy import repository as tenancy_repository
from claimwatch.tenancy.service import tenant_zone
from claimwatch.web.i18n import N_
from claimwatch.yaml_source import ConfigFileError, Mapping, Sequence, line_of
from claimwatch.yaml_source import load as load_yaml

DEFAULTS = PACKAGE_DIR / "defaults" / "revisits" / "revisits.yaml"
OVERRIDES_SUBDIR = "revisits"
SYSTEM_ACTOR = "system:revisit"
TEMPLATE = "policy_revisit"
PLAN_SOURCE = "revisit"
SCORECARD = "sale"  # the sales scorecard (defaults/inspections/scorecards/sale.yaml)
FLAG_RULE = "revisit_misled"
FINDING_SEVERITY = "major"
FINDING_CATEGORY = "mis_selling"
MAX_NOTES = 2000

MESSAGE, CALL = "message", "call"
CHANNELS: dict[str, str] = {MESSAGE: N_("Text message"), CALL: N_("Phone call")}
DUE, IN_PROGRESS, DONE, OVERDUE = "due", "in_progress", "done", "overdue"
STATUSES: dict[str, str] = {
    DUE: N_("Due"),
    IN_PROGRESS: N_("In progress"),
    OVERDUE: N_("Overdue"),
    DONE: N_("Done"),
}
OPEN = (DUE, IN_PROGRESS, OVERDUE)
UNDERSTOOD, MISLED, UNREACHABLE = "understood", "misled", "unreachable"
OUTCOMES: dict[str, str] = {
    UNDERSTOOD: N_("Understood"),
    MISLED: N_("Misled"),
    UNREACHABLE: N_("Unreachable"),
}
# The customer's reply to the message: 1 understood, 2 not as explained.
REPLIES = {"1": UNDERSTOOD, "2": MISLED}
_REPLY_CODE = re.compile(r"^([1-9][0-9]{0,17})-([0-9A-F]{4})$")


class RevisitSettingsError(ConfigFileError):
    """revisits.yaml (or an insurer's override) is invalid; ``str()`` is ``file:line: problem``."""


@dataclass(frozen=True)
class RevisitSettings:
    lines: tuple[str, ...] = ("life", "health")
    margin_days: int = 3
    unreachable_after_attempts: int = 3
    schedule_lookback_days: int = 60
    source: str = ""


_INT_KEYS = {
    "margin_days": (0, 60),
    "unreachable_after_attempts": (1, 20),
    "schedule_lookback_days": (1, 3660),
}


def parse_settings(text: str, source: str, base: RevisitSettings | None = None) -> RevisitSettings:
    """The settings file (or an override of ``base``); every error names file and line."""
    document = load_yaml(text, source, RevisitSettingsError)
    base = base or RevisitSettings(source=source)
    if document is None:
        return base
    if not isinstance(document, Mapping):
        raise RevisitSettingsError(source, 1, "the file is a mapping (lines, margin_days, …)")
    values: dict[str, Any] = {}
    for key, value in document.items():
        line = line_of(document, key)
        if key == "lines":
            if not isinstance(value, Sequence) or not value or not all(isinstance(v, str) and v for v in value):
                raise RevisitSettingsError(source, line, "'lines' is a non-empty list of lines of business")
            values["lines"] = tuple(str(v) for v in value)
        elif key in _INT_KEYS:
            low, high = _INT_KEYS[key]
            if not isinstance(value, int) or isinstance(value, bool) or not low <= value <= high:
                raise RevisitSettingsError(source, line, f"'{key}' is a whole number from {low} to {high}")
            values[key] = value
        else:
            allowed = ", ".join(["lines", *_INT_KEYS])
            raise RevisitSettingsError(source, line, f"unknown key {key!r} (allowed: {allowed})")
    return RevisitSettings(
        lines=values.get("lines", base.lines),
        margin_days=values.get("margin_days", base.margin_days),
        unreachable_after_attempts=values.get("unreachable_after_attempts", base.unreachable_after_attempts),
        schedule_lookback_days=values.get("schedule_lookback_days", base.schedule_lookback_days),
        source=source,
    )


@lru_cache
def default_settings() -> RevisitSettings:
    return parse_settings(DEFAULTS.read_text(encoding="utf-8"), str(DEFAULTS))


def settings_for(tenant_code: str) -> RevisitSettings:
    """The defaults with the insurer's override file applied, if it has one."""
    base = default_settings()
    path = tenant_override(OVERRIDES_SUBDIR, tenant_code)
    if path is None:
        return base
    return parse_settings(path.read_text(encoding="utf-8"), str(path), base)


def tenant_settings(session: Session, tenant_id: int) -> RevisitSettings:
    tenant = tenancy_repository.tenant_by_id(session, tenant_id)
    return settings_for(tenant.code) if tenant is not None else default_settings()


# -- due dates, codes ------------------------------------------------------------------------------------


def needs_revisit(sale: PolicySale, settings: RevisitSettings) -> bool:
    """Long-term life and health policies (the configured lines), not cancelled."""
    return bool(sale.long_term) and sale.line in settings.lines and sale.cancelled_on is None


def cooling_off_until(sale: PolicySale) -> dt.date:
    return sale.signed_on + dt.timedelta(days=sale.cooling_off_days)


def due_on(sale: PolicySale, settings: RevisitSettings) -> dt.date:
    """``margin_days`` before the cooling-off period ends, never before the signing day."""
    return max(sale.signed_on, cooling_off_until(sale) - dt.timedelta(days=settings.margin_days))


def _check_digits(tenant_id: int, revisit_id: int) -> str:
    return (
        hmac.new(derive_key("revisit-reply-code"), f"revisit:{tenant_id}:{revisit_id}".encode(), hashlib.sha256)
        .hexdigest()[:4]
        .upper()
    )


def reply_code(revisit: PolicyRevisit) -> str:
    """What the customer quotes in the reply: the revisit's id and 4 check characters (a typo or a guess of
    another revisit's id does not match)."""
    return f"{revisit.id}-{_check_digits(revisit.tenant_id, revisit.id)}"


def revisit_by_reply_code(session: Session, tenant_id: int, code: str) -> PolicyRevisit:
    match = _REPLY_CODE.match((code or "").strip().upper())
    if match is None or not hmac.compare_digest(match.group(2), _check_digits(tenant_id, int(match.group(1)))):
        raise NotFound("reply_code", "no revisit has this reply code")
    return get(session, int(match.group(1)))


# -- reads -----------------------------------------------------------------------------------------------


def get(session: Session, revisit_id: int) -> PolicyRevisit:
    found = session.get(PolicyRevisit, revisit_id)
    if found is None:
        raise NotFound("revisit", f"no revisit {revisit_id}")
    return found


def for_sale(session: Session, sale_id: int) -> PolicyRevisit | None:
    return session.execute(select(PolicyRevisit).where(PolicyRevisit.sale_id == sale_id)).scalar_one_or_none()


def _sale(session: Session, revisit: PolicyRevisit) -> PolicySale:
    sale = session.get(PolicySale, revisit.sale_id)
    if sale is None:  # pragma: no cover - a foreign key
        raise NotFound("sale", f"no sale {revisit.sale_id}")
    return sale


def _audit(session: Session, revisit: PolicyRevisit, sale: PolicySale, kind: str, actor: str, **extra: Any) -> int:
    payload = {
        "revisit": revisit.id,
        "policy_number": sale.policy_number,
        "channel": revisit.channel,
        "status": revisit.status,
        "due_on": revisit.due_on.isoformat(),
    } | {key: value for key, value in extra.items() if value is not None}
    return audit_service.record(
        session, revisit.tenant_id, f"policies.revisit_{kind}", f"revisit:{revisit.id}", actor, payload
    )


# -- scheduling ------------------------------------------------------------------------------------------


def template_available() -> bool:
    return TEMPLATE in notify_service.TEMPLATES


def schedule_for_sale(
    session: Session,
    sale: PolicySale,
    *,
    actor: str,
    customer_phone: str | None = None,
    now: dt.datetime | None = None,
) -> PolicyRevisit | None:
    """The sale's revisit, created unless it exists (idempotent); None for a sale that needs none. With the
    customer's phone the revisit goes by text message at once (the phone stays only in the encrypted outbox row),
    else it is a call task. Audited."""
    settings = tenant_settings(session, sale.tenant_id)
    if not needs_revisit(sale, settings):
        return None
    existing = for_sale(session, sale.id)
    if existing is not None:
        return existing
    now = now or utc_now()
    phone = (customer_phone or "").strip() or None
    channel = MESSAGE if phone and template_available() else CALL
    revisit = PolicyRevisit(
        tenant_id=sale.tenant_id,
        sale_id=sale.id,
        channel=channel,
        due_on=due_on(sale, settings),
        status=DUE,
        attempts=0,
        created_at=now,
    )
    session.add(revisit)
    session.flush()
    if channel == MESSAGE and phone is not None:
        message = _send_message(session, revisit, sale, phone, now)
        revisit.message_id = message.id if message is not None else None
        revisit.attempts = 1
        revisit.status = IN_PROGRESS
    _audit(session, revisit, sale, "scheduled", actor, message=revisit.message_id)
    session.flush()
    return revisit


def _send_message(
    session: Session, revisit: PolicyRevisit, sale: PolicySale, phone: str, now: dt.datetime
) -> Any | None:
    contact = notify_repository.Contact(
        claim_id=None,
        tenant_id=sale.tenant_id,
        number=sale.policy_number,
        line="",
        name=sale.customer_name_masked or "",
        phone_enc=field_cipher().encrypt(phone),
        phone_hash=keyed_hash(phone),
        email_enc=None,
        email_hash=None,
        reported_at=now,
    )
    messages = notify_service.enqueue_to_contact(
        session,
        contact,
        template=TEMPLATE,
        context={
            "product_name": sale.product_name,
            "signed_on": sale.signed_on.isoformat(),
            "cooling_off_until": cooling_off_until(sale).isoformat(),
            "reply_code": reply_code(revisit),
        },
        channels=["sms"],
        idempotency_key=f"revisit:{revisit.id}",
        event_ref=f"revisit:{revisit.id}",
    )
    return messages[0] if messages else None


# -- working a revisit -----------------------------------------------------------------------------------


def _worker(principal: Principal) -> None:
    if principal.tenant_id is None or principal.is_regulator:
        raise Forbidden("tenant", "revisits belong to one insurer")
    if not principal.can(Permission.WORK_REVISITS):
        raise Forbidden("role", f"role {principal.role.value!r} may not work revisits")


def _open_revisit(session: Session, principal: Principal, revisit_id: int) -> tuple[PolicyRevisit, PolicySale]:
    _worker(principal)
    revisit = get(session, revisit_id)
    if revisit.status == DONE:
        raise Conflict("status", f"revisit {revisit_id} is done ({revisit.outcome})")
    return revisit, _sale(session, revisit)


def _clean_notes(notes: str | None) -> str | None:
    text = (notes or "").strip()
    if len(text) > MAX_NOTES:
        raise Invalid("notes", f"at most {MAX_NOTES} characters")
    return scrub_text(text) or None


def take(session: Session, principal: Principal, revisit_id: int, now: dt.datetime | None = None) -> PolicyRevisit:
    """Assign the revisit to me (a call task taken from the queue). Audited."""
    revisit, sale = _open_revisit(session, principal, revisit_id)
    if principal.user_id is None:
        raise Forbidden("user", "only a signed-in user takes a revisit")
    if revisit.assignee_id != principal.user_id:
        revisit.assignee_id = principal.user_id
        _audit(session, revisit, sale, "taken", principal.actor, assignee=principal.actor)
        session.flush()
    return revisit


def record_attempt(
    session: Session, principal: Principal, revisit_id: int, *, notes: str | None = None, now: dt.datetime | None = None
) -> PolicyRevisit:
    """A call that reached nobody (or a message sent again by hand): one more attempt. Audited."""
    revisit, sale = _open_revisit(session, principal, revisit_id)
    text = _clean_notes(notes)
    revisit.attempts += 1
    if revisit.status == DUE:
        revisit.status = IN_PROGRESS
    if revisit.assignee_id is None and principal.user_id is not None:
        revisit.assignee_id = principal.user_id
    if text:
        revisit.notes = text
    _audit(session, revisit, sale, "attempt", principal.actor, attempts=revisit.attempts, notes=text)
    session.flush()
    return revisit


def record_outcome(
    session: Session,
    principal: Principal,
    revisit_id: int,
    *,
    outcome: str,
    notes: str | None = None,
    now: dt.datetime | None = None,
) -> PolicyRevisit:
    """The revisit's outcome; refused naming the field (nothing written): an unknown outcome, a misled one without
    notes, unreachable before the configured number of attempts, a revisit already done. Misled opens the finding
    and flags the sale."""
    revisit, sale = _open_revisit(session, principal, revisit_id)
    return _complete(session, revisit, sale, outcome, notes, principal.actor, principal.user_id, now or utc_now())


def record_reply(
    session: Session, principal: Principal, code: str, answer: str, now: dt.datetime | None = None
) -> PolicyRevisit:
    """The customer's reply to the text message, as the SMS gateway's integration (or an agent) passes it on:
    ``1`` understood, ``2`` not as explained (misled, the reply quoted as the notes)."""
    _worker_or_integration(principal)
    assert principal.tenant_id is not None
    outcome = REPLIES.get((answer or "").strip())
    if outcome is None:
        raise Invalid("answer", "the reply is 1 (understood) or 2 (not as explained)")
    revisit = revisit_by_reply_code(session, principal.tenant_id, code)
    if revisit.status == DONE:
        raise Conflict("status", f"revisit {revisit.id} is done ({revisit.outcome})")
    sale = _sale(session, revisit)
    notes = "客户短信回复 2：与销售说明不符 (customer replied 2: not as explained)" if outcome == MISLED else None
    return _complete(session, revisit, sale, outcome, notes, principal.actor, None, now or utc_now(), reply=True)


def _worker_or_integration(principal: Principal) -> None:
    if principal.tenant_id is None or principal.is_regulator:
        raise Forbidden("tenant", "revisits belong to one insurer")
    if not (principal.can(Permission.WORK_REVISITS) or principal.role is Role.INTEGRATION):
        raise Forbidden("role", f"role {principal.role.value!r} may not record revisit replies")


def _complete(
    session: Session,
    revisit: PolicyRevisit,
    sale: PolicySale,
    outcome: str,
    notes: str | None,
    actor: str,
    user_id: int | None,
    now: dt.datetime,
    reply: bool = False,
) -> PolicyRevisit:
    if outcome not in OUTCOMES:
        raise Invalid("outcome", f"the outcome is one of {', '.join(OUTCOMES)}, not {outcome!r}")
    text = _clean_notes(notes)
    if outcome == MISLED and not text:
        raise Invalid("notes", "say what the customer was misled about")
    if outcome == UNREACHABLE:
        needed = tenant_settings(session, revisit.tenant_id).unreachable_after_attempts
        if revisit.attempts < needed:
            raise Invalid(
                "outcome",
                f"unreachable only after {needed} recorded attempts ({revisit.attempts} so far): record the attempt",
            )
    was = revisit.status
    revisit.outcome = outcome
    revisit.status = DONE
    revisit.notes = text or revisit.notes
    revisit.completed_by = actor
    revisit.completed_at = now
    if revisit.assignee_id is None and user_id is not None:
        revisit.assignee_id = user_id
    finding_number = None
    if outcome == MISLED:
        finding = open_finding(session, revisit, sale, text or "", now)
        revisit.finding_id = finding.id
        finding_number = finding.number
        _flag_sale(session, revisit, sale, finding.id, finding_number, now)
    session.flush()
    _audit(
        session,
        revisit,
        sale,
        "outcome",
        actor,
        outcome=outcome,
        was=was,
        attempts=revisit.attempts,
        notes=text,
        finding=finding_number,
        reply=True if reply else None,
        within_cooling_off=now.astimezone(tenant_zone(session, revisit.tenant_id)).date() <= cooling_off_until(sale),
    )
    return revisit


# -- misled: the finding and the flag --------------------------------------------------------------------


def system_principal(tenant_id: int) -> Principal:
    """Who opens the revisit's inspection and records its finding (the audit chain names it)."""
    return Principal(role=Role.QUALITY_MANAGER, tenant_id=tenant_id, actor=SYSTEM_ACTOR)


def plan_code(sale: PolicySale) -> str:
    code = f"REVISIT-{sale.policy_number}"
    return code if len(code) <= 64 else f"REVISIT-S{sale.id}"


def finding_category() -> str:
    return FINDING_CATEGORY if FINDING_CATEGORY in inspection_findings.CATEGORIES else "conduct"


def _agent(session: Session, sale: PolicySale) -> StaffMember | None:
    return session.get(StaffMember, sale.agent_id) if sale.agent_id is not None else None


def _inspection(session: Session, sale: PolicySale, revisit: PolicyRevisit, now: dt.datetime) -> Inspection:
    """The sale's inspection of its REVISIT- plan: the plan created and drawn at once unless it exists (one per
    sale), and the inspection opened by the system so that the finding can be recorded on it."""
    principal = system_principal(sale.tenant_id)
    code = plan_code(sale)
    plan = inspections_repository.plan_by_code(session, code)
    if plan is None:
        definition = PlanDefinition.model_validate(
            {
                "code": code,
                "name": f"新契约回访 · 误导销售 · {sale.policy_number}"[:200],
                "subject_kind": "sale",
                "scorecard": SCORECARD,
                "population": {"policy_number": sale.policy_number},
                "method": "targeted",
                "target": {"rule": "all"},
                "review_share": 0,
            }
        )
        plan = inspections_service.create_plan(
            session, principal, definition, source=PLAN_SOURCE, source_ref=str(revisit.id)
        )
        inspections_service.draw_sample(session, principal, plan.id, now=now)
    return _plan_inspection(session, plan, sale, now)


def _plan_inspection(session: Session, plan: InspectionPlan, sale: PolicySale, now: dt.datetime) -> Inspection:
    inspection = session.execute(
        select(Inspection)
        .where(Inspection.plan_id == plan.id, Inspection.subject_kind == "sale", Inspection.subject_id == sale.id)
        .order_by(Inspection.id.desc())
        .limit(1)
    ).scalar_one_or_none()
    if inspection is None:
        raise Conflict("inspection", f"plan {plan.code!r} holds no inspection of sale {sale.policy_number}")
    if inspection.status == scoring.ASSIGNED:
        # What scoring.start does for the inspector: here the revisit opens it (no inspector has to).
        inspection.status, inspection.started_at = scoring.IN_PROGRESS, now
        inspection.scorecard_digest = scoring.card_of(inspection).digest
        audit_service.record(
            session,
            inspection.tenant_id,
            "inspection.started",
            f"inspection:{inspection.id}",
            SYSTEM_ACTOR,
            {"inspection": inspection.id, "subject": f"sale:{sale.id}", "at": now.isoformat(), "by": "revisit"},
        )
        session.flush()
    return inspection


def open_finding(session: Session, revisit: PolicyRevisit, sale: PolicySale, notes: str, now: dt.datetime) -> Any:
    """A major mis-selling finding on the sale, the agent (their platform user, else the sale's org unit)
    responsible; a rectification follows (findings above 一般 open one)."""
    inspection = _inspection(session, sale, revisit, now)
    agent = _agent(session, sale)
    agent_label = f"{agent.code} {agent.name}" if agent is not None else "—"
    description = (
        f"新契约回访（{revisit.channel}）：客户表示销售说明与实际不符。保单 {sale.policy_number}，"
        f"{sale.product_name}，签单 {sale.signed_on.isoformat()}，业务员 {agent_label}。回访记录：{notes}"
    )
    return inspection_findings.record_finding(
        session,
        system_principal(sale.tenant_id),
        inspection.id,
        severity=FINDING_SEVERITY,
        category=finding_category(),
        description=description[: inspection_findings.MAX_DESCRIPTION],
        responsible_user_id=agent.user_id if agent is not None else None,
        responsible_org_unit_id=sale.org_unit_id or (agent.org_unit_id if agent is not None else None),
        at=now,
    )


def _flag_sale(
    session: Session, revisit: PolicyRevisit, sale: PolicySale, finding_id: int, finding_number: str, now: dt.datetime
) -> SaleFlag:
    flag, _ = sales.flag_sale(
        session,
        sale,
        FLAG_RULE,
        {"revisit": revisit.id, "finding": finding_number},
        actor=SYSTEM_ACTOR,
        at=now,
        finding_id=finding_id,
    )
    return flag


# -- the worker's pass -----------------------------------------------------------------------------------


def schedule_missing(session: Session, tenant_id: int, now: dt.datetime) -> int:
    """Revisits for the long-term sales signed within the lookback that have none yet (call tasks: no phone
    here). Returns how many were created."""
    settings = tenant_settings(session, tenant_id)
    today = now.astimezone(tenant_zone(session, tenant_id)).date()
    since = today - dt.timedelta(days=settings.schedule_lookback_days)
    sales = session.scalars(
        select(PolicySale)
        .outerjoin(PolicyRevisit, PolicyRevisit.sale_id == PolicySale.id)
        .where(
            PolicySale.tenant_id == tenant_id,
            PolicySale.long_term.is_(True),
            PolicySale.line.in_(settings.lines),
            PolicySale.cancelled_on.is_(None),
            PolicySale.signed_on >= since,
            PolicyRevisit.id.is_(None),
        )
        .order_by(PolicySale.id)
    ).all()
    made = 0
    for sale in sales:
        if schedule_for_sale(session, sale, actor=SYSTEM_ACTOR, now=now) is not None:
            made += 1
    return made


def mark_overdue(session: Session, tenant_id: int, now: dt.datetime) -> int:
    """Open revisits whose due day has passed (the tenant's local date) become ``overdue``; each audited."""
    today = now.astimezone(tenant_zone(session, tenant_id)).date()
    rows = session.execute(
        select(PolicyRevisit, PolicySale)
        .join(PolicySale, PolicySale.id == PolicyRevisit.sale_id)
        .where(
            PolicyRevisit.tenant_id == tenant_id,
            PolicyRevisit.status.in_((DUE, IN_PROGRESS)),
            PolicyRevisit.due_on < today,
        )
        .order_by(PolicyRevisit.id)
    ).all()
    for revisit, sale in rows:
        revisit.status = OVERDUE
        _audit(session, revisit, sale, "overdue", SYSTEM_ACTOR, today=today.isoformat())
    session.flush()
    return len(rows)
