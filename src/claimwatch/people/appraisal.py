"""The monthly quality-linked appraisal (质量挂钩考核, DESIGN M20; issue 18): one scorecard per person per month
from the platform's own data, weighted by the scheme in force (:mod:`claimwatch.people.appraisal_scheme`), with
the peer percentile among people of the same kind and job title, service stars, and the manager's comment.

The handler metrics are computed here from the lower domains' tables, each in one or two GROUP BY queries over
the whole month (never a query per person); they follow a person through their platform account
(``StaffMember.user_id``):

* ``sla_on_time`` — SLA clocks of the claims assigned to them stopped in the month: % met.
* ``inspection_score`` — mean score of the quality inspections submitted in the month on records they handled
  (``Inspection.handler_id``).
* ``complaints_per_100`` — complaints received in the month about claims assigned to them, per 100 of their
  claims open at some time in the month.
* ``survey_score`` — mean overall satisfaction (0–10, shown as 0–100) of the survey answers received in the
  month for their claims (``Survey.handler_id``).
* ``violations`` — violations (sanctions) that occurred in the month, against their account or, for an agent
  without one, their code (``Violation.party_key``).

The agent metrics are registered by ``policies`` (see the registry in ``appraisal_scheme``).

Who sees a scorecard: the person (``VIEW_OWN_APPRAISAL``, through ``user_id``), their managers and the quality
department (``VIEW_APPRAISALS`` within :func:`claimwatch.people.service.visible_staff_ids`); nobody else.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import and_, case, func, or_, select
from sqlalchemy.orm import Session

from claimwatch.audit import service as audit_service
from claimwatch.auth.principal import Permission, Principal
from claimwatch.cases.models import Claim
from claimwatch.complaints.models import Complaint
from claimwatch.db import utc_now
from claimwatch.errors import Forbidden, Invalid, NotFound
from claimwatch.inspections.models import Inspection
from claimwatch.people import appraisal_scheme as schemes
from claimwatch.people import service as people_service
from claimwatch.people.appraisal_scheme import MetricValue, MonthWindow, PersonRef
from claimwatch.people.models import AppraisalScheme, AppraisalScorecard, StaffMember
from claimwatch.sanctions.models import Violation
from claimwatch.sla.models import SlaClock
from claimwatch.surveys.models import Survey, SurveyResponse
from claimwatch.tenancy import service as tenancy_service
from claimwatch.web.i18n import N_

SYSTEM_ACTOR = "system:appraisal"
MAX_COMMENT = 2000
MAX_SCHEME_FILE = schemes.MAX_SCHEME_FILE

METRIC_LABELS = {
    "sla_on_time": N_("SLA on time"),
    "inspection_score": N_("Inspection score"),
    "complaints_per_100": N_("Complaints per 100 claims"),
    "survey_score": N_("Survey score"),
    "violations": N_("Violations"),
}
REASON_LABELS = {
    "no_data": N_("no data this month"),
    "low_volume": N_("too few to score"),
    "no_source": N_("not measured"),
}


# -- the handler metrics -------------------------------------------------------------------------------------


def _by_user(people: Sequence[PersonRef]) -> dict[int, list[int]]:
    found: dict[int, list[int]] = defaultdict(list)
    for person in people:
        if person.user_id is not None:
            found[person.user_id].append(person.staff_id)
    return found


@dataclass(frozen=True)
class _Source:
    code: str
    label: str
    unit: str
    staff_kinds: frozenset[str]

    def compute(self, session: Session, window: MonthWindow, people: Sequence[PersonRef]) -> dict[int, MetricValue]:
        users = _by_user(people)
        if not users:
            return {}
        rows = self._rows(session, window, list(users))
        result: dict[int, MetricValue] = {}
        for user_id, value in rows.items():
            for staff_id in users.get(user_id, ()):
                result[staff_id] = value
        return result

    def _rows(self, session: Session, window: MonthWindow, user_ids: list[int]) -> dict[int, MetricValue]:
        raise NotImplementedError


class _SlaOnTime(_Source):
    def _rows(self, session: Session, window: MonthWindow, user_ids: list[int]) -> dict[int, MetricValue]:
        met = func.sum(case((SlaClock.outcome == "met", 1), else_=0))
        stmt = (
            select(Claim.assignee_id, func.count(), met)
            .select_from(SlaClock)
            .join(Claim, and_(Claim.id == SlaClock.claim_id, Claim.tenant_id == SlaClock.tenant_id))
            .where(
                SlaClock.tenant_id == window.tenant_id,
                SlaClock.stopped_at >= window.start_at,
                SlaClock.stopped_at < window.end_at,
                SlaClock.outcome.in_(("met", "breached")),
                Claim.assignee_id.in_(user_ids),
            )
            .group_by(Claim.assignee_id)
        )
        return {
            int(user): MetricValue(
                round(100.0 * int(ok or 0) / int(n), 1),
                int(n),
                N_("%(met)s of %(clocks)s clocks met the target"),
                {"met": int(ok or 0), "clocks": int(n)},
            )
            for user, n, ok in session.execute(stmt)
            if n
        }


class _InspectionScore(_Source):
    def _rows(self, session: Session, window: MonthWindow, user_ids: list[int]) -> dict[int, MetricValue]:
        stmt = (
            select(Inspection.handler_id, func.count(), func.avg(Inspection.score))
            .where(
                Inspection.tenant_id == window.tenant_id,
                Inspection.submitted_at >= window.start_at,
                Inspection.submitted_at < window.end_at,
                Inspection.score.is_not(None),
                Inspection.handler_id.in_(user_ids),
            )
            .group_by(Inspection.handler_id)
        )
        return {
            int(user): MetricValue(
                round(float(mean), 1), int(n), N_("mean of %(inspections)s inspections"), {"inspections": int(n)}
            )
            for user, n, mean in session.execute(stmt)
            if n and mean is not None
        }


class _ComplaintsPer100(_Source):
    def _rows(self, session: Session, window: MonthWindow, user_ids: list[int]) -> dict[int, MetricValue]:
        handled: dict[int | None, int] = {
            user: int(n)
            for user, n in session.execute(
                select(Claim.assignee_id, func.count())
                .where(
                    Claim.tenant_id == window.tenant_id,
                    Claim.assignee_id.in_(user_ids),
                    Claim.reported_at < window.end_at,
                    or_(Claim.closed_at.is_(None), Claim.closed_at >= window.start_at),
                )
                .group_by(Claim.assignee_id)
            )
        }
        complaints: dict[int | None, int] = {
            user: int(n)
            for user, n in session.execute(
                select(Claim.assignee_id, func.count())
                .select_from(Complaint)
                .join(Claim, and_(Claim.id == Complaint.claim_id, Claim.tenant_id == Complaint.tenant_id))
                .where(
                    Complaint.tenant_id == window.tenant_id,
                    Complaint.received_at >= window.start_at,
                    Complaint.received_at < window.end_at,
                    Claim.assignee_id.in_(user_ids),
                )
                .group_by(Claim.assignee_id)
            )
        }
        result = {}
        for user, claims in handled.items():
            if user is None:
                continue
            count = int(complaints.get(user, 0))
            result[int(user)] = MetricValue(
                round(100.0 * count / int(claims), 1), int(claims),
                N_("%(complaints)s complaints on %(claims)s claims"), {"complaints": count, "claims": int(claims)},
            )  # fmt: skip
        return result


class _SurveyScore(_Source):
    def _rows(self, session: Session, window: MonthWindow, user_ids: list[int]) -> dict[int, MetricValue]:
        stmt = (
            select(Survey.handler_id, func.count(), func.avg(SurveyResponse.overall))
            .join(Survey, and_(Survey.id == SurveyResponse.survey_id, Survey.tenant_id == SurveyResponse.tenant_id))
            .where(
                SurveyResponse.tenant_id == window.tenant_id,
                SurveyResponse.submitted_at >= window.start_at,
                SurveyResponse.submitted_at < window.end_at,
                Survey.handler_id.in_(user_ids),
            )
            .group_by(Survey.handler_id)
        )
        return {
            int(user): MetricValue(
                round(10.0 * float(mean), 1),
                int(n),
                N_("mean of %(answers)s survey answers (0–10 × 10)"),
                {"answers": int(n)},
            )  # fmt: skip
            for user, n, mean in session.execute(stmt)
            if n and mean is not None
        }


@dataclass(frozen=True)
class _Violations:
    code: str
    label: str
    unit: str
    staff_kinds: frozenset[str]

    def compute(self, session: Session, window: MonthWindow, people: Sequence[PersonRef]) -> dict[int, MetricValue]:
        users = _by_user(people)
        keys: dict[str, list[int]] = defaultdict(list)
        for person in people:
            if person.user_id is None:
                keys[person.code.strip().lower()].append(person.staff_id)
        counts: dict[int, int] = defaultdict(int)
        window_filter = (
            Violation.tenant_id == window.tenant_id,
            Violation.occurred_at >= window.start_at,
            Violation.occurred_at < window.end_at,
        )
        if users:
            by_user = select(Violation.user_id, func.count()).where(*window_filter, Violation.user_id.in_(list(users)))
            for user, n in session.execute(by_user.group_by(Violation.user_id)):
                for staff_id in users.get(int(user or 0), ()):
                    counts[staff_id] += int(n)
        if keys:
            by_key = select(Violation.party_key, func.count()).where(
                *window_filter, Violation.user_id.is_(None), Violation.party_key.in_(list(keys))
            )
            for key, n in session.execute(by_key.group_by(Violation.party_key)):
                for staff_id in keys.get(str(key), ()):
                    counts[staff_id] += int(n)
        return {
            p.staff_id: MetricValue(
                float(counts[p.staff_id]),
                counts[p.staff_id],
                N_("%(violations)s violations recorded"),
                {"violations": counts[p.staff_id]},
            )  # fmt: skip
            for p in people
        }


_EMPLOYEES = frozenset({"employee"})
_HANDLER_SOURCES: tuple[schemes.MetricSource, ...] = (
    _SlaOnTime("sla_on_time", METRIC_LABELS["sla_on_time"], "percent", _EMPLOYEES),
    _InspectionScore("inspection_score", METRIC_LABELS["inspection_score"], "score", _EMPLOYEES),
    _ComplaintsPer100("complaints_per_100", METRIC_LABELS["complaints_per_100"], "per100", _EMPLOYEES),
    _SurveyScore("survey_score", METRIC_LABELS["survey_score"], "score", _EMPLOYEES),
    _Violations("violations", METRIC_LABELS["violations"], "count", frozenset(schemes.STAFF_KINDS)),
)
for _source in _HANDLER_SOURCES:
    schemes.register_metric_source(_source)


# -- scheme versions -----------------------------------------------------------------------------------------


def _tenant(principal: Principal) -> int:
    if principal.tenant_id is None:
        raise Forbidden("tenant", "appraisals belong to one insurer; this account belongs to none")
    return principal.tenant_id


def check_scheme(text: str, source: str = "appraisal.yaml") -> schemes.Scheme:
    """Parse and validate; a bad file is :class:`Invalid` naming ``metrics`` (weights) or ``content``, with
    ``file:line`` in the message."""
    if len(text.encode()) > MAX_SCHEME_FILE:
        raise Invalid("content", f"a scheme file is at most {MAX_SCHEME_FILE // 1024} KiB")
    try:
        return schemes.parse_scheme(text, source)
    except schemes.SchemeError as exc:
        raise Invalid(exc.field, str(exc)) from exc


def load_scheme(
    session: Session, principal: Principal | None, tenant_id: int, text: str | None = None, source: str | None = None
) -> AppraisalScheme:
    """Put a new scheme version in force (``text`` None: the bundled default). Audited as
    ``config.appraisal_scheme`` with version, digest and the YAML; nothing is stored when it is invalid."""
    if principal is not None:
        principal.require(Permission.MANAGE_APPRAISALS)
        if _tenant(principal) != tenant_id:
            raise NotFound("tenant", "unknown insurer")
    if text is None:
        text, source = schemes.default_text(), source or "appraisal.yaml"
    source = (source or "api")[:300]
    parsed = check_scheme(text, source)
    actor = principal.actor if principal is not None else SYSTEM_ACTOR
    audit_service.open_chain(session, tenant_id).close()
    now = utc_now()
    row = AppraisalScheme(
        tenant_id=tenant_id, version=parsed.version, digest=parsed.digest, content=text, loaded_by=actor, loaded_at=now
    )
    session.add(row)
    session.flush()
    row.audit_seq = audit_service.record(
        session,
        tenant_id,
        "config.appraisal_scheme",
        parsed.version,
        actor,
        {"scheme_id": row.id, "version": parsed.version, "sha256": parsed.digest, "source": source, "yaml": text},
    )
    session.flush()
    return row


def scheme_in_force(session: Session, tenant_id: int) -> AppraisalScheme | None:
    return session.scalars(
        select(AppraisalScheme)
        .where(AppraisalScheme.tenant_id == tenant_id)
        .order_by(AppraisalScheme.loaded_at.desc(), AppraisalScheme.id.desc())
        .limit(1)
    ).first()


def scheme_versions(session: Session, tenant_id: int, limit: int = 20) -> list[AppraisalScheme]:
    return list(
        session.scalars(
            select(AppraisalScheme)
            .where(AppraisalScheme.tenant_id == tenant_id)
            .order_by(AppraisalScheme.loaded_at.desc(), AppraisalScheme.id.desc())
            .limit(limit)
        )
    )


# -- computing a month ---------------------------------------------------------------------------------------


@dataclass
class MonthResult:
    month: dt.date
    scheme_version: str
    cards: int = 0
    scored: int = 0
    missing_sources: list[str] = field(default_factory=list)


def window_for(session: Session, tenant_id: int, month: dt.date) -> MonthWindow:
    return schemes.month_window(tenant_id, month, tenancy_service.tenant_zone(session, tenant_id))


def _people(session: Session, window: MonthWindow) -> list[PersonRef]:
    rows = session.scalars(
        select(StaffMember)
        .where(
            StaffMember.tenant_id == window.tenant_id,
            StaffMember.hired_on < window.end_on,
            or_(StaffMember.left_on.is_(None), StaffMember.left_on >= window.start_on),
            or_(StaffMember.status == "active", StaffMember.left_on.is_not(None)),
        )
        .order_by(StaffMember.id)
    )
    return [PersonRef(s.id, s.code, s.kind, s.user_id, s.org_unit_id, s.job_title) for s in rows]


def compute_month(
    session: Session, tenant_id: int, month: dt.date, principal: Principal | None = None, now: dt.datetime | None = None
) -> MonthResult:
    """Scorecards of ``month`` for every staff member active in it: their metrics, score, peer percentile (same
    kind and job title) and stars. Recomputing replaces the figures and keeps the manager's comment. Audited
    (``people.appraisal_computed``). With no scheme loaded yet, the bundled default is loaded first."""
    if principal is not None:
        principal.require(Permission.MANAGE_APPRAISALS)
        if _tenant(principal) != tenant_id:
            raise NotFound("tenant", "unknown insurer")
    month = month.replace(day=1)
    audit_service.open_chain(session, tenant_id).close()  # serialise with other writers of the tenant
    row = scheme_in_force(session, tenant_id) or load_scheme(session, None, tenant_id)
    scheme = schemes.parsed(row.content, "appraisal.yaml")
    window = window_for(session, tenant_id, month)
    people = _people(session, window)
    groups = {p.staff_id: scheme.group_for(p.kind, p.job_title) for p in people}
    sources = schemes.metric_sources()
    needed: dict[str, list[PersonRef]] = defaultdict(list)
    for person in people:
        group = groups[person.staff_id]
        for rule in group.metrics if group else ():
            needed[rule.code].append(person)
    values: dict[str, dict[int, MetricValue]] = {}
    missing = sorted(code for code in needed if code not in sources)
    for code, who in needed.items():
        if code in sources:
            values[code] = sources[code].compute(session, window, who)
    scored: dict[int, tuple[float | None, list[schemes.ScoredMetric]]] = {}
    for person in people:
        group = groups[person.staff_id]
        if group is None:
            continue
        found: dict[str, MetricValue | None] = {
            rule.code: (values[rule.code].get(person.staff_id, MetricValue(None, 0)) if rule.code in values else None)
            for rule in group.metrics
        }
        scored[person.staff_id] = schemes.score_person(scheme, group, found)
    peers: dict[tuple[str, str], dict[int, float]] = defaultdict(dict)
    for person in people:
        score = scored.get(person.staff_id, (None, []))[0]
        if score is not None:
            peers[(person.kind, person.job_title or "")][person.staff_id] = score
    ranks: dict[int, float] = {}
    for group_scores in peers.values():
        ranks.update(schemes.percentiles(group_scores))
    existing = {
        card.staff_id: card
        for card in session.scalars(
            select(AppraisalScorecard).where(
                AppraisalScorecard.tenant_id == tenant_id, AppraisalScorecard.month == month
            )
        )
    }
    at = now or utc_now()
    result = MonthResult(month, scheme.version, missing_sources=missing)
    for person in people:
        if person.staff_id not in scored:
            continue
        score, metrics = scored[person.staff_id]
        card = existing.get(person.staff_id)
        if card is None:
            card = AppraisalScorecard(tenant_id=tenant_id, staff_id=person.staff_id, month=month)
            session.add(card)
        card.scheme_id = row.id
        card.metrics = [m.as_dict() for m in metrics]
        card.score = score
        card.peer_percentile = ranks.get(person.staff_id)
        card.stars = scheme.stars_for(score)
        card.computed_at = at
        result.cards += 1
        result.scored += score is not None
    session.flush()
    audit_service.record(
        session,
        tenant_id,
        "people.appraisal_computed",
        window.label,
        principal.actor if principal is not None else SYSTEM_ACTOR,
        {
            "month": window.label,
            "scheme_id": row.id,
            "scheme_version": scheme.version,
            "cards": result.cards,
            "scored": result.scored,
            "missing_sources": missing,
        },
    )
    return result


# -- who sees what -------------------------------------------------------------------------------------------


def may_view(session: Session, principal: Principal, staff: StaffMember) -> bool:
    """The person themselves, their managers and the quality department (within h1's visibility)."""
    if principal.tenant_id is None or principal.tenant_id != staff.tenant_id or principal.is_regulator:
        return False
    own = staff.user_id is not None and staff.user_id == principal.user_id
    if own and principal.can(Permission.VIEW_OWN_APPRAISAL):
        return True
    if not principal.can(Permission.VIEW_APPRAISALS):
        return False
    visible = people_service.visible_staff_ids(session, principal)
    return visible is None or staff.id in visible


def viewable_staff(session: Session, principal: Principal) -> set[int] | None:
    """The staff ids whose scorecards the principal may list (None: everyone of the tenant)."""
    if principal.tenant_id is None or principal.is_regulator:
        return set()
    own: set[int] = set()
    if principal.can(Permission.VIEW_OWN_APPRAISAL) and principal.user_id is not None:
        me = people_service.staff_for_user(session, principal.tenant_id, principal.user_id)
        own = {me.id} if me is not None else set()
    if not principal.can(Permission.VIEW_APPRAISALS):
        return own
    visible = people_service.visible_staff_ids(session, principal)
    return None if visible is None else visible | own


def staff_for_view(session: Session, principal: Principal, code: str) -> StaffMember:
    """The staff member whose scorecard is asked for: unknown → NotFound; not theirs to see → Forbidden."""
    tenant_id = _tenant(principal)
    staff = people_service.staff_by_code(session, tenant_id, code)
    if staff is None:
        raise NotFound("staff", f"no staff member {code[:64]!r}")
    if not may_view(session, principal, staff):
        raise Forbidden("staff", "only the person, their managers and the quality department see a scorecard")
    return staff


def comment(session: Session, principal: Principal, scorecard_id: int, text: str) -> AppraisalScorecard:
    """The manager's comment on a scorecard (replaces an earlier one). Supervisors only for people they may
    see; nobody on their own scorecard. Audited (``people.appraisal_comment``)."""
    principal.require(Permission.COMMENT_APPRAISALS)
    tenant_id = _tenant(principal)
    card = session.scalars(
        select(AppraisalScorecard).where(
            AppraisalScorecard.tenant_id == tenant_id, AppraisalScorecard.id == scorecard_id
        )
    ).first()
    if card is None:
        raise NotFound("scorecard", "unknown scorecard")
    staff = session.get(StaffMember, card.staff_id)
    assert staff is not None
    if staff.user_id is not None and staff.user_id == principal.user_id:
        raise Forbidden("scorecard", "a scorecard is commented by the person's manager, not by the person")
    visible = people_service.visible_staff_ids(session, principal)
    if visible is not None and staff.id not in visible:
        raise Forbidden("scorecard", "only the person's managers and the quality department comment a scorecard")
    cleaned = (text or "").strip()
    if not cleaned:
        raise Invalid("comment", "the comment is empty")
    if len(cleaned) > MAX_COMMENT:
        raise Invalid("comment", f"a comment is at most {MAX_COMMENT} characters")
    audit_service.open_chain(session, tenant_id).close()
    card.manager_comment = cleaned
    card.commented_by = principal.actor
    card.commented_at = utc_now()
    session.flush()
    audit_service.record(
        session,
        tenant_id,
        "people.appraisal_comment",
        f"{staff.code} {card.month:%Y-%m}",
        principal.actor,
        {"scorecard_id": card.id, "staff": staff.code, "month": f"{card.month:%Y-%m}", "comment": cleaned},
    )
    return card


def person_summary(session: Session, principal: Principal, staff_id: int, locale: str = "zh") -> dict[str, Any] | None:
    """For the person page (h1): the latest scorecard's month, score, stars and percentile, and the link; None
    when the principal may not see it or there is none."""
    staff = session.get(StaffMember, staff_id)
    if staff is None or not may_view(session, principal, staff):
        return None
    card = session.scalars(
        select(AppraisalScorecard)
        .where(AppraisalScorecard.tenant_id == staff.tenant_id, AppraisalScorecard.staff_id == staff.id)
        .order_by(AppraisalScorecard.month.desc())
        .limit(1)
    ).first()
    del locale
    return {
        "url": f"/people/appraisals/{staff.code}",
        "month": None if card is None else f"{card.month:%Y-%m}",
        "score": None if card is None else card.score,
        "stars": 0 if card is None else card.stars,
        "peer_percentile": None if card is None else card.peer_percentile,
        "comment": None if card is None else card.manager_comment,
    }
