"""Rating rules without HTTP: approval and withdrawal of runs, deductions, objections (复核), and what each side
may read.

The regulator (MANAGE_RATINGS) writes; it has no tenant, so its writes run in a session that may write across
tenants (:mod:`claimwatch.supervision.deps`). Every change is recorded in the audit chain of each insurer it
concerns. An insurer (VIEW_RATINGS: quality manager, admin) reads only approved runs and only its own results:
score, grade, breakdown, deductions and rank band, never its rank among named peers or another insurer's detail.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from claimwatch.audit import service as audit_service
from claimwatch.auth.principal import ROLE_PERMISSIONS, Permission, Principal
from claimwatch.db import utc_now
from claimwatch.errors import Conflict, Forbidden, Invalid, NotFound
from claimwatch.kpi import loader as kpi_loader
from claimwatch.notify import staff_notices as notify_staff_notices
from claimwatch.supervision import methodology as methodology_service
from claimwatch.supervision import rating, repository
from claimwatch.supervision.methodology import DEDUCTION_KINDS
from claimwatch.supervision.models import (
    RatingDeduction,
    RatingMethodology,
    RatingObjection,
    RatingResult,
    RatingRun,
)
from claimwatch.tables import csv_text, xlsx_bytes
from claimwatch.tenancy import service as tenancy_service
from claimwatch.tenancy.models import Tenant

RUN_STATUSES = ("draft", "approved", "withdrawn")
OBJECTION_STATUSES = ("open", "upheld", "rejected")
OUTCOMES = ("upheld", "rejected")
RATINGS_LINK = "/ratings"
MAX_POINTS = Decimal("100")
CENT = Decimal("0.01")


# -- helpers ------------------------------------------------------------------------------------------------


def _text(value: str | None, field: str, what: str) -> str:
    text = (value or "").strip()
    if not text:
        raise Invalid(field, f"{what} is required")
    return text


def _today() -> dt.date:
    return utc_now().astimezone(tenancy_service.platform_zone()).date()


def _tenant_codes(session: Session) -> dict[int, str]:
    return repository.tenant_codes(session)


def _tenant_by_code(session: Session, code: str) -> Tenant:
    tenant = repository.tenant_by_code(session, code)
    if tenant is None:
        raise NotFound("tenant", f"no insurer {code!r}")
    return tenant


def _own_tenant(principal: Principal) -> int:
    if principal.tenant_id is None:
        raise Forbidden("tenant", "this account belongs to no insurer")
    return principal.tenant_id


def _audit(session: Session, tenant_id: int, kind: str, subject: str, actor: str, payload: dict[str, Any]) -> None:
    audit_service.record(session, tenant_id, kind, subject, actor, payload)


def _notify_quality(session: Session, tenant_id: int, kind: str, subject: str, body: str, dedupe: str) -> None:
    """A notice to the insurer's staff who may object to its result (quality managers, admins)."""
    now = utc_now()
    for role in sorted(ROLE_PERMISSIONS[Permission.FILE_RATING_OBJECTIONS]):
        notify_staff_notices.notify_staff(
            session, tenant_id, role.value, kind, subject, body, f"{dedupe}:{role.value}", now, link=RATINGS_LINK
        )


def _decimal(value: Any, field: str, *, low: Decimal = Decimal(0), high: Decimal = MAX_POINTS) -> Decimal:
    try:
        number = Decimal(str(value))
    except (InvalidOperation, ValueError) as exc:
        raise Invalid(field, f"{field} must be a number, not {value!r}") from exc
    if not number.is_finite() or not low <= number <= high:
        raise Invalid(field, f"{field} must be between {low} and {high}, not {value}")
    return number.quantize(CENT, ROUND_HALF_UP)


# -- runs -----------------------------------------------------------------------------------------------------


def compute_run(
    session: Session, principal: Principal, period: str, level: str = "insurer", **kwargs: Any
) -> RatingRun:
    """:func:`claimwatch.supervision.rating.compute_run` (the draft run from the snapshot)."""
    return rating.compute_run(session, principal, period, level, **kwargs)


