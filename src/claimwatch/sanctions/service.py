"""Violations and sanctions (违规处理), mandatory trainings and the blacklist: the rules and every write.

A sanction is proposed from a source (an inspection finding, a complaint, a manual record) against a staff
member or a named party; the catalogue (loader.py) gives its default and the ranges a fine or a suspension
may take. The repeat rule escalates the default one step when the person has had ``threshold`` violations
within ``window_months`` (this one included) and records a mandatory training. A quality manager other
than the proposer approves, rejects or later revokes it; an approved suspension refuses the user the
permission group's permissions for its days (``auth.models.PermissionSuspension``, read when the user's
principal is resolved). Every step writes its audit event in the caller's transaction; nothing here commits.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal, InvalidOperation
from typing import Any

from sqlalchemy.orm import Session

from claimwatch.audit import repository as audit_repository
from claimwatch.audit import service as audit_service
from claimwatch.auth import service as auth_service
from claimwatch.auth.models import User
from claimwatch.auth.principal import Permission, Principal
from claimwatch.db import utc_now
from claimwatch.errors import Conflict, Forbidden, Invalid, NotFound
from claimwatch.notify import staff_notices as notify_staff_notices
from claimwatch.sanctions import repository
from claimwatch.sanctions.loader import KINDS, Catalogue, catalogue_for
from claimwatch.sanctions.models import BlacklistEntry, MandatoryTraining, Sanction, Violation
from claimwatch.tenancy import repository as tenancy_repository
from claimwatch.tenancy import service as tenancy_service
from claimwatch.web.i18n import N_, translate

PARTY_KINDS = ("staff", "agent", "repair_shop", "hospital", "other")
STATUSES = ("proposed", "approved", "rejected", "revoked")
KIND_LABELS = {
    "warning": N_("Warning"),
    "reprimand": N_("Public reprimand"),
    "fine": N_("Fine"),
    "suspension": N_("Suspension of permissions"),
    "dismissal": N_("Termination of employment"),
}
STATUS_LABELS = {
    "proposed": N_("Proposed"),
    "approved": N_("Approved"),
    "rejected": N_("Not approved"),
    "revoked": N_("Revoked"),
}
PARTY_LABELS = {
    "staff": N_("Staff member"),
    "agent": N_("Agent"),
    "repair_shop": N_("Repair shop"),
    "hospital": N_("Hospital"),
    "other": N_("Other party"),
}
SEVERITY_LABELS = {
    "minor": N_("Minor violation"),
    "major": N_("Major violation"),
    "severe": N_("Severe violation"),
}
NOTICE_KIND = "sanction"
MAX_REASON = 2000


def tenant_of(principal: Principal) -> int:
    if principal.tenant_id is None:
        raise Forbidden("tenant", "sanctions belong to one insurer; this account belongs to none")
    return principal.tenant_id


def catalogue(session: Session, tenant_id: int) -> Catalogue:
    tenant = tenancy_repository.tenant_by_id(session, tenant_id)
    return catalogue_for(tenant.code if tenant is not None else None)


def _key(text: str) -> str:
    return " ".join(text.split()).lower()


def _reason(value: str | None, field: str = "reason") -> str:
    text = (value or "").strip()
    if not text:
        raise Invalid(field, "a reason is required")
    if len(text) > MAX_REASON:
        raise Invalid(field, f"at most {MAX_REASON} characters")
    return text


def months_before(at: dt.datetime, months: int) -> dt.datetime:
    """The same moment ``months`` calendar months earlier (the day clamped to the month's length)."""
    month_index = at.year * 12 + at.month - 1 - months
    year, month = divmod(month_index, 12)
    month += 1
    next_month = dt.date(year + (month == 12), month % 12 + 1, 1)
    last_day = (next_month - dt.timedelta(days=1)).day
    return at.replace(year=year, month=month, day=min(at.day, last_day))


def _number(session: Session, model: type[Sanction] | type[Violation], letter: str, at: dt.datetime, zone: Any) -> str:
    """S-2026-0003: a sequence per tenant and local year (the caller holds the audit chain's lock)."""
    prefix = f"{letter}-{at.astimezone(zone).year}-"
    taken = [n[len(prefix) :] for n in repository.numbers_with_prefix(session, model, prefix)]
    return f"{prefix}{max((int(s) for s in taken if s.isdigit()), default=0) + 1:04d}"


def _person(
    session: Session, tenant_id: int, user_id: int | None, party: str | None, party_kind: str | None
) -> tuple[User | None, str, str]:
    """(user, party_kind, party): a staff member by id, or a named party. ``party`` may carry its kind as a
    prefix ("agent:AG-0012", "repair_shop:粤B某修理厂") when ``party_kind`` is not given."""
    if user_id is not None and party:
        raise Invalid("party", "name either a staff member (user_id) or a party, not both")
    if user_id is not None:
        user = repository.user_in_tenant(session, tenant_id, user_id=user_id)
        if user is None:
            raise Invalid("user_id", f"no staff member with id {user_id}")
        return user, "staff", user.username
    text = (party or "").strip()
    if not text:
        raise Invalid("user_id", "name the staff member (user_id) or the party (an agent, a repair shop, a hospital)")
    if party_kind is None and ":" in text and text.split(":", 1)[0] in PARTY_KINDS:
        party_kind, text = text.split(":", 1)
        text = text.strip()
    kind = party_kind or "other"
    if kind not in PARTY_KINDS:
        raise Invalid("party_kind", f"party kind is one of {', '.join(PARTY_KINDS)}")
    if kind == "staff":
        user = repository.user_in_tenant(session, tenant_id, username=text)
        if user is None:
            raise Invalid("party", f"no staff member {text!r}")
        return user, "staff", user.username
    if not text or len(text) > 200:
        raise Invalid("party", "the party's name or code (at most 200 characters)")
    return None, kind, text


def _amount(value: Decimal | str | None) -> Decimal | None:
    if value is None or value == "":
        return None
    try:
        amount = Decimal(str(value))
    except InvalidOperation as exc:
        raise Invalid("amount_cny", f"{value!r} is not an amount in CNY") from exc
    if not amount.is_finite() or amount != amount.quantize(Decimal("0.01")):
        raise Invalid("amount_cny", "an amount in CNY with at most two decimals")
    return amount


def propose(
    session: Session,
    principal: Principal,
    *,
    violation_code: str,
    user_id: int | None,
    party: str | None,
    source_kind: str,
    source_id: int,
    source_label: str,
    source_url: str,
    kind: str | None = None,
    amount_cny: Decimal | None = None,
    days: int | None = None,
    reason: str,
    at: dt.datetime | None = None,
    party_kind: str | None = None,
) -> Sanction:
    """Record the violation and propose its sanction (status ``proposed``). ``kind`` None: the catalogue's
    default, one step up for a repeat offender; a fine's amount or a suspension's days default to the
    catalogue's and must lie in its range (422 naming ``amount_cny`` or ``days``). The same violation code,
    person and source proposed again while one is open: 409."""
    principal.require(Permission.PROPOSE_SANCTIONS)
    tenant_id = tenant_of(principal)
    found = catalogue(session, tenant_id)
    violation_type = found.get((violation_code or "").strip())
    if violation_type is None:
        raise Invalid("violation_code", f"unknown violation {violation_code!r} (known: {', '.join(found.violations)})")
    reason = _reason(reason)
    if not (source_kind or "").strip() or len(source_kind) > 32:
        raise Invalid("source_kind", "where the violation was found (inspection_finding, complaint, manual…)")
    if not (source_label or "").strip() or len(source_label) > 200:
        raise Invalid("source_label", "a label of the source (at most 200 characters)")
    if not source_url.startswith("/") or source_url.startswith("//") or len(source_url) > 300:
        raise Invalid("source_url", "a path on this site, such as /inspections/findings/12")
    if kind is not None and kind not in KINDS:
        raise Invalid("kind", f"sanction kind is one of {', '.join(KINDS)}")
    amount = _amount(amount_cny)
    if days is not None and (isinstance(days, bool) or not isinstance(days, int)):
        raise Invalid("days", "a whole number of days")
    user, person_kind, person = _person(session, tenant_id, user_id, party, party_kind)
    at = at or utc_now()
    zone = tenancy_service.tenant_zone(session, tenant_id)
    audit_repository.lock_head(session, tenant_id)  # numbers and repeat counts are decided one at a time
    person_key = _key(person)
    person_id = user.id if user is not None else None
    if repository.open_sanction_for_source(
        session, violation_type.code, person_id, person_kind, person_key, source_kind, source_id
    ):
        raise Conflict(
            "source_id", f"a sanction of {violation_type.code} for {person} from this source is already open"
        )
    since = months_before(at, found.window_months)
    repeat_count = repository.count_violations_since(session, person_id, person_kind, person_key, since, at) + 1
    escalated = repeat_count >= found.threshold
    default_kind = found.escalate(violation_type.kind) if escalated else violation_type.kind
    chosen = kind or default_kind
    if user is None and chosen in ("suspension", "dismissal"):
        raise Invalid("kind", f"a {chosen} applies to a staff member; list the party on the blacklist instead")
    sanction_range = found.range_for(violation_type, chosen)
    if chosen == "fine":
        assert sanction_range is not None
        amount = sanction_range.default if amount is None else amount
        if not sanction_range.minimum <= amount <= sanction_range.maximum:
            raise Invalid(
                "amount_cny",
                f"a fine for {violation_type.code} is {sanction_range.minimum}–{sanction_range.maximum} CNY, "
                f"not {amount}",
            )
    elif amount is not None:
        raise Invalid("amount_cny", f"only a fine has an amount, not a {chosen}")
    if chosen == "suspension":
        assert sanction_range is not None
        days = int(sanction_range.default) if days is None else days
        if not sanction_range.minimum <= days <= sanction_range.maximum:
            raise Invalid(
                "days",
                f"a suspension for {violation_type.code} is {sanction_range.minimum}–{sanction_range.maximum} days, "
                f"not {days}",
            )
    elif days is not None:
        raise Invalid("days", f"only a suspension has days, not a {chosen}")
    violation = Violation(
        tenant_id=tenant_id,
        number=_number(session, Violation, "V", at, zone),
        code=violation_type.code,
        severity=violation_type.severity,
        user_id=person_id,
        party_kind=person_kind,
        party=person,
        party_key=person_key,
        source_kind=source_kind.strip(),
        source_id=source_id,
        source_label=source_label.strip(),
        source_url=source_url,
        occurred_at=at,
        repeat_count=repeat_count,
        escalated=escalated,
        recorded_by=principal.actor,
        recorded_at=utc_now(),
    )
    session.add(violation)
    session.flush()
    sanction = Sanction(
        tenant_id=tenant_id,
        number=_number(session, Sanction, "S", at, zone),
        violation_id=violation.id,
        kind=chosen,
        default_kind=default_kind,
        amount_fen=int(amount * 100) if chosen == "fine" and amount is not None else None,
        days=days if chosen == "suspension" else None,
        permission_group=sanction_range.group if chosen == "suspension" and sanction_range else None,
        status="proposed",
        reason=reason,
        proposed_by=principal.actor,
        proposed_at=at,
    )
    session.add(sanction)
    session.flush()
    training = None
    if escalated:
        training = MandatoryTraining(
            tenant_id=tenant_id,
            violation_id=violation.id,
            user_id=person_id,
            party_kind=person_kind,
            party=person,
            party_key=person_key,
            topic=found.training_topic("zh")[:200],
            due_on=at.astimezone(zone).date() + dt.timedelta(days=found.training_due_days),
            recorded_at=at,
        )
        session.add(training)
        session.flush()
    audit_service.record(
        session,
        tenant_id,
        "sanction.propose",
        sanction.number,
        principal.actor,
        {
            "violation": violation.number,
            "code": violation.code,
            "catalogue_version": found.version,
            "person": {"kind": person_kind, "party": person, "user_id": person_id},
            "source": {"kind": violation.source_kind, "id": source_id, "label": violation.source_label},
            "kind": chosen,
            "default_kind": default_kind,
            "amount_fen": sanction.amount_fen,
            "days": sanction.days,
            "permission_group": sanction.permission_group,
            "repeat_count": repeat_count,
            "escalated": escalated,
            "training_due_on": training.due_on.isoformat() if training else None,
            "reason": reason,
            "at": at.isoformat(),
        },
    )
    return sanction


def _locked(session: Session, sanction_id: int) -> Sanction:
    sanction = repository.sanction_by_id(session, sanction_id, lock=True)
    if sanction is None:
        raise NotFound("sanction", f"no sanction {sanction_id}")
    return sanction


def suspension_period(starts_at: dt.datetime, days: int, zone: Any) -> tuple[dt.datetime, dt.date]:
    """A suspension of ``days`` calendar days counts the local day it starts on: approved on 12-14 for 7 days,
    it lasts to the end of 12-20 (the date the refusal names) and ends at local midnight."""
    until = starts_at.astimezone(zone).date() + dt.timedelta(days=days - 1)
    next_day = until + dt.timedelta(days=1)
    ends_at = dt.datetime(next_day.year, next_day.month, next_day.day, tzinfo=zone).astimezone(dt.UTC)
    return ends_at, until


def approve(
    session: Session, principal: Principal, sanction_id: int, note: str | None = None, at: dt.datetime | None = None
) -> Sanction:
    """A quality manager other than the proposer approves; a suspension starts now (``at``)."""
    principal.require(Permission.APPROVE_SANCTIONS)
    tenant_id = tenant_of(principal)
    sanction = _locked(session, sanction_id)
    if sanction.status != "proposed":
        raise Conflict("status", f"sanction {sanction.number} is {sanction.status}, not proposed")
    if sanction.proposed_by == principal.actor:
        raise Forbidden("sanction", "a sanction is approved by a quality manager other than its proposer")
    note = (note or "").strip()[:MAX_REASON] or None
    at = at or utc_now()
    violation = repository.violation(session, sanction.violation_id)
    assert violation is not None
    payload: dict[str, Any] = {"action": "approve", "note": note, "at": at.isoformat(), "kind": sanction.kind}
    if sanction.kind == "suspension":
        if violation.user_id is None or sanction.days is None or sanction.permission_group is None:
            raise Invalid("kind", "a suspension needs a staff member, its days and its permission group")
        zone = tenancy_service.tenant_zone(session, tenant_id)
        ends_at, until = suspension_period(at, sanction.days, zone)
        auth_service.suspend_permission(
            session,
            tenant_id=tenant_id,
            user_id=violation.user_id,
            group=sanction.permission_group,
            starts_at=at,
            ends_at=ends_at,
            until=until,
            reason=f"{violation.code}: {sanction.reason}",
            sanction_ref=sanction.number,
            actor=principal.actor,
        )
        sanction.starts_at, sanction.ends_at = at, ends_at
        payload["suspension"] = {
            "user_id": violation.user_id,
            "group": sanction.permission_group,
            "starts_at": at.isoformat(),
            "ends_at": ends_at.isoformat(),
            "until": until.isoformat(),
        }
    sanction.status, sanction.decided_by, sanction.decided_at, sanction.decision_note = (
        "approved",
        principal.actor,
        at,
        note,
    )
    session.flush()
    audit_service.record(session, tenant_id, "sanction.decide", sanction.number, principal.actor, payload)
    _tell(session, sanction, violation, at)
    return sanction


def _tell(session: Session, sanction: Sanction, violation: Violation, now: dt.datetime) -> None:
    """The sanctioned staff member gets a notice (bell, e-mail) of the approved sanction."""
    if violation.user_id is None:
        return
    user = repository.user_in_tenant(session, sanction.tenant_id, user_id=violation.user_id)
    if user is None:
        return
    what = translate("zh", KIND_LABELS.get(sanction.kind, sanction.kind))
    body = f"处罚 {sanction.number}（{what}）已批准，违规 {violation.code}：{sanction.reason}"
    if sanction.kind == "suspension" and sanction.ends_at is not None:
        zone = tenancy_service.tenant_zone(session, sanction.tenant_id)
        until = (sanction.ends_at - dt.timedelta(seconds=1)).astimezone(zone).date()
        body += f"。暂停至 {until.isoformat()}。"
    notify_staff_notices.notify_staff(
        session,
        sanction.tenant_id,
        user.role.value,
        NOTICE_KIND,
        f"处罚 {sanction.number} 已批准",
        body,
        f"sanction:{sanction.id}:approved",
        now,
        user_id=user.id,
        link=sanction_url(sanction.number),
    )


def reject(
    session: Session, principal: Principal, sanction_id: int, reason: str, at: dt.datetime | None = None
) -> Sanction:
    principal.require(Permission.APPROVE_SANCTIONS)
    tenant_id = tenant_of(principal)
    reason = _reason(reason)
    sanction = _locked(session, sanction_id)
    if sanction.status != "proposed":
        raise Conflict("status", f"sanction {sanction.number} is {sanction.status}, not proposed")
    at = at or utc_now()
    sanction.status, sanction.decided_by, sanction.decided_at, sanction.decision_note = (
        "rejected",
        principal.actor,
        at,
        reason,
    )
    session.flush()
    payload = {"action": "reject", "reason": reason, "at": at.isoformat()}
    audit_service.record(session, tenant_id, "sanction.decide", sanction.number, principal.actor, payload)
    return sanction


def revoke(
    session: Session, principal: Principal, sanction_id: int, reason: str, at: dt.datetime | None = None
) -> Sanction:
    """Undo an approved sanction (an appeal succeeded, a mistake): a suspension in force is lifted at once."""
    principal.require(Permission.APPROVE_SANCTIONS)
    tenant_id = tenant_of(principal)
    reason = _reason(reason)
    sanction = _locked(session, sanction_id)
    if sanction.status != "approved":
        raise Conflict("status", f"sanction {sanction.number} is {sanction.status}, not approved")
    at = at or utc_now()
    lifted = auth_service.lift_suspensions(session, sanction.number, actor=principal.actor, at=at)
    sanction.status, sanction.revoked_by, sanction.revoked_at, sanction.revoke_reason = (
        "revoked",
        principal.actor,
        at,
        reason,
    )
    session.flush()
    payload = {"action": "revoke", "reason": reason, "suspensions_lifted": lifted, "at": at.isoformat()}
    audit_service.record(session, tenant_id, "sanction.revoke", sanction.number, principal.actor, payload)
    return sanction


def complete_training(
    session: Session, principal: Principal, training_id: int, at: dt.datetime | None = None
) -> MandatoryTraining:
    principal.require(Permission.APPROVE_SANCTIONS)
    tenant_id = tenant_of(principal)
    training = repository.training(session, training_id)
    if training is None:
        raise NotFound("training", f"no mandatory training {training_id}")
    if training.completed_at is not None:
        raise Conflict("training", "this training is already recorded as completed")
    at = at or utc_now()
    training.completed_at, training.completed_by = at, principal.actor
    session.flush()
    payload = {"action": "complete", "party": training.party, "topic": training.topic, "at": at.isoformat()}
    audit_service.record(session, tenant_id, "sanction.training", str(training.id), principal.actor, payload)
    return training


# -- blacklist ---------------------------------------------------------------------------------------------


def _today(session: Session, tenant_id: int, at: dt.datetime) -> dt.date:
    return at.astimezone(tenancy_service.tenant_zone(session, tenant_id)).date()


def in_force(entry: BlacklistEntry, day: dt.date, at: dt.datetime) -> bool:
    if entry.lifted_at is not None and entry.lifted_at <= at:
        return False
    return entry.starts_on <= day and (entry.ends_on is None or day <= entry.ends_on)


def add_to_blacklist(
    session: Session,
    principal: Principal,
    *,
    party_kind: str,
    name: str | None,
    code: str | None,
    reason: str,
    starts_on: dt.date | None = None,
    ends_on: dt.date | None = None,
    at: dt.datetime | None = None,
) -> BlacklistEntry:
    """List a staff member (``code`` = username), an agent or a third party; a party already listed for the
    period: 409. ``ends_on`` None: until lifted."""
    principal.require(Permission.MANAGE_BLACKLIST)
    tenant_id = tenant_of(principal)
    if party_kind not in PARTY_KINDS:
        raise Invalid("party_kind", f"party kind is one of {', '.join(PARTY_KINDS)}")
    reason = _reason(reason)
    code = (code or "").strip() or None
    name = (name or "").strip() or None
    if code is not None and len(code) > 64:
        raise Invalid("code", "at most 64 characters")
    if name is not None and len(name) > 200:
        raise Invalid("name", "at most 200 characters")
    user = None
    if party_kind == "staff":
        if code is None:
            raise Invalid("code", "a staff member is listed by username")
        user = repository.user_in_tenant(session, tenant_id, username=code)
        if user is None:
            raise Invalid("code", f"no staff member {code!r}")
        name = name or user.display_name
    if name is None:
        raise Invalid("name", "the party's name is required")
    at = at or utc_now()
    starts_on = starts_on or _today(session, tenant_id, at)
    if ends_on is not None and ends_on < starts_on:
        raise Invalid("ends_on", "the period ends before it starts")
    for key in filter(None, (_key(code) if code else None, _key(name))):
        for entry in repository.blacklist_matches(session, tenant_id, party_kind, key):
            if entry.lifted_at is None and (entry.ends_on is None or entry.ends_on >= starts_on):
                field = "code" if code and entry.code_key == _key(code) else "name"
                raise Conflict(field, f"{entry.name} is already on the blacklist (entry {entry.id})")
    entry = BlacklistEntry(
        tenant_id=tenant_id,
        party_kind=party_kind,
        code=code,
        code_key=_key(code) if code else None,
        name=name,
        name_key=_key(name),
        user_id=user.id if user else None,
        reason=reason,
        starts_on=starts_on,
        ends_on=ends_on,
        listed_by=principal.actor,
        listed_at=at,
    )
    session.add(entry)
    session.flush()
    payload = {
        "action": "list",
        "party_kind": party_kind,
        "code": code,
        "name": name,
        "reason": reason,
        "starts_on": starts_on.isoformat(),
        "ends_on": ends_on.isoformat() if ends_on else None,
    }
    audit_service.record(session, tenant_id, "sanction.blacklist", f"B-{entry.id}", principal.actor, payload)
    return entry


def lift_from_blacklist(
    session: Session, principal: Principal, entry_id: int, reason: str, at: dt.datetime | None = None
) -> BlacklistEntry:
    principal.require(Permission.MANAGE_BLACKLIST)
    tenant_id = tenant_of(principal)
    reason = _reason(reason)
    entry = repository.blacklist_entry(session, entry_id)
    if entry is None:
        raise NotFound("entry", f"no blacklist entry {entry_id}")
    if entry.lifted_at is not None:
        raise Conflict("entry", f"entry {entry_id} was already lifted")
    at = at or utc_now()
    entry.lifted_at, entry.lifted_by, entry.lift_reason = at, principal.actor, reason
    session.flush()
    payload = {"action": "lift", "name": entry.name, "reason": reason, "at": at.isoformat()}
    audit_service.record(session, tenant_id, "sanction.blacklist", f"B-{entry.id}", principal.actor, payload)
    return entry


def is_blacklisted(
    session: Session, tenant_id: int, party_kind: str, code_or_name: str, at: dt.datetime | None = None
) -> BlacklistEntry | None:
    """The entry listing this party (by code or name, case and spacing ignored) in force at ``at``, if any."""
    key = _key(code_or_name or "")
    if not key:
        return None
    at = at or utc_now()
    day = _today(session, tenant_id, at)
    for entry in repository.blacklist_matches(session, tenant_id, party_kind, key):
        if in_force(entry, day, at):
            return entry
    return None


def sanction_url(number: str) -> str:
    return f"/sanctions/{number}"
