"""CSV import of service requests (e.g. a call centre's or a WeChat desk's export): all or nothing, with a reject
report (line, column, field, message), on the complaint import's reader (``read_table``, ``validated``,
``parse_time``, ``decode``).

Every row is checked (schema, category, priority, channel, claim, org unit) before anything is written; one bad row
and nothing is recorded. Headers may be the English field names or the usual Chinese ones; categories, priorities
and channels may be codes or their Chinese/English labels. A row whose ``external_ref`` was imported before is
counted as existing. Times without an offset are the insurer's local time."""

from __future__ import annotations

import datetime as dt
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
from claimwatch.servicedesk import categories, repository, service
from claimwatch.servicedesk.schemas import ServiceRequestIn
from claimwatch.tenancy import service as tenancy_service
from claimwatch.web.i18n import translate

__all__ = ["HEADERS", "MAX_IMPORT_BYTES", "ImportRejected", "ImportResult", "check", "import_csv"]

MAX_IMPORT_BYTES = 1024 * 1024 - 64 * 1024  # within the one request cap (web.limits)
HEADERS: dict[str, tuple[str, ...]] = {
    "channel": ("channel", "来源渠道", "渠道"),
    "received_at": ("received_at", "受理时间", "来电时间", "登记时间"),
    "external_ref": ("external_ref", "工单号", "外部编号"),
    "category": ("category", "请求类别", "类别", "业务类型"),
    "priority": ("priority", "优先级", "紧急程度"),
    "subject": ("subject", "主题", "标题"),
    "description": ("description", "内容", "诉求内容", "描述"),
    "name": ("name", "客户姓名", "姓名"),
    "phone": ("phone", "联系电话", "手机号", "电话"),
    "id_number": ("id_number", "证件号码", "身份证号"),
    "policy_number": ("policy_number", "保单号"),
    "claim_number": ("claim_number", "赔案号", "报案号"),
    "org_code": ("org_code", "机构代码", "机构编码"),
}
REQUIRED = ("category", "subject", "description")
_CUSTOMER = ("name", "phone", "id_number")
# The customer's ID number is never quoted in a reject message (a report file may be mailed around).
_SECRET_MESSAGES = {"id_number": "not a valid ID number", "phone": "not a valid phone number"}


def _index(pairs: dict[str, Any]) -> dict[str, str]:
    index: dict[str, str] = {}
    for code, item in pairs.items():
        for name in (code, item.zh, item.en):
            index[norm_header(name)] = code
    return index


def _channels() -> dict[str, str]:
    index: dict[str, str] = {}
    for code, message in service.CHANNEL_LABELS.items():
        for name in (code, translate("zh", message), translate("en", message)):
            index[norm_header(name)] = code
    return index | {norm_header(k): v for k, v in {"电话": "phone", "热线": "phone", "微信": "wechat"}.items()}


def _body(values: dict[str, str], zone: dt.tzinfo, catalogue: categories.Catalogue) -> dict[str, Any]:
    """The row as a ServiceRequestIn body; a value it cannot read raises ValueError(field, message)."""
    body: dict[str, Any] = {"customer": {}}
    for name, raw in values.items():
        if name in _CUSTOMER:
            body["customer"][name] = raw
        elif name == "received_at":
            try:
                body[name] = parse_time(raw, zone)
            except ValueError as exc:
                raise ValueError(name, str(exc)) from None
        elif name == "category":
            body[name] = _index(catalogue.categories).get(norm_header(raw), raw)
        elif name == "priority":
            body[name] = _index(catalogue.priorities).get(norm_header(raw), raw)
        elif name == "channel":
            body[name] = _channels().get(norm_header(raw), raw)
        else:
            body[name] = raw
    return body


def check(session: Session, tenant_id: int, text: str) -> tuple[list[tuple[int, ServiceRequestIn]], ImportResult]:
    """Parse and validate every row; nothing is written."""
    written, rows, rejects = read_table(text, HEADERS, REQUIRED)
    result = ImportResult(rows=len(rows), rejects=rejects)
    if any(r.line == 1 for r in rejects):
        return [], result
    zone = tenancy_service.tenant_zone(session, tenant_id)
    catalogue = categories.for_tenant(session, tenant_id)
    valid: list[tuple[int, ServiceRequestIn]] = []
    seen: dict[str, int] = {}
    for row_line, values in rows:
        try:
            body = _body(values, zone, catalogue)
        except ValueError as exc:
            name, message = exc.args
            result.rejects.append(Reject(row_line, written.get(name), name, message))
            continue
        data = validated(
            ServiceRequestIn, body, row_line, written, result.rejects, innermost=True, messages=_SECRET_MESSAGES
        )
        if data is None:  # the row's codes are still checked, so that one pass reports every problem
            for name, message in service.vocabulary_problems(
                catalogue, body.get("channel"), body.get("category"), body.get("priority")
            ):
                result.rejects.append(Reject(row_line, written.get(name), name, message))
            continue
        problems = service.problems_of(session, tenant_id, data, data.channel or "import")
        for name, message in problems:
            result.rejects.append(Reject(row_line, written.get(name), name, message))
        if data.external_ref:
            first = seen.setdefault(data.external_ref, row_line)
            if first != row_line:
                message = f"external_ref {data.external_ref!r} repeats line {first}"
                result.rejects.append(Reject(row_line, written.get("external_ref"), "external_ref", message))
                continue
        if not problems:
            valid.append((row_line, data))
    result.rejects.sort(key=lambda r: (r.line, r.column or ""))
    return valid, result


def import_csv(session: Session, principal: Principal, content: bytes | str, *, dry_run: bool = False) -> ImportResult:
    """Import every row in the caller's transaction, or raise :class:`ImportRejected` with the report (the caller
    rolls back: nothing of the file is kept)."""
    principal.require(Permission.HANDLE_SERVICE_REQUESTS)
    tenant_id = service.tenant_of(principal)
    text = decode(content) if isinstance(content, bytes) else content
    valid, result = check(session, tenant_id, text)
    result.dry_run = dry_run
    if result.rejects:
        raise ImportRejected(result)
    if dry_run:
        existing = repository.existing_refs(session, [d.external_ref for _, d in valid if d.external_ref])
        result.existing = len(existing)
        result.created = len(valid) - len(existing)
        return result
    for _, data in valid:
        request, created = service.intake(session, principal, data, channel="import")
        result.numbers.append(request.number)
        result.created += int(created)
        result.existing += int(not created)
    return result
