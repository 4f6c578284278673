"""CSV import of applications (投保申请): all or nothing, with a reject report (line, column, field, message), like
the complaint import (whose report types, decoding, header-row reader, time parsing and report file this reuses).

Every row is checked (schema, agent, org unit) before anything is written; one bad row and nothing is recorded.
An application number recorded before is counted as existing. Headers may be the English field names or the usual
Chinese ones; ``health`` lists the questionnaire answers that were "yes" (separated by ``;`` ``,`` ``、`` or ``|``);
``smoker`` is yes/no (是/否). Times without an offset are the insurer's local time."""

from __future__ import annotations

import datetime as dt
import re
from typing import Any

from sqlalchemy.orm import Session

from claimwatch.auth.principal import Permission, Principal
from claimwatch.complaints.importer import (
    ImportRejected,
    ImportResult,
    Reject,
    decode,
    norm_header,
    parse_time,
    read_table,
    validated,
)
from claimwatch.policies import underwriting
from claimwatch.policies import underwriting_repository as repository
from claimwatch.policies.underwriting_schemas import ApplicationIn
from claimwatch.tenancy import service as tenancy_service

MAX_IMPORT_BYTES = 1024 * 1024 - 64 * 1024  # within the one request cap (web.limits)
HEADERS: dict[str, tuple[str, ...]] = {
    "application_number": ("application_number", "投保单号", "投保申请号", "申请号"),
    "product_code": ("product_code", "产品代码", "险种代码"),
    "line": ("line", "险类", "业务线"),
    "channel": ("channel", "渠道", "销售渠道"),
    "agent_code": ("agent_code", "代理人工号", "业务员工号", "代理人代码"),
    "org_code": ("org_code", "机构代码", "机构编码"),
    "name": ("name", "投保人", "applicant_name", "被保险人姓名", "姓名"),
    "id_number": ("id_number", "证件号码", "身份证号"),
    "phone": ("phone", "联系电话", "手机号"),
    "sum_insured": ("sum_insured", "保额", "保险金额"),
    "premium": ("premium", "保费"),
    "age": ("age", "年龄", "投保年龄"),
    "occupation_class": ("occupation_class", "职业类别"),
    "height_cm": ("height_cm", "身高"),
    "weight_kg": ("weight_kg", "体重"),
    "bmi": ("bmi", "体重指数"),
    "smoker": ("smoker", "吸烟"),
    "health": ("health", "健康告知"),
    "received_at": ("received_at", "投保时间", "申请时间"),
}
REQUIRED = ("application_number", "product_code", "line", "channel", "sum_insured", "age")
_APPLICANT = ("name", "id_number", "phone")
_FACTS = ("age", "occupation_class", "height_cm", "weight_kg", "bmi", "smoker", "health")
_SEPARATORS = re.compile(r"[,;，；、|]")
_YES = {"yes", "y", "true", "1", "是", "有"}
_NO = {"no", "n", "false", "0", "否", "无"}


def _body(values: dict[str, str], zone: dt.tzinfo) -> dict[str, Any]:
    """The row as an ApplicationIn body; a value it cannot read raises ValueError naming the field."""
    body: dict[str, Any] = {"applicant": {}, "facts": {}}
    for name, raw in values.items():
        if name in _APPLICANT:
            body["applicant"][name] = raw
        elif name == "smoker":
            if norm_header(raw) not in _YES | _NO:
                raise ValueError(name, "smoker is yes or no (是/否)")
            body["facts"][name] = norm_header(raw) in _YES
        elif name == "health":
            body["facts"][name] = {part.strip(): True for part in _SEPARATORS.split(raw) if part.strip()}
        elif name in _FACTS:
            body["facts"][name] = raw
        elif name == "received_at":
            try:
                body[name] = parse_time(raw, zone)
            except ValueError as exc:
                raise ValueError(name, str(exc)) from None
        else:
            body[name] = raw
    return body


def check(session: Session, text: str, zone: dt.tzinfo) -> tuple[list[tuple[int, ApplicationIn]], ImportResult]:
    """Parse and validate every row; nothing is written."""
    written, rows, rejects = read_table(text, HEADERS, REQUIRED)
    result = ImportResult(rows=len(rows), rejects=rejects)
    if any(r.line == 1 for r in rejects):
        return [], result
    valid: list[tuple[int, ApplicationIn]] = []
    seen: dict[str, int] = {}
    for row_line, values in rows:
        try:
            body = _body(values, zone)
        except ValueError as exc:
            name, message = exc.args
            result.rejects.append(Reject(row_line, written.get(name), name, message))
            continue
        data = validated(ApplicationIn, body, row_line, written, result.rejects, innermost=True)
        if data is None:
            continue
        problems = underwriting.problems_of(session, data)
        column_of = {"agent": "agent_code"}
        for name, message in problems:
            result.rejects.append(Reject(row_line, written.get(column_of.get(name, name)), name, message))
        first = seen.setdefault(data.application_number, row_line)
        if first != row_line:
            message = f"application {data.application_number} repeats line {first}"
            result.rejects.append(Reject(row_line, written["application_number"], "application_number", message))
        elif not problems:
            valid.append((row_line, data))
    result.rejects.sort(key=lambda r: (r.line, r.column or ""))
    return valid, result


def import_csv(session: Session, principal: Principal, content: bytes | str, *, dry_run: bool = False) -> ImportResult:
    """Import every row in the caller's transaction, or raise :class:`ImportRejected` with the report (the caller
    rolls back: nothing of the file is kept)."""
    principal.require(Permission.SUBMIT_APPLICATIONS)
    text = decode(content) if isinstance(content, bytes) else content
    valid, result = check(session, text, tenancy_service.tenant_zone(session, principal.tenant_id))
    result.dry_run = dry_run
    if result.rejects:
        raise ImportRejected(result)
    existing = repository.existing_numbers(session, [data.application_number for _, data in valid])
    if dry_run:
        result.existing = len(existing)
        result.created = len(valid) - len(existing)
        return result
    for _, data in valid:
        case, created = underwriting.submit(session, principal, data, source="import")
        result.numbers.append(case.application_number)
        result.created += int(created)
        result.existing += int(not created)
    return result
