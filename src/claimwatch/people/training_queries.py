"""What the training pages and API show (read models; writes are :mod:`claimwatch.people.training`'s): the
coverage view (by org with the chart's data, the people still missing a mandatory course), its CSV/XLSX, the
course list, a course with its sessions, a session with its attendance. A supervisor sees the people of their
org subtree and those they manage (:func:`claimwatch.people.service.visible_staff_ids`)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from claimwatch.auth.principal import Principal
from claimwatch.people import service as people_service
from claimwatch.people import training, training_rules
from claimwatch.people.models import StaffMember, TrainingAttendance, TrainingCourse, TrainingSession
from claimwatch.tables import csv_text, xlsx_bytes
from claimwatch.tenancy.models import OrgUnit
from claimwatch.web.i18n import N_, translate

MAX_SESSIONS = 500


def person_url(code: str) -> str:
    return f"/people/{code}"


def coverage_view(session: Session, principal: Principal, on: dt.date, locale: str) -> dict[str, Any]:
    """The coverage page and ``GET /api/v1/people/training/coverage``: the total, the org rows (rolled up the
    tree; a supervisor only the units of their people), the missing list (overdue first, then by due date)
    and the rules in force."""
    tenant_id = training.tenant_of(principal)
    visible = people_service.visible_staff_ids(session, principal)
    people = training.requirements(session, tenant_id, on, visible)
    rules = training_rules.rules_for(session, tenant_id)
    total, rows = training.coverage_from(session, tenant_id, people, all_units=visible is None)
    target = rules.coverage_target
    units = {u.id: u for u in session.execute(select(OrgUnit).where(OrgUnit.tenant_id == tenant_id)).scalars()}
    missing: list[dict[str, Any]] = []
    for person in people:
        unit = units.get(person.org_unit_id) if person.org_unit_id is not None else None
        for requirement in person.missing:
            missing.append(
                {
                    "staff": person.code,
                    "name": person.name,
                    "kind": person.kind,
                    "job_title": person.job_title,
                    "org_unit": unit.code if unit else None,
                    "org_name": unit.name if unit else "",
                    "url": person_url(person.code),
                    "source": requirement.source,
                    "course": requirement.course,
                    "title": requirement.title,
                    "course_url": training.course_url(requirement.course)
                    if requirement.source == training.RULE_SOURCE
                    else None,
                    "due_on": requirement.due_on.isoformat(),
                    "state": requirement.state,
                    "state_label": translate(locale, training.STATE_LABELS[requirement.state]),
                    "reference": requirement.reference,
                }
            )
    missing.sort(key=lambda m: (m["state"] != "overdue", m["due_on"], m["staff"], m["course"]))
    org_rows = [row.as_dict(target) for row in rows]
    for row in org_rows:
        if row["org_unit"] is None:
            row["name"] = translate(locale, N_("No org unit"))
    return {
        "on": on.isoformat(),
        "rules": {"version": rules.version, "coverage_target": target, "yearly_hours": rules.yearly_hours},
        "total": total.as_dict(target) | {"name": translate(locale, N_("Whole company"))},
        "orgs": org_rows,
        "missing": missing,
    }


def chart_data(view: dict[str, Any], locale: str) -> dict[str, Any]:
    """The coverage chart (web/static/training.js): one bar per org unit that has people, the target line."""
    rows = [r for r in view["orgs"] if r["required"]]
    return {
        "names": [("\u3000" * r["depth"]) + r["name"] for r in rows],
        "coverage": [r["coverage"] for r in rows],
        "target": view["rules"]["coverage_target"],
        "labels": {
            "coverage": translate(locale, N_("Coverage")) + " %",
            "target": translate(locale, N_("Target")),
        },
    }


def _course_text(row: dict[str, Any]) -> str:
    return row["course"] if row["title"] == row["course"] else f"{row['course']} {row['title']}"


def coverage_tables(view: dict[str, Any], locale: str) -> list[tuple[str, list[str], list[list[Any]]]]:
    """The two sheets of the export: coverage by org, the people still missing a mandatory course."""
    t = translate
    org_header = [
        t(locale, N_("Org unit code")),
        t(locale, N_("Org unit")),
        t(locale, N_("People")),
        t(locale, N_("People required")),
        t(locale, N_("People up to date")),
        t(locale, N_("Coverage")) + " %",
        t(locale, N_("Overdue")),
        t(locale, N_("Hours this year")),
    ]
    org_rows = [
        [
            r["org_unit"] or "",
            r["name"],
            r["people"],
            r["required"],
            r["complete"],
            r["coverage"],
            r["overdue"],
            r["hours"],
        ]
        for r in [*view["orgs"], view["total"]]
    ]
    missing_header = [
        t(locale, N_("Staff code")),
        t(locale, N_("Name")),
        t(locale, N_("Org unit")),
        t(locale, N_("Course")),
        t(locale, N_("Due on")),
        t(locale, N_("State")),
        t(locale, N_("Violation")),
    ]
    missing_rows = [
        [m["staff"], m["name"], m["org_name"], _course_text(m), m["due_on"], m["state_label"], m["reference"] or ""]
        for m in view["missing"]
    ]
    return [
        (t(locale, N_("Coverage by org")), org_header, org_rows),
        (t(locale, N_("Missing mandatory courses")), missing_header, missing_rows),
    ]


def coverage_csv(view: dict[str, Any], locale: str) -> str:
    """The CSV is the missing list (what is acted on); the XLSX has both sheets."""
    name, header, rows = coverage_tables(view, locale)[1]
    return csv_text(header, rows)


def coverage_xlsx(view: dict[str, Any], locale: str) -> bytes:
    return xlsx_bytes(coverage_tables(view, locale))


# -- courses and sessions ----------------------------------------------------------------------------------


def course_row(course: TrainingCourse, locale: str, sessions: int = 0) -> dict[str, Any]:
    return {
        "code": course.code,
        "title": course.title,
        "kind": course.kind,
        "kind_label": translate(locale, training.COURSE_KIND_LABELS.get(course.kind, course.kind)),
        "hours": course.hours,
        "lines": list(course.lines or []),
        "active": course.active,
        "sessions": sessions,
        "url": training.course_url(course.code),
    }


def course_rows(session: Session, tenant_id: int, locale: str) -> list[dict[str, Any]]:
    counts = dict(
        session.execute(
            select(TrainingSession.course_id, func.count())
            .where(TrainingSession.tenant_id == tenant_id)
            .group_by(TrainingSession.course_id)
        ).all()
    )
    courses = session.execute(
        select(TrainingCourse).where(TrainingCourse.tenant_id == tenant_id).order_by(TrainingCourse.code)
    ).scalars()
    return [course_row(c, locale, int(counts.get(c.id, 0))) for c in courses]


def _attendance_counts(session: Session, session_ids: list[int]) -> dict[int, int]:
    if not session_ids:
        return {}
    rows = session.execute(
        select(TrainingAttendance.session_id, func.count())
        .where(TrainingAttendance.session_id.in_(session_ids))
        .group_by(TrainingAttendance.session_id)
    )
    return {int(s): int(n) for s, n in rows}


def session_row(
    held: TrainingSession, course: TrainingCourse, units: dict[int, OrgUnit], attended: int
) -> dict[str, Any]:
    unit = units.get(held.org_unit_id) if held.org_unit_id is not None else None
    return {
        "id": held.id,
        "course": course.code,
        "title": course.title,
        "held_on": held.held_on.isoformat(),
        "trainer": held.trainer,
        "location": held.location,
        "org_unit": unit.code if unit else None,
        "org_name": unit.name if unit else None,
        "attended": attended,
        "url": training.session_url(held.id),
    }


def _units(session: Session, tenant_id: int) -> dict[int, OrgUnit]:
    return {u.id: u for u in session.execute(select(OrgUnit).where(OrgUnit.tenant_id == tenant_id)).scalars()}


def course_view(session: Session, tenant_id: int, code: str, locale: str) -> dict[str, Any]:
    course = training.get_course(session, tenant_id, code)
    held = list(
        session.execute(
            select(TrainingSession)
            .where(TrainingSession.tenant_id == tenant_id, TrainingSession.course_id == course.id)
            .order_by(TrainingSession.held_on.desc(), TrainingSession.id.desc())
            .limit(MAX_SESSIONS)
        ).scalars()
    )
    counts = _attendance_counts(session, [s.id for s in held])
    units = _units(session, tenant_id)
    return course_row(course, locale, len(held)) | {
        "sessions_list": [session_row(s, course, units, counts.get(s.id, 0)) for s in held]
    }


def session_view(session: Session, principal: Principal, session_id: int, locale: str) -> dict[str, Any]:
    """A session with its attendance (a supervisor sees only the attendance of people they may see)."""
    tenant_id = training.tenant_of(principal)
    held = training.get_session(session, tenant_id, session_id)
    course = session.get(TrainingCourse, held.course_id)
    assert course is not None
    visible = people_service.visible_staff_ids(session, principal)
    rows = session.execute(
        select(TrainingAttendance, StaffMember)
        .join(StaffMember, StaffMember.id == TrainingAttendance.staff_id)
        .where(TrainingAttendance.session_id == held.id)
        .order_by(StaffMember.code)
    ).all()
    attendance = [
        {
            "staff": person.code,
            "name": person.name,
            "url": person_url(person.code),
            "hours": a.hours,
            "passed": a.passed,
            "score": a.score,
            "recorded_by": a.recorded_by,
        }
        for a, person in rows
        if visible is None or person.id in visible
    ]
    return session_row(held, course, _units(session, tenant_id), len(rows)) | {
        "course_hours": course.hours,
        "course_kind": course.kind,
        "course_url": training.course_url(course.code),
        "attendance": attendance,
    }