def runs(
    session: Session,
    principal: Principal,
    period: str | None = None,
    level: str | None = None,
    status: str | None = None,
) -> list[RatingRun]:
    """Runs newest first: the regulator every run, an insurer only approved ones."""
    principal.require(Permission.VIEW_RATINGS)
    statement = select(RatingRun)
    if not principal.is_regulator:
        status = "approved"
    elif status is not None and status not in RUN_STATUSES:
        raise Invalid("status", f"status is one of {', '.join(RUN_STATUSES)}, not {status!r}")
    if status is not None:
        statement = statement.where(RatingRun.status == status)
    if period:
        statement = statement.where(RatingRun.period == rating.parse_period(period).label)
    if level:
        statement = statement.where(RatingRun.level == rating.check_level(level))
    return list(session.scalars(statement.order_by(RatingRun.period.desc(), RatingRun.id.desc())))


def get_run(session: Session, principal: Principal, run_id: int) -> RatingRun:
    """One run; an insurer only an approved one (any other is not found)."""
    principal.require(Permission.VIEW_RATINGS)
    run = session.get(RatingRun, run_id)
    if run is None or (not principal.is_regulator and run.status != "approved"):
        raise NotFound("run", f"no rating run {run_id}")
    return run


def results(session: Session, principal: Principal, run_id: int) -> list[RatingResult]:
    """A run's results by rank: the regulator every unit's; an insurer only its own (of an approved run)."""
    run = get_run(session, principal, run_id)
    return repository.run_results(session, run.id, None if principal.is_regulator else _own_tenant(principal))


def get_result(session: Session, principal: Principal, result_id: int) -> RatingResult:
    """One result; an insurer only its own in an approved run."""
    principal.require(Permission.VIEW_RATINGS)
    result = session.get(RatingResult, result_id)
    if result is None:
        raise NotFound("result", f"no rating result {result_id}")
    if not principal.is_regulator:
        run = session.get(RatingRun, result.run_id)
        if result.tenant_id != principal.tenant_id or run is None or run.status != "approved":
            raise NotFound("result", f"no rating result {result_id}")
    return result


def own_results(
    session: Session, principal: Principal, level: str | None = None
) -> list[tuple[RatingRun, RatingResult]]:
    """The insurer's published results (approved runs), newest period first."""
    principal.require(Permission.VIEW_RATINGS)
    tenant_id = _own_tenant(principal)
    statement = (
        select(RatingRun, RatingResult)
        .join(RatingResult, RatingResult.run_id == RatingRun.id)
        .where(RatingRun.status == "approved", RatingResult.tenant_id == tenant_id)
    )
    if level:
        statement = statement.where(RatingRun.level == rating.check_level(level))
    statement = statement.order_by(RatingRun.period.desc(), RatingRun.id.desc(), RatingResult.region_code)
    return [(run, result) for run, result in session.execute(statement).all()]


