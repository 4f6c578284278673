"""CSV import of training attendance: all or nothing, with a reject report (line, column, field, message), like
the complaint import (whose report types, decoding, row reader and date reading this reuses).

One row per person at a session. The session is named by its id (``session``), or by its course code and date
(``course`` + ``held_on``): the one session of that course that day; when there is none and the row names a
``trainer``, the session is recorded with the import (rows of the same course, day and trainer share it).
``staff`` is the staff or agent code; ``hours`` default the course's (never more); ``passed`` yes/no (是/否,
通过/未通过; empty: no assessment); ``score`` 0–100. A person already recorded at the session is refused, and so
is the same person twice in the file.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from claimwatch.auth.principal import Permission, Principal
from claimwatch.complaints.importer import (
    ImportRejected,
    ImportResult,
    Reject,
    decode,
    norm_header,
    parse_day,
    read_table,
    validated,
)
from claimwatch.errors import Invalid
from claimwatch.people import training
from claimwatch.people.models import TrainingCourse, TrainingSession
from claimwatch.people.training_schemas import AttendanceIn, SessionIn

MAX_IMPORT_BYTES = 1024 * 1024 - 64 * 1024  # the one request cap (web.limits.DEFAULT_BYTES)
HEADERS: dict[str, tuple[str, ...]] = {
    "session": ("session", "场次编号", "场次", "培训场次"),
    "course": ("course", "课程编码", "课程代码", "课程"),
    "held_on": ("held_on", "培训日期", "日期"),
    "trainer": ("trainer", "讲师", "培训讲师"),
    "staff": ("staff", "工号", "人员编码", "代理人编码", "员工工号"),
    "hours": ("hours", "学时", "培训学时"),
    "passed": ("passed", "考核结果", "是否通过", "通过"),
    "score": ("score", "考核成绩", "成绩", "分数"),
}
REQUIRED = ("staff",)
_YES = {"yes", "y", "true", "1", "是", "通过", "合格", "pass", "passed"}
_NO = {"no", "n", "false", "0", "否", "未通过", "不通过", "不合格", "fail", "failed"}


def _passed(value: str | None) -> bool | None | str:
    if value is None or not value.strip():
        return None
    text = norm_header(value)
    return True if text in _YES else False if text in _NO else value


def _number(value: str | None) -> float | str | None:
    if value is None:
        return None
    try:
        return float(value)
    except ValueError:
        return value


def _date(value: str) -> dt.date | None:
    try:
        return dt.date.fromisoformat(parse_day(value))
    except ValueError:
        return None


class _Sessions:
    """Finds each row's session (or the one the import will record), remembering what it found."""

    def __init__(self, session: Session, tenant_id: int) -> None:
        self.session = session
        self.tenant_id = tenant_id
        self.courses: dict[str, TrainingCourse | None] = {}
        self.planned: dict[tuple[str, dt.date, str], int] = {}  # (course, day, trainer) -> planned index

    def course(self, code: str) -> TrainingCourse | None:
        if code not in self.courses:
            self.courses[code] = training.course_by_code(self.session, self.tenant_id, code)
        return self.courses[code]

    def on_day(self, course: TrainingCourse, day: dt.date) -> list[TrainingSession]:
        statement = select(TrainingSession).where(
            TrainingSession.tenant_id == self.tenant_id,
            TrainingSession.course_id == course.id,
            TrainingSession.held_on == day,
        )
        return list(self.session.execute(statement).scalars())


