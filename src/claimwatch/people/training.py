"""Training (培训): courses, sessions and attendance, who still owes a mandatory course, and coverage by org.

Writes (MANAGE_PEOPLE, audited ``people.training_*`` in the caller's transaction; nothing here commits):
a course (code unique per insurer, a known kind, hours > 0), a session of a course (none named: 422 on
``course``), a person's attendance (by staff code; hours at most the course's; once per session). Attending a
course of kind ``remedial`` without failing it completes the person's open mandatory trainings from the
sanctions domain (:class:`~claimwatch.sanctions.models.MandatoryTraining`, 重点培训 after repeat violations): the
person is matched by platform user or by their staff code as the sanction's party; the trainings whose topic is
the course's title or code, or, when none is, every open one of the person (audited ``sanction.training``).

Reads: :func:`requirements` (per person, each mandatory course with its due date and state: done, due, overdue;
from the rules file, :mod:`training_rules`, and the sanctions' mandatory trainings), :func:`coverage_by_org`
(per org unit, rolled up its subtree: the people a requirement has fallen due for, those with nothing
overdue, the coverage %, hours this year) and :func:`person_record` (the person page's section).

What counts for coverage: a requirement done, or past its due date. A new hire still within their induction
period is *due* (listed with the date) but not yet counted against their unit; once the date passes without an
attendance they are overdue and the unit drops below 100 %.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Collection, Iterable
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session

from claimwatch.audit import service as audit_service
from claimwatch.auth.principal import Permission, Principal
from claimwatch.db import utc_now
from claimwatch.errors import Conflict, Forbidden, Invalid, NotFound
from claimwatch.params import checked_date
from claimwatch.people import repository as people_repository
from claimwatch.people import training_rules
from claimwatch.people.models import StaffMember, TrainingAttendance, TrainingCourse, TrainingSession
from claimwatch.people.training_schemas import AttendanceIn, CourseIn, SessionIn
from claimwatch.sanctions.models import MandatoryTraining, Violation
from claimwatch.tenancy import repository as tenancy_repository
from claimwatch.tenancy import service as tenancy_service
from claimwatch.tenancy.models import OrgUnit
from claimwatch.web.i18n import N_

COURSE_KINDS = ("induction", "product", "compliance", "service", "remedial", "other")
COURSE_KIND_LABELS = {
    "induction": N_("Induction"),
    "product": N_("Product"),
    "compliance": N_("Compliance"),
    "service": N_("Service"),
    "remedial": N_("Remedial (after a violation)"),
    "other": N_("Other"),
}
STATES = ("done", "due", "overdue")
STATE_LABELS = {"done": N_("Done"), "due": N_("Not yet due"), "overdue": N_("Overdue")}
PERSON_STATE_LABELS = {
    "complete": N_("Up to date"),
    "pending": N_("Due soon"),
    "overdue": N_("Overdue"),
    "none": N_("Nothing required"),
}
SANCTION_SOURCE = "sanction"
RULE_SOURCE = "rule"
NOTICE_OVERDUE = "training_overdue"  # staff notice kind (notify.staff_notices.KIND_LABELS gives its label)


def tenant_of(principal: Principal) -> int:
    if principal.tenant_id is None:
        raise Forbidden("tenant", "training records belong to one insurer; this account belongs to none")
    return principal.tenant_id


def today(session: Session, tenant_id: int, now: dt.datetime | None = None) -> dt.date:
    return (now or utc_now()).astimezone(tenancy_service.tenant_zone(session, tenant_id)).date()


def _key(text: str) -> str:
    return " ".join(text.split()).lower()


def course_url(code: str) -> str:
    return f"/people/training/courses/{code}"


def session_url(session_id: int) -> str:
    return f"/people/training/sessions/{session_id}"


def add_months(day: dt.date, months: int) -> dt.date:
    """The same day ``months`` calendar months later (clamped to the month's length)."""
    index = day.year * 12 + day.month - 1 + months
    year, month = divmod(index, 12)
    month += 1
    following = dt.date(year + (month == 12), month % 12 + 1, 1)
    return day.replace(year=year, month=month, day=min(day.day, (following - dt.timedelta(days=1)).day))


# -- reading records ---------------------------------------------------------------------------------------


def course_by_code(session: Session, tenant_id: int, code: str) -> TrainingCourse | None:
    statement = select(TrainingCourse).where(TrainingCourse.tenant_id == tenant_id, TrainingCourse.code == code)
    return session.execute(statement).scalar_one_or_none()


def get_course(session: Session, tenant_id: int, code: str) -> TrainingCourse:
    course = course_by_code(session, tenant_id, code)
    if course is None:
        raise NotFound("course", f"no course {code!r}")
    return course


def get_session(session: Session, tenant_id: int, session_id: int) -> TrainingSession:
    found = session.get(TrainingSession, session_id)
    if found is None or found.tenant_id != tenant_id:
        raise NotFound("session", f"no training session {session_id}")
    return found


def _staff(session: Session, tenant_id: int, code: str) -> StaffMember:
    person = people_repository.staff_by_code(session, tenant_id, code)
    if person is None:
        raise Invalid("staff", f"no staff member or agent with code {code!r}")
    return person


# -- writes ------------------------------------------------------------------------------------------------


def create_course(session: Session, principal: Principal, data: CourseIn) -> TrainingCourse:
    principal.require(Permission.MANAGE_PEOPLE)
    tenant_id = tenant_of(principal)
    if data.kind not in COURSE_KINDS:
        raise Invalid("kind", f"a course kind is one of {', '.join(COURSE_KINDS)}, not {data.kind!r}")
    if course_by_code(session, tenant_id, data.code) is not None:
        raise Conflict("code", f"course {data.code!r} is already recorded")
    course = TrainingCourse(
        tenant_id=tenant_id,
        code=data.code,
        title=data.title.strip(),
        kind=data.kind,
        hours=float(data.hours),
        lines=sorted(set(data.lines)),
        created_by=principal.actor,
        created_at=utc_now(),
    )
    session.add(course)
    session.flush()
    payload = {"action": "create", "title": course.title, "kind": course.kind, "hours": course.hours}
    audit_service.record(session, tenant_id, "people.training_course", course.code, principal.actor, payload)
    return course


def add_session(session: Session, principal: Principal, data: SessionIn) -> TrainingSession:
    """A session of a course: without a course, or an unknown or retired one, 422 naming ``course``."""
    principal.require(Permission.MANAGE_PEOPLE)
    tenant_id = tenant_of(principal)
    if not data.course:
        raise Invalid("course", "a training session needs its course (the course code)")
    course = course_by_code(session, tenant_id, data.course)
    if course is None:
        raise Invalid("course", f"no course {data.course!r}: record the course first")
    if not course.active:
        raise Invalid("course", f"course {data.course!r} is no longer given")
    org_unit_id = None
    if data.org_unit:
        unit = tenancy_repository.org_unit_by_code(session, data.org_unit)
        if unit is None or unit.tenant_id != tenant_id:
            raise Invalid("org_unit", f"no org unit {data.org_unit!r}")
        org_unit_id = unit.id
    found = TrainingSession(
        tenant_id=tenant_id,
        course_id=course.id,
        held_on=checked_date("held_on", data.held_on),
        trainer=data.trainer.strip(),
        location=(data.location or "").strip() or None,
        org_unit_id=org_unit_id,
        created_by=principal.actor,
        created_at=utc_now(),
    )
    session.add(found)
    session.flush()
    payload = {
        "action": "create",
        "course": course.code,
        "held_on": found.held_on.isoformat(),
        "trainer": found.trainer,
    }
    audit_service.record(session, tenant_id, "people.training_session", str(found.id), principal.actor, payload)
    return found


def attendance_problems(
    session: Session, tenant_id: int, course: TrainingCourse, held_id: int | None, data: AttendanceIn
) -> list[tuple[str, str]]:
    """What refuses an attendance (field, message), checked without writing (the import uses it too;
    ``held_id`` None: a session the import is about to record)."""
    problems: list[tuple[str, str]] = []
    person = people_repository.staff_by_code(session, tenant_id, data.staff)
    if person is None:
        problems.append(("staff", f"no staff member or agent with code {data.staff!r}"))
    if data.hours is not None and data.hours > course.hours:
        problems.append(("hours", f"at most the course's {course.hours:g} hours, not {data.hours:g}"))
    if person is not None and held_id is not None:
        taken = session.execute(
            select(TrainingAttendance.id).where(
                TrainingAttendance.session_id == held_id, TrainingAttendance.staff_id == person.id
            )
        ).first()
        if taken is not None:
            problems.append(("staff", f"{data.staff!r} is already recorded at this session"))
    return problems


def record_attendance(
    session: Session, principal: Principal, session_id: int, data: AttendanceIn, at: dt.datetime | None = None
) -> TrainingAttendance:
    principal.require(Permission.MANAGE_PEOPLE)
    tenant_id = tenant_of(principal)
    held = get_session(session, tenant_id, session_id)
    course = session.get(TrainingCourse, held.course_id)
    assert course is not None  # a foreign key
    problems = attendance_problems(session, tenant_id, course, held.id, data)
    if problems:
        field_name, message = problems[0]
        raise (Conflict if "already recorded" in message else Invalid)(field_name, message)
    person = _staff(session, tenant_id, data.staff)
    at = at or utc_now()
    attendance = TrainingAttendance(
        tenant_id=tenant_id,
        session_id=held.id,
        staff_id=person.id,
        hours=float(data.hours if data.hours is not None else course.hours),
        passed=data.passed,
        score=data.score,
        recorded_by=principal.actor,
        recorded_at=at,
    )
    session.add(attendance)
    session.flush()
    completed: list[int] = []
    if course.kind == "remedial" and attendance.passed is not False:
        completed = _complete_mandatory(session, principal, tenant_id, person, course, attendance, at)
    payload = {
        "action": "attend",
        "session": held.id,
        "course": course.code,
        "held_on": held.held_on.isoformat(),
        "staff": person.code,
        "hours": attendance.hours,
        "passed": attendance.passed,
        "score": attendance.score,
        "mandatory_completed": completed,
    }
    audit_service.record(session, tenant_id, "people.training_attendance", person.code, principal.actor, payload)
    return attendance


def _mandatory_of(
    session: Session, tenant_id: int, people: Iterable[StaffMember]
) -> dict[int, list[MandatoryTraining]]:
    """The sanctions' mandatory trainings of each person (staff id): by platform user, or by staff code as the
    sanction's party (an agent, usually no platform user)."""
    people = list(people)
    by_user = {p.user_id: p.id for p in people if p.user_id is not None}
    by_code = {_key(p.code): p.id for p in people}
    if not people:
        return {}
    statement = select(MandatoryTraining).where(
        MandatoryTraining.tenant_id == tenant_id,
        or_(MandatoryTraining.user_id.in_(list(by_user)), MandatoryTraining.party_key.in_(list(by_code))),
    )
    found: dict[int, list[MandatoryTraining]] = defaultdict(list)
    for training in session.execute(statement.order_by(MandatoryTraining.due_on, MandatoryTraining.id)).scalars():
        staff_id = by_user.get(training.user_id) if training.user_id is not None else None
        if staff_id is None and training.user_id is None:
            staff_id = by_code.get(training.party_key)
        if staff_id is not None:
            found[staff_id].append(training)
    return found


def _complete_mandatory(
    session: Session,
    principal: Principal,
    tenant_id: int,
    person: StaffMember,
    course: TrainingCourse,
    attendance: TrainingAttendance,
    at: dt.datetime,
) -> list[int]:
    open_ones = [t for t in _mandatory_of(session, tenant_id, [person]).get(person.id, []) if t.completed_at is None]
    names = {_key(course.title), _key(course.code)}
    matching = [t for t in open_ones if _key(t.topic) in names] or open_ones
    for training in matching:
        training.completed_at, training.completed_by = at, principal.actor
        payload = {
            "action": "complete",
            "party": training.party,
            "topic": training.topic,
            "at": at.isoformat(),
            "by": "attendance",
            "course": course.code,
            "attendance": attendance.id,
        }
        audit_service.record(session, tenant_id, "sanction.training", str(training.id), principal.actor, payload)
    session.flush()
    return [t.id for t in matching]


# -- requirements ------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Requirement:
    """One mandatory course a person owes or has taken: ``source`` rule (the rules file) or sanction (a
    violation's mandatory training, ``reference`` the violation number)."""

    source: str
    course: str  # the course code (a rule) or the training's topic (a sanction)
    title: str
    due_on: dt.date
    state: str  # done | due | overdue
    last_on: dt.date | None = None  # the attendance (or completion) that satisfies it
    next_due_on: dt.date | None = None  # a recurring course taken: when it falls due again
    reference: str | None = None

    @property
    def counted(self) -> bool:
        """Counted for coverage: done, or past its due date."""
        return self.state in ("done", "overdue")

    def as_dict(self) -> dict[str, Any]:
        return {
            "source": self.source,
            "course": self.course,
            "title": self.title,
            "due_on": self.due_on.isoformat(),
            "state": self.state,
            "last_on": self.last_on.isoformat() if self.last_on else None,
            "next_due_on": self.next_due_on.isoformat() if self.next_due_on else None,
            "reference": self.reference,
        }


@dataclass
class PersonRequirements:
    staff_id: int
    code: str
    name: str
    kind: str
    job_title: str | None
    org_unit_id: int | None
    user_id: int | None
    manager_user_id: int | None
    requirements: list[Requirement] = field(default_factory=list)
    hours_this_year: float = 0.0
    hours_minimum: float = 0.0

    @property
    def state(self) -> str:
        """complete (everything done) | pending (something due, nothing overdue) | overdue | none."""
        if not self.requirements:
            return "none"
        if any(r.state == "overdue" for r in self.requirements):
            return "overdue"
        return "pending" if any(r.state == "due" for r in self.requirements) else "complete"

    @property
    def required(self) -> bool:
        return any(r.counted for r in self.requirements)

    @property
    def complete(self) -> bool:
        return self.required and not any(r.state == "overdue" for r in self.requirements)

    @property
    def missing(self) -> list[Requirement]:
        return [r for r in self.requirements if r.state != "done"]

    def as_dict(self) -> dict[str, Any]:
        return {
            "staff": self.code,
            "name": self.name,
            "kind": self.kind,
            "job_title": self.job_title,
            "state": self.state,
            "hours_this_year": round(self.hours_this_year, 2),
            "hours_minimum": self.hours_minimum,
            "requirements": [r.as_dict() for r in self.requirements],
        }


def _active_on(on: dt.date) -> Any:
    return (
        (StaffMember.hired_on <= on)
        & (StaffMember.status != "left")
        & or_(StaffMember.left_on.is_(None), StaffMember.left_on > on)
    )


def _last_attended(
    session: Session, tenant_id: int, staff_ids: list[int], on: dt.date
) -> dict[tuple[int, str], dt.date]:
    """(staff id, course code) -> the latest session held on or before ``on`` they attended without failing."""
    statement = (
        select(TrainingAttendance.staff_id, TrainingCourse.code, func.max(TrainingSession.held_on))
        .join(TrainingSession, TrainingSession.id == TrainingAttendance.session_id)
        .join(TrainingCourse, TrainingCourse.id == TrainingSession.course_id)
        .where(
            TrainingAttendance.tenant_id == tenant_id,
            TrainingAttendance.staff_id.in_(staff_ids),
            TrainingSession.held_on <= on,
            or_(TrainingAttendance.passed.is_(None), TrainingAttendance.passed.is_(True)),
        )
        .group_by(TrainingAttendance.staff_id, TrainingCourse.code)
    )
    return {(int(s), str(c)): d for s, c, d in session.execute(statement)}


def _hours(session: Session, tenant_id: int, staff_ids: list[int], since: dt.date, on: dt.date) -> dict[int, float]:
    statement = (
        select(TrainingAttendance.staff_id, func.sum(TrainingAttendance.hours))
        .join(TrainingSession, TrainingSession.id == TrainingAttendance.session_id)
        .where(
            TrainingAttendance.tenant_id == tenant_id,
            TrainingAttendance.staff_id.in_(staff_ids),
            TrainingSession.held_on >= since,
            TrainingSession.held_on <= on,
        )
        .group_by(TrainingAttendance.staff_id)
    )
    return {int(s): float(h or 0) for s, h in session.execute(statement)}


def _rule_requirement(
    rule: training_rules.MandatoryRule, person: StaffMember, title: str, last: dt.date | None, on: dt.date
) -> Requirement:
    first_due = person.hired_on + dt.timedelta(days=rule.within_days_of_hire)
    if last is not None and rule.every_months is None:
        return Requirement(RULE_SOURCE, rule.course, title, first_due, "done", last_on=last)
    if last is not None and rule.every_months is not None:
        again = add_months(last, rule.every_months)
        if on < again:
            return Requirement(RULE_SOURCE, rule.course, title, first_due, "done", last_on=last, next_due_on=again)
        return Requirement(RULE_SOURCE, rule.course, title, again, "overdue" if on > again else "due", last_on=last)
    return Requirement(RULE_SOURCE, rule.course, title, first_due, "overdue" if on > first_due else "due")


def _sanction_requirement(
    training: MandatoryTraining, violation_number: str | None, on: dt.date, zone: Any
) -> Requirement:
    if training.completed_at is not None:
        done_on = training.completed_at.astimezone(zone).date()
        return Requirement(
            SANCTION_SOURCE, training.topic, training.topic, training.due_on, "done", done_on, None, violation_number
        )
    state = "overdue" if on > training.due_on else "due"
    return Requirement(
        SANCTION_SOURCE, training.topic, training.topic, training.due_on, state, None, None, violation_number
    )


def requirements(
    session: Session, tenant_id: int, on: dt.date, staff_ids: Collection[int] | None = None
) -> list[PersonRequirements]:
    """Per active person (of ``staff_ids`` when given), the mandatory courses with their due date and state, and
    the hours of this calendar year against the minimum. A handful of queries whatever the number of people."""
    rules = training_rules.rules_for(session, tenant_id)
    statement = select(StaffMember).where(StaffMember.tenant_id == tenant_id, _active_on(on))
    if staff_ids is not None:
        statement = statement.where(StaffMember.id.in_(list(staff_ids)))
    people = list(session.execute(statement.order_by(StaffMember.code)).scalars())
    if not people:
        return []
    ids = [p.id for p in people]
    last = _last_attended(session, tenant_id, ids, on)
    hours = _hours(session, tenant_id, ids, dt.date(on.year, 1, 1), on)
    titles = dict(
        session.execute(
            select(TrainingCourse.code, TrainingCourse.title).where(TrainingCourse.tenant_id == tenant_id)
        ).all()
    )
    mandatory = _mandatory_of(session, tenant_id, people)
    violation_ids = {t.violation_id for found in mandatory.values() for t in found}
    numbers = (
        dict(session.execute(select(Violation.id, Violation.number).where(Violation.id.in_(violation_ids))).all())
        if violation_ids
        else {}
    )
    zone = tenancy_service.tenant_zone(session, tenant_id)
    found: list[PersonRequirements] = []
    for person in people:
        row = PersonRequirements(
            person.id,
            person.code,
            person.name,
            person.kind,
            person.job_title,
            person.org_unit_id,
            person.user_id,
            person.manager_user_id,
            hours_this_year=hours.get(person.id, 0.0),
            hours_minimum=rules.yearly_hours.get(person.kind, 0.0),
        )
        for rule in rules.rules_for(person.kind, person.job_title):
            title = str(titles.get(rule.course, rule.course))
            row.requirements.append(_rule_requirement(rule, person, title, last.get((person.id, rule.course)), on))
        for training in mandatory.get(person.id, []):
            row.requirements.append(_sanction_requirement(training, numbers.get(training.violation_id), on, zone))
        row.requirements.sort(key=lambda r: (STATES.index(r.state) * -1, r.due_on, r.course))
        found.append(row)
    return found


# -- coverage ----------------------------------------------------------------------------------------------


@dataclass
class OrgCoverage:
    """One org unit with everything below it (``org_unit_id`` None: the people of no unit, or the total)."""

    org_unit_id: int | None
    code: str
    name: str
    depth: int
    required: int = 0
    complete: int = 0
    overdue: int = 0
    pending: int = 0
    hours: float = 0.0
    people: int = 0

    @property
    def coverage(self) -> float | None:
        return None if self.required == 0 else round(100.0 * self.complete / self.required, 1)

    def below(self, target: float) -> bool:
        return self.coverage is not None and self.coverage < target

    def as_dict(self, target: float) -> dict[str, Any]:
        return {
            "org_unit": self.code or None,
            "name": self.name,
            "depth": self.depth,
            "people": self.people,
            "required": self.required,
            "complete": self.complete,
            "overdue": self.overdue,
            "pending": self.pending,
            "coverage": self.coverage,
            "below_target": self.below(target),
            "hours": round(self.hours, 2),
        }


def _add(row: OrgCoverage, person: PersonRequirements) -> None:
    row.people += 1
    row.hours += person.hours_this_year
    row.required += person.required
    row.complete += person.complete
    row.overdue += person.state == "overdue"
    row.pending += person.state == "pending"


def coverage_from(
    session: Session, tenant_id: int, people: list[PersonRequirements], *, all_units: bool = True
) -> tuple[OrgCoverage, list[OrgCoverage]]:
    """(the total, one row per org unit in tree order, each rolled up its subtree). Without ``all_units`` only
    the units some person counts in (a supervisor's view)."""
    units = [u for u in tenancy_repository.org_units(session) if u.tenant_id == tenant_id]
    by_id: dict[int, OrgUnit] = {u.id: u for u in units}
    rows: dict[int, OrgCoverage] = {
        u.id: OrgCoverage(u.id, u.code, u.name, max(0, u.path.strip("/").count("/"))) for u in units
    }
    total = OrgCoverage(None, "", "", 0)
    unplaced = OrgCoverage(None, "", "", 0)
    for person in people:
        _add(total, person)
        unit = by_id.get(person.org_unit_id) if person.org_unit_id is not None else None
        if unit is None:
            _add(unplaced, person)
            continue
        for part in unit.path.strip("/").split("/"):
            if part.isdigit() and int(part) in rows:
                _add(rows[int(part)], person)
    ordered = sorted(units, key=lambda u: [int(p) for p in u.path.strip("/").split("/") if p.isdigit()])
    found = [rows[u.id] for u in ordered if all_units or rows[u.id].people]
    if unplaced.people:
        found.append(unplaced)
    return total, found


def coverage_by_org(
    session: Session, tenant_id: int, on: dt.date, staff_ids: Collection[int] | None = None
) -> list[OrgCoverage]:
    """Per org unit (rolled up the tree), the people required, complete, the coverage % and the hours this
    year; the last row the people of no unit, when there are any."""
    people = requirements(session, tenant_id, on, staff_ids)
    return coverage_from(session, tenant_id, people, all_units=staff_ids is None)[1]


def person_record(session: Session, tenant_id: int, staff_id: int, on: dt.date | None = None) -> dict[str, Any]:
    """The training section of a person's page: requirements with state, hours this year against the minimum,
    and the sessions attended (newest first). Labels are msgids (the template translates them)."""
    on = on or today(session, tenant_id)
    person = session.get(StaffMember, staff_id)
    if person is None or person.tenant_id != tenant_id:
        raise NotFound("staff", f"no staff member {staff_id}")
    found = requirements(session, tenant_id, on, [staff_id])
    rules = training_rules.rules_for(session, tenant_id)
    row = found[0] if found else PersonRequirements(
        person.id, person.code, person.name, person.kind, person.job_title, person.org_unit_id, person.user_id,
        person.manager_user_id, hours_minimum=rules.yearly_hours.get(person.kind, 0.0),
    )  # fmt: skip
    attended = session.execute(
        select(TrainingAttendance, TrainingSession, TrainingCourse)
        .join(TrainingSession, TrainingSession.id == TrainingAttendance.session_id)
        .join(TrainingCourse, TrainingCourse.id == TrainingSession.course_id)
        .where(TrainingAttendance.tenant_id == tenant_id, TrainingAttendance.staff_id == staff_id)
        .order_by(TrainingSession.held_on.desc(), TrainingAttendance.id.desc())
        .limit(200)
    ).all()
    return {
        "state": row.state,
        "state_label": PERSON_STATE_LABELS[row.state],
        "hours_this_year": round(row.hours_this_year, 2),
        "hours_minimum": row.hours_minimum,
        "hours_short": row.hours_minimum > 0 and row.hours_this_year < row.hours_minimum,
        "requirements": [
            r.as_dict()
            | {"state_label": STATE_LABELS[r.state], "url": course_url(r.course) if r.source == RULE_SOURCE else None}
            for r in row.requirements
        ],
        "attended": [
            {
                "course": c.code,
                "title": c.title,
                "kind_label": COURSE_KIND_LABELS.get(c.kind, c.kind),
                "held_on": s.held_on.isoformat(),
                "hours": a.hours,
                "passed": a.passed,
                "score": a.score,
                "url": session_url(s.id),
            }
            for a, s, c in attended
        ],
    }