def approve(session: Session, principal: Principal, run_id: int, now: dt.datetime | None = None) -> RatingRun:
    """Publish a draft run: ``objections_until`` = today (platform zone) + the methodology's objection days; the
    approval is recorded in each rated insurer's chain and its quality managers and admins are notified. One
    approved run per period and level: withdraw the other first."""
    principal.require(Permission.MANAGE_RATINGS)
    run = session.get(RatingRun, run_id, with_for_update=True)
    if run is None:
        raise NotFound("run", f"no rating run {run_id}")
    if run.status != "draft":
        raise Conflict("status", f"run {run_id} is {run.status}, only a draft can be approved")
    other = session.scalars(
        select(RatingRun.id).where(
            RatingRun.period == run.period, RatingRun.level == run.level, RatingRun.status == "approved"
        )
    ).first()
    if other is not None:
        raise Conflict("run", f"run {other} of {run.period} ({run.level}) is already approved: withdraw it first")
    now = now or utc_now()
    method = methodology_service.of_row(methodology_service.get(session, run.methodology_id))
    today = now.astimezone(tenancy_service.platform_zone()).date()
    run.status = "approved"
    run.approved_at = now
    run.approved_by = principal.actor[:100]
    run.objections_until = today + dt.timedelta(days=method.objection_days)
    session.flush()
    found = list(session.scalars(select(RatingResult).where(RatingResult.run_id == run.id)))
    for tenant_id in sorted({r.tenant_id for r in found}):
        own = [r for r in found if r.tenant_id == tenant_id]
        _audit(
            session,
            tenant_id,
            "rating_approved",
            f"rating_run/{run.id}",
            principal.actor,
            {
                "run": run.id,
                "period": run.period,
                "level": run.level,
                "methodology": run.methodology_id,
                "objections_until": run.objections_until.isoformat(),
                "results": [
                    {"result": r.id, "region": r.region_code, "score": str(r.score), "grade": r.grade} for r in own
                ],
            },
        )
        first = own[0]
        subject = f"服务评价结果已发布 {run.period}：{first.grade}（{first.score} 分）"
        body = (
            f"{run.period} 服务评价结果已发布：得分 {first.score}，等级 {first.grade}，{first.rank_band}。"
            f"如有异议，请于 {run.objections_until.isoformat()} 前申请复核。\n"
            f"Service rating {run.period} published: score {first.score}, grade {first.grade}, {first.rank_band}. "
            f"Objections until {run.objections_until.isoformat()}."
        )
        _notify_quality(session, tenant_id, "rating_published", subject, body, f"rating_run:{run.id}")
    return run


def withdraw(
    session: Session, principal: Principal, run_id: int, note: str, now: dt.datetime | None = None
) -> RatingRun:
    """Withdraw a draft or an approved run (a note is required); an approved one's withdrawal is recorded in each
    rated insurer's chain (it is no longer published)."""
    principal.require(Permission.MANAGE_RATINGS)
    text = _text(note, "note", "a note saying why")
    run = session.get(RatingRun, run_id, with_for_update=True)
    if run is None:
        raise NotFound("run", f"no rating run {run_id}")
    if run.status == "withdrawn":
        raise Conflict("status", f"run {run_id} is withdrawn already")
    was = run.status
    run.status = "withdrawn"
    run.note = f"{run.note}\n{text}" if run.note else text
    session.flush()
    if was == "approved":
        tenants = sorted(set(session.scalars(select(RatingResult.tenant_id).where(RatingResult.run_id == run.id))))
        for tenant_id in tenants:
            _audit(
                session,
                tenant_id,
                "rating_withdrawn",
                f"rating_run/{run.id}",
                principal.actor,
                {"run": run.id, "period": run.period, "level": run.level, "note": text},
            )
    return run


# -- deductions -------------------------------------------------------------------------------------------------


def deductions(
    session: Session,
    principal: Principal,
    period: str | None = None,
    tenant_code: str | None = None,
    include_withdrawn: bool = True,
) -> list[RatingDeduction]:
    """Deductions newest first: the regulator every insurer's (or ``tenant_code``'s); an insurer its own."""
    principal.require(Permission.VIEW_RATINGS)
    statement = select(RatingDeduction)
    if not principal.is_regulator:
        statement = statement.where(RatingDeduction.tenant_id == _own_tenant(principal))
    elif tenant_code:
        statement = statement.where(RatingDeduction.tenant_id == _tenant_by_code(session, tenant_code).id)
    if period:
        statement = statement.where(RatingDeduction.period == rating.parse_period(period).label)
    if not include_withdrawn:
        statement = statement.where(RatingDeduction.withdrawn_at.is_(None))
    return list(session.scalars(statement.order_by(RatingDeduction.entered_at.desc(), RatingDeduction.id.desc())))


