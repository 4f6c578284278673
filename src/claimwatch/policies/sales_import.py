"""CSV import of policy sales: all or nothing, with a reject report (line, column, field, message), like the
complaint import (whose report types, decoding, header-row reader, date reading and report file this reuses).

One row per policy; a policy number already recorded is counted as existing and left as it is (re-importing
the same file is harmless). Headers may be the English field names or the usual Chinese ones (保单号, 代理人工号,
投保人证件号…); channels may be codes or their Chinese names; yes/no as 是/否, Y/N, true/false. The customer's
ID number is hashed at once: it is never stored or reported (a reject names the column, not the value).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from sqlalchemy.orm import Session

from claimwatch.auth.principal import Permission, Principal
from claimwatch.complaints.importer import (
    ImportRejected,
    ImportResult,
    Reject,
    decode,
    parse_day,
    read_table,
    validated,
)
from claimwatch.db import utc_now
from claimwatch.people import repository as people_repository
from claimwatch.people import service as people_service
from claimwatch.policies import sales
from claimwatch.policies import sales_repository as repository
from claimwatch.policies.sales_schemas import SaleIn

MAX_IMPORT_BYTES = 1024 * 1024 - 64 * 1024  # within the one request cap (web.limits.DEFAULT_BYTES)
HEADERS: dict[str, tuple[str, ...]] = {
    "policy_number": ("policy_number", "保单号", "保单号码"),
    "product_code": ("product_code", "产品代码", "险种代码"),
    "product_name": ("product_name", "产品名称", "险种名称"),
    "line": ("line", "险类", "业务线"),
    "long_term": ("long_term", "长期险", "是否长期险"),
    "channel": ("channel", "销售渠道", "渠道"),
    "agent": ("agent", "代理人工号", "业务员工号", "代理人代码"),
    "org_unit": ("org_unit", "机构代码", "出单机构"),
    "region_code": ("region_code", "地区代码"),
    "customer_id_number": ("customer_id_number", "投保人证件号", "证件号码", "身份证号"),
    "customer_name": ("customer_name", "投保人", "投保人姓名"),
    "customer_phone": ("customer_phone", "投保人电话", "联系电话"),
    "premium": ("premium", "保费", "首期保费"),
    "signed_on": ("signed_on", "签单日期", "投保日期"),
    "effective_on": ("effective_on", "生效日期"),
    "cooling_off_days": ("cooling_off_days", "犹豫期天数", "犹豫期"),
    "disclosure_signed_on": ("disclosure_signed_on", "投保提示书签署日期", "提示书签署日期"),
    "recording_ref": ("recording_ref", "双录编号", "双录文件"),
    "recording_sha256": ("recording_sha256", "双录哈希", "双录SHA256"),
}
REQUIRED = ("policy_number", "product_code", "product_name", "line", "channel", "agent", "premium", "signed_on")
CHANNEL_ALIASES = {"个险": "agent", "代理人": "agent", "银保": "bank", "银行": "bank", "电销": "telesales"}
CHANNEL_ALIASES |= {"网销": "online", "互联网": "online", "经代": "broker", "经纪": "broker"}
LINE_ALIASES = {"寿险": "life", "健康险": "health", "意外险": "accident", "车险": "motor", "财产险": "property"}
YES = {"是", "y", "yes", "true", "1", "长期"}
NO = {"否", "n", "no", "false", "0", "短期"}
_DATES = ("signed_on", "effective_on", "disclosure_signed_on")
# pydantic's message could quote the value: the ID number is never reported
_SECRET_MESSAGES = {"customer_id_number": "not an ID number"}


def _body(values: dict[str, str]) -> dict[str, Any]:
    body: dict[str, Any] = dict(values)
    if "channel" in body:
        body["channel"] = CHANNEL_ALIASES.get(body["channel"], body["channel"].lower())
    if "line" in body:
        body["line"] = LINE_ALIASES.get(body["line"], body["line"].lower())
    if "long_term" in body:
        flag = body["long_term"].lower()
        body["long_term"] = True if flag in YES else False if flag in NO else body["long_term"]
    for name in _DATES:
        if name in body:
            body[name] = parse_day(body[name])
    return body


def check(session: Session, tenant_id: int, text: str) -> tuple[list[SaleIn], ImportResult]:
    """Every row checked (schema, the service's rules, numbers repeated in the file); nothing written. Rows
    whose policy number is recorded already are left out (counted as existing)."""
    written, rows, rejects = read_table(text, HEADERS, REQUIRED)
    result = ImportResult(rows=len(rows), rejects=rejects)
    if any(r.line == 1 for r in rejects):
        return [], result
    rules = sales.rules_of(session, tenant_id)
    agents = people_repository.staff_by_codes(session, tenant_id, {v["agent"] for _, v in rows if "agent" in v})
    known = repository.existing_numbers(
        session, tenant_id, {v["policy_number"] for _, v in rows if "policy_number" in v}
    )
    seen: dict[str, int] = {}
    valid: list[SaleIn] = []
    for line, values in rows:
        data = validated(SaleIn, _body(values), line, written, result.rejects, messages=_SECRET_MESSAGES)
        if data is None:
            continue
        first = seen.setdefault(data.policy_number, line)
        if first != line:
            message = f"policy {data.policy_number!r} repeats line {first}"
            result.rejects.append(Reject(line, written["policy_number"], "policy_number", message))
            continue
        if data.policy_number in known:
            result.existing += 1
            continue
        problems = sales.problems_of(session, data, rules, agents.get(data.agent), known_number=False)
        result.rejects += [Reject(line, written.get(p.field), p.field, p.message) for p in problems]
        if not problems:
            valid.append(data)
    result.rejects.sort(key=lambda r: (r.line, r.column or ""))
    return valid, result


def import_csv(
    session: Session,
    principal: Principal,
    content: bytes | str,
    *,
    dry_run: bool = False,
    progress: Callable[[int, int], None] | None = None,
) -> tuple[ImportResult, int]:
    """Import every row in the caller's transaction, or raise :class:`ImportRejected` with the report (the
    caller rolls back: nothing of the file is kept). Returns the result and how many flags were raised."""
    principal.require(Permission.MANAGE_SALES)
    tenant_id = sales.tenant_of(principal)
    text = decode(content) if isinstance(content, bytes) else content
    valid, result = check(session, tenant_id, text)
    result.dry_run = dry_run
    if result.rejects:
        raise ImportRejected(result)
    if dry_run:
        return result, 0
    rules = sales.rules_of(session, tenant_id)
    agents = people_repository.staff_by_codes(session, tenant_id, {data.agent for data in valid})
    licensed: dict[tuple[str, Any], bool] = {}
    for data in valid:  # the licence check in bulk: one query per signing day
        key = (data.agent, data.signed_on)
        if key not in licensed:
            day = people_service.valid_licence_staff_ids(session, tenant_id, rules.licence_kind, data.signed_on)
            for code, agent in agents.items():
                licensed[(code, data.signed_on)] = agent.id in day
    now = utc_now()
    flagged = 0
    for done, data in enumerate(valid, start=1):
        sale = sales.create_sale(
            session, tenant_id, data, rules, agents[data.agent], principal.actor, "import", now,
            licensed=licensed[(data.agent, data.signed_on)],
        )  # fmt: skip
        flagged += sale.flag_count > 0
        result.numbers.append(sale.policy_number)
        result.created += 1
        if progress is not None:
            progress(done, len(valid))
    return result, flagged
