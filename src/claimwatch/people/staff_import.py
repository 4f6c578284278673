"""CSV import of staff and agents with their licences: all or nothing, with a reject report (line, column,
field, message) like the complaint import (whose report types, decoding, header-row reader, date reading and
report file this reuses).

One row per person, or per person × licence: the rows of one code must agree on the person (name, kind, job
title, org unit, account, manager, hire date). A person already recorded is counted as existing and left as they
are (change them on their page or through the API); their licences not yet recorded are added. A licence number
recorded for another person, or twice in the file, is refused. Headers may be the English field names or the
usual Chinese ones; dates as 2026-01-31 or 2026/1/31.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

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
from claimwatch.people import repository, service
from claimwatch.people.models import StaffMember
from claimwatch.people.schemas import LicenceIn, StaffIn
from claimwatch.web.i18n import translate

__all__ = ["ImportRejected", "import_csv", "check"]

MAX_IMPORT_BYTES = 1024 * 1024 - 64 * 1024
HEADERS: dict[str, tuple[str, ...]] = {
    "code": ("code", "工号", "人员编码", "代理人编码"),
    "name": ("name", "姓名"),
    "kind": ("kind", "人员类型", "类型"),
    "job_title": ("job_title", "岗位", "职务"),
    "org_unit": ("org_unit", "机构", "机构代码", "所属机构"),
    "username": ("username", "账号", "用户名"),
    "manager": ("manager", "主管", "上级"),
    "hired_on": ("hired_on", "入职日期", "入司日期"),
    "licence_kind": ("licence_kind", "证书类型", "资格类型"),
    "licence_number": ("licence_number", "证书编号", "执业证号"),
    "licence_issued_on": ("licence_issued_on", "发证日期"),
    "licence_expires_on": ("licence_expires_on", "有效期至", "到期日期"),
}
REQUIRED = ("code", "name", "kind", "hired_on")
PERSON = ("code", "name", "kind", "job_title", "org_unit", "username", "manager", "hired_on")
LICENCE = {"kind": "licence_kind", "number": "licence_number", "issued_on": "licence_issued_on"}
LICENCE |= {"expires_on": "licence_expires_on"}
KIND_ALIASES = {"员工": "employee", "内勤": "employee", "职员": "employee", "代理人": "agent", "营销员": "agent"}
LICENCE_ALIASES = {
    "销售": "sales",
    "执业证": "sales",
    "代理人执业证": "sales",
    "销售资格": "sales",
    "理赔": "claims_adjuster",
    "公估": "claims_adjuster",
    "理赔资格": "claims_adjuster",
    "核保": "underwriter",
    "核保资格": "underwriter",
    "其他": "other",
}
_DATES = ("hired_on", "licence_issued_on", "licence_expires_on")


def _aliases(labels: dict[str, str], extra: dict[str, str]) -> dict[str, str]:
    """A code by itself, by its Chinese or English label, or by a usual Chinese name."""
    found = {norm_header(k): v for k, v in extra.items()}
    for code, msgid in labels.items():
        found |= {norm_header(translate(locale, msgid)): code for locale in ("zh", "en")} | {norm_header(code): code}
    return found


@dataclass
class _Person:
    line: int
    values: dict[str, str]
    licences: list[tuple[int, LicenceIn]] = field(default_factory=list)


def _licence(line: int, values: dict[str, str], written: dict[str, str], out: list[Reject]) -> LicenceIn | None:
    given = {name: values[column] for name, column in LICENCE.items() if column in values}
    if not given:
        return None
    body = dict(given)
    if "kind" in body:
        kinds = _aliases(service.LICENCE_KIND_LABELS, LICENCE_ALIASES)
        body["kind"] = kinds.get(norm_header(body["kind"]), body["kind"])
    return validated(LicenceIn, body, line, written, out, renamed=LICENCE)


def check(
    session: Session, tenant_id: int, text: str
) -> tuple[list[StaffIn], list[tuple[str, LicenceIn]], ImportResult]:
    """Every row checked (schema, the register's rules, rows of one code agreeing, licence numbers); nothing
    written. Returns the people to create (with their first licence), the licences to add to people recorded
    already or to the new ones' further rows, and the result (counts, rejects)."""
    written, rows, rejects = read_table(text, HEADERS, REQUIRED)
    result = ImportResult(rows=len(rows), rejects=rejects)
    if any(r.line == 1 for r in rejects):
        return [], [], result
    kinds = _aliases(service.KIND_LABELS, KIND_ALIASES)
    people: dict[str, _Person] = {}
    numbers: dict[tuple[str, str], int] = {}
    for line, values in rows:
        values = {k: (parse_day(v) if k in _DATES else v) for k, v in values.items()}
        if "kind" in values:
            values["kind"] = kinds.get(norm_header(values["kind"]), values["kind"])
        licence = _licence(line, values, written, result.rejects)
        fields = {k: values[k] for k in PERSON if k in values}
        code = fields.get("code", "")
        first = people.get(code)
        if first is None:
            people[code] = first = _Person(line, fields)
        else:
            for name in PERSON:
                if fields.get(name) != first.values.get(name):
                    before = first.values.get(name) or "—"
                    message = f"staff {code!r}: {name} differs from line {first.line} ({before})"
                    result.rejects.append(Reject(line, written.get(name), name, message))
        if licence is not None:
            key = (licence.kind, licence.number.strip())
            seen = numbers.setdefault(key, line)
            if seen != line:
                message = f"licence {licence.number!r} ({licence.kind}) repeats line {seen}"
                result.rejects.append(Reject(line, written.get("licence_number"), "licence_number", message))
                continue
            for problem in service.licence_problems(session, tenant_id, licence):
                column = LICENCE.get(problem.field, problem.field)
                result.rejects.append(Reject(line, written.get(column), column, problem.message))
            first.licences.append((line, licence))
    to_create: list[StaffIn] = []
    to_add: list[tuple[str, LicenceIn]] = []
    for code, person in people.items():
        ok, staff = _check_person(session, tenant_id, person, written, result)
        for line, licence in person.licences:
            recorded = repository.licence_by_number(session, tenant_id, licence.kind, licence.number.strip())
            if recorded is not None and (staff is None or recorded.staff_id != staff.id):
                message = f"licence {licence.number!r} ({licence.kind}) is recorded for another person"
                result.rejects.append(Reject(line, written.get("licence_number"), "licence_number", message))
            elif recorded is None:
                to_add.append((code, licence))
        if ok and staff is None:
            to_create.append(StaffIn.model_validate(person.values))
    result.rejects.sort(key=lambda r: (r.line, r.column or ""))
    return to_create, to_add, result


def _check_person(
    session: Session, tenant_id: int, person: _Person, written: dict[str, str], result: ImportResult
) -> tuple[bool, StaffMember | None]:
    """(whether the person's fields are valid, the person when recorded already: counted as existing)."""
    data = validated(StaffIn, person.values, person.line, written, result.rejects)
    if data is None:
        return False, None
    problems = service.resolve(session, tenant_id, data).problems
    result.rejects += [Reject(person.line, written.get(p.field), p.field, p.message) for p in problems]
    found = repository.staff_by_code(session, tenant_id, data.code)
    if found is not None:
        result.existing += 1
    return not problems, found


def import_csv(
    session: Session,
    principal: Principal,
    content: bytes | str,
    *,
    dry_run: bool = False,
    progress: Callable[[int, int], None] | None = None,
) -> ImportResult:
    """Import the staff file in the caller's transaction, or raise :class:`ImportRejected` with the report (the
    caller rolls back: nothing of the file is kept). ``numbers``: the staff codes created."""
    principal.require(Permission.MANAGE_PEOPLE)
    tenant_id = service.tenant_of(principal)
    text = decode(content) if isinstance(content, bytes) else content
    people, licences, result = check(session, tenant_id, text)
    result.dry_run = dry_run
    if result.rejects:
        raise ImportRejected(result)
    if dry_run:
        return result
    total = len(people) + len(licences)
    for done, data in enumerate(people, start=1):
        result.numbers.append(service.create_staff(session, principal, data).code)
        result.created += 1
        if progress is not None:
            progress(done, total)
    for done, (code, licence) in enumerate(licences, start=len(people) + 1):
        service.add_licence(session, principal, code, licence)
        if progress is not None:
            progress(done, total)
    return result