def add_deduction(
    session: Session,
    principal: Principal,
    *,
    tenant_code: str,
    period: str,
    kind: str,
    points: Any,
    reason: str,
    reference: str | None = None,
    region_code: str | None = None,
) -> RatingDeduction:
    """A deduction (扣分项) for an insurer (or one of its provincial branches) and a quarter or year; it counts in
    runs computed after it; recorded in the insurer's chain."""
    principal.require(Permission.MANAGE_RATINGS)
    tenant = _tenant_by_code(session, tenant_code)
    label = rating.parse_period(period).label
    if kind not in DEDUCTION_KINDS:
        raise Invalid("kind", f"kind is one of {', '.join(DEDUCTION_KINDS)}, not {kind!r}")
    amount = _decimal(points, "points", low=CENT)
    text = _text(reason, "reason", "a reason")
    region = (region_code or "").strip() or None
    if region is not None and region not in tenancy_service.region_codes():
        raise Invalid("region_code", f"unknown region code {region!r}")
    row = RatingDeduction(
        tenant_id=tenant.id,
        region_code=region,
        period=label,
        kind=kind,
        points=amount,
        reason=text,
        reference=(reference or "").strip()[:64] or None,
        entered_by=principal.actor[:100],
        entered_at=utc_now(),
    )
    session.add(row)
    session.flush()
    _audit(
        session,
        tenant.id,
        "rating_deduction",
        f"rating_deduction/{row.id}",
        principal.actor,
        {
            "deduction": row.id,
            "period": label,
            "region": region,
            "kind": kind,
            "points": str(amount),
            "reason": text,
            "reference": row.reference,
        },
    )
    return row


def withdraw_deduction(session: Session, principal: Principal, deduction_id: int, reason: str) -> RatingDeduction:
    """Withdraw a deduction (a reason is required): runs computed afterwards no longer count it."""
    principal.require(Permission.MANAGE_RATINGS)
    text = _text(reason, "reason", "a reason")
    row = session.get(RatingDeduction, deduction_id, with_for_update=True)
    if row is None:
        raise NotFound("deduction", f"no deduction {deduction_id}")
    if row.withdrawn_at is not None:
        raise Conflict("deduction", f"deduction {deduction_id} is withdrawn already")
    row.withdrawn_at = utc_now()
    row.withdrawn_by = principal.actor[:100]
    session.flush()
    _audit(
        session,
        row.tenant_id,
        "rating_deduction_withdrawn",
        f"rating_deduction/{row.id}",
        principal.actor,
        {"deduction": row.id, "reason": text},
    )
    return row


# -- objections -------------------------------------------------------------------------------------------------


def objections(session: Session, principal: Principal, status: str | None = None) -> list[RatingObjection]:
    """Objections, open ones first by their decide-by date: the regulator every one, an insurer its own."""
    principal.require(Permission.VIEW_RATINGS)
    statement = select(RatingObjection)
    if not principal.is_regulator:
        statement = statement.where(RatingObjection.tenant_id == _own_tenant(principal))
    if status is not None:
        if status not in OBJECTION_STATUSES:
            raise Invalid("status", f"status is one of {', '.join(OBJECTION_STATUSES)}, not {status!r}")
        statement = statement.where(RatingObjection.status == status)
    found = list(session.scalars(statement.order_by(RatingObjection.decide_by, RatingObjection.id)))
    return sorted(found, key=lambda o: (o.status != "open", o.decide_by, o.id))


def get_objection(session: Session, principal: Principal, objection_id: int) -> RatingObjection:
    principal.require(Permission.VIEW_RATINGS)
    row = session.get(RatingObjection, objection_id)
    if row is None or (not principal.is_regulator and row.tenant_id != principal.tenant_id):
        raise NotFound("objection", f"no objection {objection_id}")
    return row


def objection_open(run: RatingRun, today: dt.date | None = None) -> bool:
    """Whether an insurer may still object to the run's results."""
    return run.status == "approved" and run.objections_until is not None and (today or _today()) <= run.objections_until


