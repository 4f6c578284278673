"""Catastrophe events (大灾): declared by an admin (API, CLI or page) and audited; the claims they cover join
their green channel.

A claim is covered when its region is one of the event's, its line one of the event's lines (none listed:
every line) and its accident date (local; the report date when the report gave none) falls in the event's
period. A covered claim carries the event (``claims.catastrophe_id``) and priority 3, the highest; an open one
is put on the green route unless it waits for manual review (the precedence manual_review > green >
fast_track > normal). Claims already reported when the event is declared or widened join at once (closed ones
only carry the event, for its figures); new claims join at report time (:func:`join_reported`, called by
the triage reaction). A declaration is an admin's explicit act with its own audit entry, so it acts in the
rule set's monitor mode as well.

Advance payment (先予支付, 保险法 art. 25): the handler of a joined claim gets a staff notice to consider paying
the part that can be determined — when the claim joins if it has a handler, else when it is assigned — and
the claim page shows the prompt while nothing is paid (:func:`advance_payment_prompt`).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import re
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from claimwatch.audit import service as audit_service
from claimwatch.auth.principal import Permission, Principal
from claimwatch.cases.events import CaseChange
from claimwatch.cases.models import CaseEvent, Claim
from claimwatch.cases.schemas import IDENTIFIER_PATTERN, EventType
from claimwatch.db import utc_now
from claimwatch.errors import Conflict, Forbidden, Invalid, NotFound
from claimwatch.notify import staff_notices as notify_staff_notices
from claimwatch.risk.facts import ClaimFacts
from claimwatch.sla import service as sla_service
from claimwatch.tenancy import service as tenancy_service
from claimwatch.triage.catastrophe_models import KINDS, Catastrophe, OpenEvent
from claimwatch.workflow import service as workflow_service

PRIORITY = 3  # catastrophe; 2 major case; 1 vulnerable customer; 0 normal
GREEN = "green"
# Routes a joining claim leaves for the green channel; manual_review (and green itself) stay.
_YIELDS_TO_GREEN = ("normal", "fast_track")
ADVANCE_PAYMENT_KIND = "advance_payment"
SYSTEM_ACTOR = "system:triage"
MAX_PERIOD_DAYS = 366
MAX_REGIONS = 40
MAX_NAME = 200
MAX_NOTE = 2000
AUDIT_LISTED = 2000  # claim numbers listed in a declaration's audit entry (all of them are hashed)
_CODE = re.compile(IDENTIFIER_PATTERN)
_CHUNK = 500

Event = Catastrophe | OpenEvent  # a row, or the report-time path's cached copy


@dataclass(frozen=True)
class Declaration:
    code: str
    name: str
    kind: str
    region_codes: Sequence[str]
    starts_on: dt.date
    ends_on: dt.date | None = None
    lines: Sequence[str] = ()
    name_en: str | None = None
    note: str | None = None


@dataclass(frozen=True)
class Joined:
    event: Catastrophe
    claims: int  # claims that joined now (open and closed)
    green: int  # of which open claims put on the green route or raised to priority 3
    audit_seq: int


# -- validation ---------------------------------------------------------------------------------------------


def _tenant(principal: Principal) -> int:
    if principal.tenant_id is None:
        raise Forbidden("tenant", "a catastrophe event belongs to one insurer; this account belongs to none")
    return principal.tenant_id


def _regions(codes: Iterable[str]) -> list[str]:
    cleaned = sorted({code.strip() for code in codes if code and code.strip()})
    if not cleaned:
        raise Invalid("region_codes", "name at least one region code (GB/T 2260, e.g. 440000)")
    if len(cleaned) > MAX_REGIONS:
        raise Invalid("region_codes", f"at most {MAX_REGIONS} regions")
    known = tenancy_service.region_codes()
    unknown = [code for code in cleaned if code not in known]
    if unknown:
        raise Invalid("region_codes", f"unknown region code {unknown[0]!r} (GB/T 2260 province codes, e.g. 440000)")
    return cleaned


def _lines(lines: Iterable[str]) -> list[str]:
    cleaned = sorted({line.strip() for line in lines if line and line.strip()})
    known = set(workflow_service.lines())
    for line in cleaned:
        if line not in known:
            raise Invalid("lines", f"unknown line of business {line!r} (known: {', '.join(sorted(known))})")
    return cleaned


def _period(starts_on: dt.date, ends_on: dt.date | None) -> None:
    if ends_on is not None and ends_on < starts_on:
        raise Invalid("ends_on", "the event ends before it starts")
    if ends_on is not None and (ends_on - starts_on).days >= MAX_PERIOD_DAYS:
        raise Invalid("ends_on", f"an event lasts at most {MAX_PERIOD_DAYS} days")
    if not 2000 <= starts_on.year <= 2999:
        raise Invalid("starts_on", "the start date must be from 2000 on")


def _validated(decl: Declaration) -> Declaration:
    code = (decl.code or "").strip()
    if not code or len(code) > 32 or not _CODE.match(code):
        raise Invalid("code", "the code is 1-32 letters, digits, '.', '_' or '-' (e.g. TY-2026-09)")
    name = (decl.name or "").strip()
    if not name or len(name) > MAX_NAME:
        raise Invalid("name", f"a name of 1-{MAX_NAME} characters is required")
    if decl.kind not in KINDS:
        raise Invalid("kind", f"kind must be one of {', '.join(KINDS)}, not {decl.kind!r}")
    _period(decl.starts_on, decl.ends_on)
    note = (decl.note or "").strip()
    if len(note) > MAX_NOTE:
        raise Invalid("note", f"the note is at most {MAX_NOTE} characters")
    return Declaration(
        code=code,
        name=name,
        kind=decl.kind,
        region_codes=_regions(decl.region_codes),
        starts_on=decl.starts_on,
        ends_on=decl.ends_on,
        lines=_lines(decl.lines),
        name_en=(decl.name_en or "").strip()[:MAX_NAME] or None,
        note=note or None,
    )


def _described(event: Catastrophe) -> dict[str, Any]:
    return {
        "code": event.code,
        "name": event.name_zh,
        "name_en": event.name_en,
        "kind": event.kind,
        "region_codes": list(event.region_codes or []),
        "lines": list(event.lines or []),
        "starts_on": event.starts_on.isoformat(),
        "ends_on": event.ends_on.isoformat() if event.ends_on else None,
        "note": event.note,
    }


# -- declaring and amending -----------------------------------------------------------------------------------


def declare(session: Session, principal: Principal, decl: Declaration, now: dt.datetime | None = None) -> Joined:
    """Declare an event (audited) and let the claims it covers join its green channel. A refusal (unknown
    region code, line, kind; a period running backwards; a code in use) changes nothing."""
    principal.require(Permission.DECLARE_CATASTROPHES)
    tenant_id = _tenant(principal)
    decl = _validated(decl)
    now = now or utc_now()
    writer = audit_service.open_chain(session, tenant_id)  # the chain first: it orders concurrent writers
    writer.close()
    if by_code(session, decl.code) is not None:
        raise Conflict("code", f"a catastrophe event {decl.code!r} was already declared")
    event = Catastrophe(
        tenant_id=tenant_id,
        code=decl.code,
        name_zh=decl.name,
        name_en=decl.name_en,
        kind=decl.kind,
        region_codes=list(decl.region_codes),
        lines=list(decl.lines),
        starts_on=decl.starts_on,
        ends_on=decl.ends_on,
        note=decl.note,
        declared_by=principal.actor,
        declared_at=now,
        updated_by=principal.actor,
        updated_at=now,
    )
    session.add(event)
    return _join_and_record(session, principal.actor, event, now, "triage.catastrophe_declared", {})


def amend(
    session: Session,
    principal: Principal,
    event_id: int,
    *,
    ends_on: dt.date | None = None,
    clear_end: bool = False,
    region_codes: Sequence[str] | None = None,
    lines: Sequence[str] | None = None,
    note: str | None = None,
    now: dt.datetime | None = None,
) -> Joined:
    """Change an event's end date, regions, lines or note (audited, with the values before). Claims that the
    event now covers join it; claims that joined stay with it (their handling has started)."""
    principal.require(Permission.DECLARE_CATASTROPHES)
    tenant_id = _tenant(principal)
    now = now or utc_now()
    audit_service.open_chain(session, tenant_id).close()
    event = session.get(Catastrophe, event_id)
    if event is None or event.tenant_id != tenant_id:
        raise NotFound("catastrophe", f"no catastrophe event {event_id}")
    before = _described(event)
    # Everything is checked before anything changes.
    new_end = None if clear_end else (ends_on if ends_on is not None else event.ends_on)
    _period(event.starts_on, new_end)
    new_regions = _regions(region_codes) if region_codes is not None else list(event.region_codes or [])
    new_lines = _lines(lines) if lines is not None else list(event.lines or [])
    new_note = event.note if note is None else (note.strip() or None)
    if new_note is not None and len(new_note) > MAX_NOTE:
        raise Invalid("note", f"the note is at most {MAX_NOTE} characters")
    event.ends_on, event.region_codes, event.lines, event.note = new_end, new_regions, new_lines, new_note
    event.updated_by = principal.actor
    event.updated_at = now
    return _join_and_record(session, principal.actor, event, now, "triage.catastrophe_amended", {"before": before})


def _join_and_record(
    session: Session, actor: str, event: Catastrophe, now: dt.datetime, kind: str, extra: dict[str, Any]
) -> Joined:
    """The claims the event now covers join it; then the act goes into the audit chain with what joined."""
    session.flush()
    numbers, green = _join_existing(session, event.tenant_id, event, now, actor)
    ordered = sorted(numbers)
    seq = audit_service.record(
        session,
        event.tenant_id,
        kind,
        event.code,
        actor,
        {**_described(event), **extra, **_joined_payload(ordered, green)},
    )
    return Joined(event, len(ordered), green, seq)


def _joined_payload(ordered: list[str], green: int) -> dict[str, Any]:
    return {
        "joined": len(ordered),
        "joined_green": green,
        "joined_sha256": hashlib.sha256("\n".join(ordered).encode()).hexdigest(),
        "joined_claims": ordered[:AUDIT_LISTED],
    }


# -- reading ----------------------------------------------------------------------------------------------------


def by_code(session: Session, code: str) -> Catastrophe | None:
    return session.execute(select(Catastrophe).where(Catastrophe.code == code)).scalar_one_or_none()


def active_events(session: Session, since: dt.date) -> list[Catastrophe]:
    """Events still open on ``since`` or later (no end, or an end on/after it): those a new claim may join."""
    return list(
        session.execute(
            select(Catastrophe)
            .where((Catastrophe.ends_on.is_(None)) | (Catastrophe.ends_on >= since))
            .order_by(Catastrophe.starts_on, Catastrophe.id)
        ).scalars()
    )


_CACHED: dict[tuple[str, int], tuple[Any, tuple[OpenEvent, ...]]] = {}


def cached_events(session: Session, key: tuple[str, int], etag: Any, since: dt.date) -> list[OpenEvent]:
    """The insurer's events open on ``since`` or later, from a per-process copy kept while ``etag`` (the
    insurer's count, last id and last change of events: ``triage.repository.tenant_state``) is the same:
    the report-time path reads no event rows while nothing was declared, changed or ended."""
    cached = _CACHED.get(key)
    if cached is None or cached[0] != etag:
        rows = session.execute(select(Catastrophe).order_by(Catastrophe.starts_on, Catastrophe.id)).scalars()
        if len(_CACHED) > 256:
            _CACHED.clear()
        cached = _CACHED[key] = (etag, tuple(OpenEvent.of(row) for row in rows))
    return [event for event in cached[1] if event.ends_on is None or event.ends_on >= since]


def match(found: Sequence[Event], line: str, region_code: str | None, day: dt.date | None) -> Event | None:
    """The earliest-declared event that covers the claim, if any."""
    for event in found:
        if event.covers(line, region_code, day):
            return event
    return None


# -- joining ------------------------------------------------------------------------------------------------------


def join(claim: Claim, event: Event) -> bool:
    """Put one claim in the event's green channel (in the session; no flush). True when the claim's route
    or priority changed (an open claim); a claim that is already in an event stays in its first one."""
    if claim.catastrophe_id is not None:
        return False
    claim.catastrophe_id = event.id
    if claim.closed_at is not None:
        return False
    changed = (claim.priority or 0) < PRIORITY or claim.route in _YIELDS_TO_GREEN
    claim.priority = max(claim.priority or 0, PRIORITY)
    if claim.route in _YIELDS_TO_GREEN:
        claim.route = GREEN
    return changed


def join_reported(
    session: Session,
    tenant_id: int,
    claims: Sequence[Claim],
    accident_days: Mapping[int, dt.date | None],
    now: dt.datetime | None = None,
    cache: tuple[tuple[str, int], Any] | None = None,
) -> dict[int, Event]:
    """At report time (the triage reaction, before the rules): the new claims an open event covers join it.
    ``accident_days``: claim id → local accident date (missing or None: the local report date). Returns the
    events joined, by claim id — the triage facts' ``catastrophe``. Handlers already named get the
    advance-payment prompt."""
    if not claims:
        return {}
    zone = tenancy_service.tenant_zone(session, tenant_id)
    days = {claim.id: accident_days.get(claim.id) or claim.reported_at.astimezone(zone).date() for claim in claims}
    since = min(days.values())
    found: Sequence[Event] = (
        cached_events(session, cache[0], cache[1], since) if cache is not None else active_events(session, since)
    )
    if not found:
        return {}
    joined: dict[int, Event] = {}
    for claim in claims:
        event = match(found, claim.line, claim.region_code, days[claim.id])
        if event is not None and claim.catastrophe_id is None:
            join(claim, event)
            joined[claim.id] = event
    if joined:
        session.flush()
        now = now or utc_now()
        moved = [claim for claim in claims if claim.id in joined and claim.route == GREEN]
        sla_service.route_changed(
            session,
            tenant_id,
            [sla_service.RouteChange.of(c, c.reported_at, SYSTEM_ACTOR, _reason(joined[c.id])) for c in moved],
        )
        for claim in claims:
            if claim.id in joined and claim.assignee_id is not None:
                _prompt_one(session, tenant_id, claim.id, claim.number, claim.assignee_id, joined[claim.id], now)
    return joined


def _reason(event: Event) -> str:
    return f"catastrophe {event.code}"


def mark_claims(
    session: Session,
    tenant_id: int,
    claims: Sequence[Claim],
    found: Mapping[int, ClaimFacts],
    cache: tuple[tuple[str, int], Any] | None = None,
) -> dict[int, Event]:
    """The triage pipeline's hook (report time and re-evaluations, before the rules): claims an open event
    covers join it, their accident date taken from the facts (``accident_at``, local)."""
    days = {
        claim.id: facts.accident_at.date()
        for claim in claims
        if (facts := found.get(claim.id)) is not None and facts.accident_at is not None
    }
    return join_reported(session, tenant_id, claims, days, cache=cache)


def _accident_days(session: Session, claim_ids: Sequence[int], zone: ZoneInfo) -> dict[int, dt.date]:
    """The local accident date each report gave (``details.accident_at`` in the reported event's data), by
    claim id; claims whose report gave none are left out."""
    found: dict[int, dt.date] = {}
    for start in range(0, len(claim_ids), _CHUNK):
        chunk = list(claim_ids[start : start + _CHUNK])
        rows = session.execute(
            select(CaseEvent.claim_id, CaseEvent.data).where(
                CaseEvent.claim_id.in_(chunk), CaseEvent.event_type == EventType.REPORTED.value
            )
        )
        for claim_id, data in rows:
            day = accident_day(data, zone)
            if day is not None:
                found[claim_id] = day
    return found


def accident_day(data: str | Mapping[str, Any] | None, zone: ZoneInfo) -> dt.date | None:
    """The local accident date in a reported event's data (``details.accident_at``, a time with its offset),
    if the report gave one."""
    if not data:
        return None
    try:
        values = json.loads(data) if isinstance(data, str) else data
    except ValueError:
        return None
    details = values.get("details") if isinstance(values, Mapping) else None
    raw = details.get("accident_at") if isinstance(details, Mapping) else None
    if not isinstance(raw, str):
        return None
    try:
        at = dt.datetime.fromisoformat(raw.replace("Z", "+00:00"))
    except ValueError:
        return None
    return at.astimezone(zone).date() if at.tzinfo is not None else at.date()


def _join_existing(
    session: Session, tenant_id: int, event: Catastrophe, now: dt.datetime, actor: str
) -> tuple[list[str], int]:
    """The claims already stored that the event covers and that are in no event yet join it, in bulk.
    Returns the claim numbers that joined and how many open claims went green (or up to priority 3)."""
    zone = tenancy_service.tenant_zone(session, tenant_id)
    since = dt.datetime.combine(event.starts_on, dt.time(), zone).astimezone(dt.UTC)
    conditions = [
        Claim.catastrophe_id.is_(None),
        Claim.region_code.in_(list(event.region_codes)),
        Claim.reported_at >= since,  # an accident in the period is reported on or after its first day
    ]
    if event.lines:
        conditions.append(Claim.line.in_(list(event.lines)))
    rows = session.execute(
        select(
            Claim.id,
            Claim.number,
            Claim.line,
            Claim.region_code,
            Claim.reported_at,
            Claim.closed_at,
            Claim.route,
            Claim.priority,
            Claim.assignee_id,
            Claim.status,
            Claim.reported_amount_fen,
        ).where(*conditions)
    ).all()
    if not rows:
        return [], 0
    reported_days = _accident_days(session, [row.id for row in rows], zone)
    numbers: list[str] = []
    changes: list[dict[str, Any]] = []
    greened: list[Any] = []
    for row in rows:
        day = reported_days.get(row.id) or row.reported_at.astimezone(zone).date()
        if not event.covers(row.line, row.region_code, day):
            continue
        numbers.append(row.number)
        values: dict[str, Any] = {"id": row.id, "catastrophe_id": event.id}
        if row.closed_at is None:
            values["priority"] = max(row.priority or 0, PRIORITY)
            values["route"] = GREEN if row.route in _YIELDS_TO_GREEN else row.route
            if values["priority"] != row.priority or values["route"] != row.route:
                greened.append(row)
        changes.append(values)
    if not changes:
        return [], 0
    session.flush()
    for start in range(0, len(changes), _CHUNK):
        batch = changes[start : start + _CHUNK]
        plain = [c for c in batch if "route" not in c]
        routed = [c for c in batch if "route" in c]
        if plain:
            session.execute(update(Claim), plain)
        if routed:
            session.execute(update(Claim), routed)
    # Claims loaded in this session before the update see the new values.
    changed_ids = {c["id"] for c in changes}
    for claim in list(session.identity_map.values()):
        if isinstance(claim, Claim) and claim.id in changed_ids:
            session.expire(claim)
    sla_service.route_changed(
        session,
        tenant_id,
        [
            sla_service.RouteChange(
                row.id, row.line, row.reported_amount_fen, row.status, GREEN, now, actor, _reason(event)
            )
            for row in greened
            if row.route in _YIELDS_TO_GREEN
        ],
    )
    joined = set(numbers)
    _prompt_handlers(session, tenant_id, event, [r for r in rows if r.closed_at is None and r.number in joined], now)
    return numbers, len(greened)


# -- advance payment (先予支付, 保险法 art. 25) -------------------------------------------------------------------


def _prompt_text(event: Event, count: int, first: str) -> tuple[str, str]:
    subject = (
        f"大灾事件「{event.name_zh}」：请考虑先予支付（{count} 件）"
        if count > 1
        else (f"赔案 {first} 属大灾事件「{event.name_zh}」：请考虑先予支付")
    )
    body = (
        f"大灾事件「{event.name_zh}」（{event.code}）已纳入绿色通道，优先处理。"
        f"{'您名下 ' + str(count) + ' 件赔案（如 ' + first + '）' if count > 1 else '赔案 ' + first}"
        "已加入该事件。依《保险法》第二十五条，赔偿数额暂不能确定的，应根据已有证明和资料可以确定的数额先予支付。"
    )
    return subject, body


def _prompt_one(
    session: Session, tenant_id: int, claim_id: int, number: str, user_id: int, event: Event, now: dt.datetime
) -> None:
    subject, body = _prompt_text(event, 1, number)
    notify_staff_notices.notify_user(
        session, tenant_id, user_id, ADVANCE_PAYMENT_KIND, subject, body, f"advance_payment:{claim_id}:{user_id}", now,
        link=f"/claims/{number}",
    )  # fmt: skip


def _prompt_handlers(
    session: Session, tenant_id: int, event: Catastrophe, rows: Sequence[Any], now: dt.datetime
) -> None:
    """One notice per handler for the claims of theirs that joined (not one per claim: an event may bring
    thousands); claims without a handler are prompted when they are assigned (:func:`on_case_events`)."""
    by_handler: dict[int, list[Any]] = defaultdict(list)
    for row in rows:
        if row.assignee_id is not None:
            by_handler[row.assignee_id].append(row)
    for user_id, mine in sorted(by_handler.items()):
        if len(mine) == 1:
            _prompt_one(session, tenant_id, mine[0].id, mine[0].number, user_id, event, now)
            continue
        first = min(row.number for row in mine)
        subject, body = _prompt_text(event, len(mine), first)
        notify_staff_notices.notify_user(
            session, tenant_id, user_id, ADVANCE_PAYMENT_KIND, subject, body,
            f"advance_payment:event:{event.id}:{user_id}:{now.timestamp():.0f}", now,
            link=f"/triage/catastrophes/{event.id}",
        )  # fmt: skip


def on_case_events(session: Session, tenant_id: int, changes: Sequence[CaseChange]) -> int:
    """A claim of a catastrophe event that gets a handler: the handler gets the advance-payment prompt
    (once per claim and handler). Returns the prompts queued."""
    assigned = [change.claim_id for change in changes if change.event_type == EventType.ASSIGNED.value]
    if not assigned:
        return 0
    rows = session.execute(
        select(Claim.id, Claim.number, Claim.assignee_id, Claim.catastrophe_id).where(
            Claim.id.in_(assigned),
            Claim.catastrophe_id.is_not(None),
            Claim.closed_at.is_(None),
            Claim.assignee_id.is_not(None),
        )
    ).all()
    if not rows:
        return 0
    found = {event.id: event for event in session.execute(
        select(Catastrophe).where(Catastrophe.id.in_({row.catastrophe_id for row in rows}))
    ).scalars()}  # fmt: skip
    now = utc_now()
    for row in rows:
        _prompt_one(session, tenant_id, row.id, row.number, row.assignee_id, found[row.catastrophe_id], now)
    return len(rows)


def advance_payment_prompt(claim: Claim) -> bool:
    """The claim page's flag: an open claim of a catastrophe event with nothing paid yet."""
    return claim.catastrophe_id is not None and claim.closed_at is None and not claim.paid_amount_fen