def check(
    session: Session, tenant_id: int, text: str
) -> tuple[list[tuple[TrainingSession | tuple[str, dt.date, str], AttendanceIn]], ImportResult]:
    """Every row checked; nothing written. Each valid row: (its session, or the (course, day, trainer) of the
    session the import records, the attendance)."""
    written, rows, rejects = read_table(text, HEADERS, REQUIRED)
    result = ImportResult(rows=len(rows), rejects=rejects)
    if any(r.line == 1 for r in rejects):
        return [], result
    if "session" not in written and not {"course", "held_on"} <= set(written):
        message = "name each row's session: a session column, or course and held_on columns"
        result.rejects.append(Reject(1, None, "session", message))
        return [], result
    sessions = _Sessions(session, tenant_id)
    seen: dict[tuple[Any, str], int] = {}
    valid: list[tuple[TrainingSession | tuple[str, dt.date, str], AttendanceIn]] = []

    def reject(line: int, name: str, message: str) -> None:
        result.rejects.append(Reject(line, written.get(name), name, message))

    for line, values in rows:
        body = {
            "staff": values.get("staff"),
            "hours": _number(values.get("hours")),
            "passed": _passed(values.get("passed")),
            "score": _number(values.get("score")),
        }
        data = validated(AttendanceIn, {k: v for k, v in body.items() if v is not None}, line, written, result.rejects)
        target = _target(sessions, values, line, reject)
        if data is None or target is None:
            continue
        held, course = target
        key = (held.id if isinstance(held, TrainingSession) else held, data.staff)
        first = seen.setdefault(key, line)
        if first != line:
            reject(line, "staff", f"{data.staff!r} at this session repeats line {first}")
            continue
        held_id = held.id if isinstance(held, TrainingSession) else None
        problems = training.attendance_problems(session, tenant_id, course, held_id, data)
        for name, message in problems:
            reject(line, name, message)
        if not problems:
            valid.append((held, data))
    result.rejects.sort(key=lambda r: (r.line, r.column or ""))
    return valid, result


def _target(
    sessions: _Sessions, values: dict[str, str], line: int, reject: Callable[[int, str, str], None]
) -> tuple[TrainingSession | tuple[str, dt.date, str], TrainingCourse] | None:
    """The row's session and course, or None (rejected)."""
    if "session" in values:
        ref = values["session"]
        held = sessions.session.get(TrainingSession, int(ref)) if ref.isdigit() and len(ref) < 18 else None
        if held is None or held.tenant_id != sessions.tenant_id:
            reject(line, "session", f"no training session {ref!r}")
            return None
        course = sessions.session.get(TrainingCourse, held.course_id)
        assert course is not None
        return held, course
    code, day_text = values.get("course"), values.get("held_on")
    if not code:
        reject(line, "course", "the course code is required (or the session's id)")
        return None
    course = sessions.course(code)
    if course is None:
        reject(line, "course", f"no course {code!r}: record the course first")
        return None
    day = _date(day_text or "")
    if day is None:
        reject(line, "held_on", f"the session's date as YYYY-MM-DD, not {day_text!r}")
        return None
    found = sessions.on_day(course, day)
    if len(found) == 1:
        return found[0], course
    if len(found) > 1:
        reject(line, "session", f"{len(found)} sessions of {code!r} on {day.isoformat()}: name the session's id")
        return None
    trainer = values.get("trainer")
    if not trainer:
        message = f"no session of {code!r} on {day.isoformat()}: record it first, or give its trainer"
        reject(line, "held_on", message)
        return None
    return (code, day, trainer[:100]), course


def import_csv(
    session: Session,
    principal: Principal,
    content: bytes | str,
    *,
    dry_run: bool = False,
    progress: Callable[[int, int], None] | None = None,
) -> ImportResult:
    """Import attendance in the caller's transaction, or raise :class:`ImportRejected` with the report (the
    caller rolls back: nothing of the file is kept)."""
    principal.require(Permission.MANAGE_PEOPLE)
    tenant_id = training.tenant_of(principal)
    text = decode(content) if isinstance(content, bytes) else content
    if not text.strip():
        raise Invalid("file", "the file is empty")
    valid, result = check(session, tenant_id, text)
    result.dry_run = dry_run
    if result.rejects:
        raise ImportRejected(result)
    if dry_run:
        return result
    made: dict[tuple[str, dt.date, str], TrainingSession] = {}
    for done, (held, data) in enumerate(valid, start=1):
        if not isinstance(held, TrainingSession):
            if held not in made:
                code, day, trainer = held
                made[held] = training.add_session(
                    session, principal, SessionIn(course=code, held_on=day, trainer=trainer)
                )
            held = made[held]
        attendance = training.record_attendance(session, principal, held.id, data)
        result.numbers.append(f"{held.id}:{data.staff}")
        result.created += 1
        del attendance
        if progress is not None:
            progress(done, len(valid))
    return result