def file_objection(
    session: Session, principal: Principal, result_id: int, reason: str, now: dt.datetime | None = None
) -> RatingObjection:
    """An insurer's objection (复核申请) to its own published result, until the run's ``objections_until``;
    the regulator is to decide by filing day + the methodology's decision days. One open objection per result."""
    principal.require(Permission.FILE_RATING_OBJECTIONS)
    tenant_id = _own_tenant(principal)
    text = _text(reason, "reason", "a reason")
    result = session.get(RatingResult, result_id)
    run = session.get(RatingRun, result.run_id) if result is not None else None
    if result is None or run is None or result.tenant_id != tenant_id or run.status != "approved":
        raise NotFound("result", f"no rating result {result_id}")
    now = now or utc_now()
    today = now.astimezone(tenancy_service.platform_zone()).date()
    if not objection_open(run, today):
        until = run.objections_until.isoformat() if run.objections_until else "—"
        raise Conflict("result", f"objections to run {run.id} closed on {until}")
    if session.scalars(
        select(RatingObjection.id).where(RatingObjection.result_id == result.id, RatingObjection.status == "open")
    ).first():
        raise Conflict("result", "an objection to this result is open already")
    method = methodology_service.of_row(methodology_service.get(session, run.methodology_id))
    row = RatingObjection(
        result_id=result.id,
        tenant_id=tenant_id,
        filed_by=principal.actor[:100],
        filed_at=now,
        reason=text,
        decide_by=today + dt.timedelta(days=method.decision_days),
        status="open",
    )
    session.add(row)
    session.flush()
    _audit(
        session,
        tenant_id,
        "rating_objection",
        f"rating_objection/{row.id}",
        principal.actor,
        {"objection": row.id, "result": result.id, "run": run.id, "period": run.period, "reason": text},
    )
    return row


def decide_objection(
    session: Session,
    principal: Principal,
    objection_id: int,
    outcome: str,
    note: str,
    revised_score: Any = None,
    revised_grade: str | None = None,
    now: dt.datetime | None = None,
) -> RatingObjection:
    """The regulator's decision: ``upheld`` with the revised score (its grade by the methodology unless given) or
    ``rejected``; a note is required. Recorded in the insurer's chain; its quality managers and admins are told."""
    principal.require(Permission.MANAGE_RATINGS)
    if outcome not in OUTCOMES:
        raise Invalid("outcome", f"outcome is one of {', '.join(OUTCOMES)}, not {outcome!r}")
    text = _text(note, "note", "a note")
    row = session.get(RatingObjection, objection_id, with_for_update=True)
    if row is None:
        raise NotFound("objection", f"no objection {objection_id}")
    if row.status != "open":
        raise Conflict("objection", f"objection {objection_id} is decided already ({row.status})")
    result = session.get(RatingResult, row.result_id)
    assert result is not None
    run = session.get(RatingRun, result.run_id)
    assert run is not None
    if outcome == "upheld":
        if revised_score is None or revised_score == "":
            raise Invalid("revised_score", "an upheld objection needs the revised score")
        score = _decimal(revised_score, "revised_score")
        method = methodology_service.of_row(methodology_service.get(session, run.methodology_id))
        grade = (revised_grade or "").strip() or method.grade_for(score)
        if grade not in method.grade_names:
            raise Invalid("revised_grade", f"grade is one of {', '.join(method.grade_names)}, not {grade!r}")
        row.revised_score, row.revised_grade = score, grade
    now = now or utc_now()
    row.status = outcome
    row.decided_by = principal.actor[:100]
    row.decided_at = now
    row.decision_note = text
    session.flush()
    payload: dict[str, Any] = {"objection": row.id, "result": result.id, "outcome": outcome, "note": text}
    if outcome == "upheld":
        payload |= {"revised_score": str(row.revised_score), "revised_grade": row.revised_grade}
    _audit(session, row.tenant_id, "rating_objection_decided", f"rating_objection/{row.id}", principal.actor, payload)
    verdict_zh = f"维持异议，得分改为 {row.revised_score}（{row.revised_grade}）" if outcome == "upheld" else "驳回异议"
    verdict_en = (
        f"upheld: score revised to {row.revised_score} ({row.revised_grade})" if outcome == "upheld" else "rejected"
    )
    _notify_quality(
        session,
        row.tenant_id,
        "rating_objection_decided",
        f"服务评价复核决定 {run.period}：{verdict_zh}",
        f"{run.period} 复核申请：{verdict_zh}。{text}\nObjection to the {run.period} rating {verdict_en}. {text}",
        f"rating_objection:{row.id}",
    )
    return row


# -- views (the API and the pages show these) --------------------------------------------------------------------


def methodology_view(row: RatingMethodology, with_body: bool = True) -> dict[str, Any]:
    view: dict[str, Any] = {
        "id": row.id,
        "code": row.code,
        "version": row.version,
        "title": row.title,
        "sha256": row.sha256,
        "active": row.active,
        "created_at": row.created_at,
        "created_by": row.created_by,
    }
    if with_body:
        parsed = methodology_service.of_row(row)
        view |= {
            "title_en": parsed.title_en,
            "body": row.body,
            "indicators": [i.as_dict() for i in parsed.indicators],
            "grades": [{"grade": g.grade, "min": None if g.min is None else float(g.min)} for g in parsed.grades],
            "min_claims": parsed.min_claims,
            "objection_days": parsed.objection_days,
            "decision_days": parsed.decision_days,
        }
    return view


def run_view(session: Session, run: RatingRun) -> dict[str, Any]:
    counts = session.scalars(select(RatingResult.id).where(RatingResult.run_id == run.id)).all()
    return {
        "id": run.id,
        "methodology_id": run.methodology_id,
        "period": run.period,
        "level": run.level,
        "status": run.status,
        "snapshot_taken_at": run.snapshot_taken_at,
        "computed_at": run.computed_at,
        "computed_by": run.computed_by,
        "approved_at": run.approved_at,
        "approved_by": run.approved_by,
        "objections_until": run.objections_until,
        "objections_open": objection_open(run),
        "note": run.note,
        "results": len(counts),
    }


def result_view(
    result: RatingResult,
    tenant_code: str,
    *,
    for_insurer: bool,
    locale: str = "zh",
    objection: RatingObjection | None = None,
) -> dict[str, Any]:
    """One result; ``for_insurer`` leaves out the rank (the insurer sees its rank band, not its place among
    peers). ``objection``: the upheld revision, if any, shown as the final score and grade."""
    catalogue = kpi_loader.by_code()
    indicators = [
        row | {"name": catalogue[row["kpi"]].name(locale) if row["kpi"] in catalogue else row["kpi"]}
        for row in result.indicators
    ]
    view: dict[str, Any] = {
        "id": result.id,
        "run_id": result.run_id,
        "tenant": tenant_code,
        "region_code": result.region_code,
        "score": float(result.score),
        "grade": result.grade,
        "rank_band": result.rank_band,
        "peers": result.peers,
        "indicators": indicators,
        "deductions": result.deductions,
        "deduction_points": float(result.deduction_points),
        "previous_score": None if result.previous_score is None else float(result.previous_score),
        "previous_grade": result.previous_grade,
        "change": None if result.previous_score is None else float(result.score - result.previous_score),
        "revised_score": None,
        "revised_grade": None,
    }
    if objection is not None and objection.status == "upheld" and objection.revised_score is not None:
        view["revised_score"] = float(objection.revised_score)
        view["revised_grade"] = objection.revised_grade
    if not for_insurer:
        view["rank"] = result.rank
    return view


def result_views(
    session: Session, principal: Principal, found: Sequence[RatingResult], locale: str = "zh"
) -> list[dict[str, Any]]:
    codes = _tenant_codes(session)
    upheld = repository.upheld_objections(session, [r.id for r in found])
    return [
        result_view(
            r,
            codes.get(r.tenant_id, str(r.tenant_id)),
            for_insurer=not principal.is_regulator,
            locale=locale,
            objection=upheld.get(r.id),
        )
        for r in found
    ]


def deduction_view(row: RatingDeduction, tenant_code: str) -> dict[str, Any]:
    return {
        "id": row.id,
        "tenant": tenant_code,
        "region_code": row.region_code,
        "period": row.period,
        "kind": row.kind,
        "points": float(row.points),
        "reason": row.reason,
        "reference": row.reference,
        "entered_by": row.entered_by,
        "entered_at": row.entered_at,
        "withdrawn_at": row.withdrawn_at,
        "withdrawn_by": row.withdrawn_by,
    }


def deduction_views(session: Session, rows: Sequence[RatingDeduction]) -> list[dict[str, Any]]:
    codes = _tenant_codes(session)
    return [deduction_view(r, codes.get(r.tenant_id, str(r.tenant_id))) for r in rows]


def objection_views(session: Session, rows: Sequence[RatingObjection]) -> list[dict[str, Any]]:
    codes = _tenant_codes(session)
    results = (
        {r.id: r for r in session.scalars(select(RatingResult).where(RatingResult.id.in_([o.result_id for o in rows])))}
        if rows
        else {}
    )
    runs_by_id = (
        {
            r.id: r
            for r in session.scalars(select(RatingRun).where(RatingRun.id.in_({x.run_id for x in results.values()})))
        }
        if results
        else {}
    )
    views = []
    for row in rows:
        result = results.get(row.result_id)
        run = runs_by_id.get(result.run_id) if result is not None else None
        views.append(
            {
                "id": row.id,
                "result_id": row.result_id,
                "run_id": None if result is None else result.run_id,
                "period": None if run is None else run.period,
                "tenant": codes.get(row.tenant_id, str(row.tenant_id)),
                "region_code": None if result is None else result.region_code,
                "score": None if result is None else float(result.score),
                "grade": None if result is None else result.grade,
                "filed_by": row.filed_by,
                "filed_at": row.filed_at,
                "reason": row.reason,
                "decide_by": row.decide_by,
                "status": row.status,
                "decided_by": row.decided_by,
                "decided_at": row.decided_at,
                "decision_note": row.decision_note,
                "revised_score": None if row.revised_score is None else float(row.revised_score),
                "revised_grade": row.revised_grade,
            }
        )
    return views


# -- exports (regulator) -------------------------------------------------------------------------------------------


def export_table(
    session: Session, principal: Principal, run_id: int, locale: str = "zh"
) -> tuple[list[str], list[list[Any]]]:
    """A run's results as one table: rank, insurer, branch, score, grade, deductions, previous, and each
    indicator's value, points and contribution."""
    principal.require(Permission.MANAGE_RATINGS)
    run = get_run(session, principal, run_id)
    method = methodology_service.of_row(methodology_service.get(session, run.methodology_id))
    catalogue = kpi_loader.by_code()
    found = results(session, principal, run.id)
    codes, names = repository.tenant_codes(session), repository.tenant_names(session)
    zh = locale == "zh"
    header = (
        ["排名", "保险公司代码", "保险公司", "分支机构", "得分", "等级", "扣分", "上期得分", "上期等级"]
        if zh
        else [
            "rank",
            "insurer code",
            "insurer",
            "branch",
            "score",
            "grade",
            "deductions",
            "previous score",
            "previous grade",
        ]
    )
    for indicator in method.indicators:
        name = catalogue[indicator.kpi].name(locale) if indicator.kpi in catalogue else indicator.kpi
        header += (
            [f"{name} 值", f"{name} 得分", f"{name} 贡献"]
            if zh
            else [f"{name} value", f"{name} points", f"{name} contribution"]
        )
    rows: list[list[Any]] = []
    for result in found:
        row: list[Any] = [
            result.rank,
            codes.get(result.tenant_id, ""),
            names.get(result.tenant_id, ""),
            result.region_code or "",
            float(result.score),
            result.grade,
            float(result.deduction_points),
            None if result.previous_score is None else float(result.previous_score),
            result.previous_grade or "",
        ]
        by_kpi = {item["kpi"]: item for item in result.indicators}
        for indicator in method.indicators:
            item = by_kpi.get(indicator.kpi, {})
            row += [item.get("value"), item.get("points"), item.get("contribution")]
        rows.append(row)
    return header, rows


def export_csv(session: Session, principal: Principal, run_id: int, locale: str = "zh") -> str:
    header, rows = export_table(session, principal, run_id, locale)
    return csv_text(header, rows)


def export_xlsx(session: Session, principal: Principal, run_id: int, locale: str = "zh") -> bytes:
    header, rows = export_table(session, principal, run_id, locale)
    run = get_run(session, principal, run_id)
    return xlsx_bytes([(f"{run.period} {run.level}", header, rows)])
