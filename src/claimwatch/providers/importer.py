"""CSV import of providers and of contracts: all or nothing, with a reject report (line, column, field,
message), like the complaint import (whose report types, decoding, header-row reader and report file this reuses).

Providers: one row per provider; a code already registered is counted as existing and left as it is
(re-importing the same list is harmless; change a provider on its page or through the API). Contracts: one
row per contract × task kind (its service level); the rows of one reference must agree on the provider, the
period and the fee schedule; a reference already recorded is counted as existing. Headers may be the English
field names or the usual Chinese ones; lists (regions, lines) are separated by ``;`` ``,`` ``、`` or ``|``.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from sqlalchemy.orm import Session

from claimwatch.auth.principal import Permission, Principal
from claimwatch.complaints.importer import (
    ImportRejected,
    ImportResult,
    Reject,
    decode,
    norm_header,
    read_table,
    validated,
)
from claimwatch.errors import Invalid
from claimwatch.providers import loader, repository, service
from claimwatch.providers.schemas import ContractIn, LevelIn, ProviderIn
from claimwatch.web.i18n import translate

# The bodies share the one request cap (web.limits.DEFAULT_BYTES): thousands of providers fit in it.
MAX_IMPORT_BYTES = 1024 * 1024 - 64 * 1024
WHAT = ("providers", "contracts")
PROVIDER_HEADERS: dict[str, tuple[str, ...]] = {
    "code": ("code", "机构编码", "编码", "机构代码"),
    "name": ("name", "机构名称", "名称"),
    "kind": ("kind", "机构类型", "类型"),
    "credit_code": ("credit_code", "统一社会信用代码", "信用代码"),
    "regions": ("regions", "服务地区", "地区"),
    "lines": ("lines", "险种", "业务线"),
    "licence_number": ("licence_number", "资质证书编号", "资质编号", "许可证号"),
    "licence_expires_on": ("licence_expires_on", "资质有效期至", "有效期至"),
    "contact_name": ("contact_name", "联系人"),
    "contact_phone": ("contact_phone", "联系电话", "电话"),
    "contact_email": ("contact_email", "电子邮箱", "邮箱"),
}
PROVIDER_REQUIRED = ("code", "name", "kind")
CONTRACT_HEADERS: dict[str, tuple[str, ...]] = {
    "provider_code": ("provider_code", "机构编码", "机构代码"),
    "reference": ("reference", "协议编号", "合同编号"),
    "starts_on": ("starts_on", "生效日期", "开始日期"),
    "ends_on": ("ends_on", "终止日期", "结束日期"),
    "fee_schedule_ref": ("fee_schedule_ref", "收费标准", "收费标准编号"),
    "task_kind": ("task_kind", "任务类型", "委托类型"),
    "days": ("days", "时限", "服务时限"),
    "unit": ("unit", "时限单位", "单位"),
}
CONTRACT_REQUIRED = ("provider_code", "reference", "starts_on", "task_kind", "days")
_LISTS = ("regions", "lines")
_SEPARATORS = re.compile(r"[,;，；、|]")
UNIT_ALIASES = {"工作日": "working_days", "自然日": "calendar_days", "日": "calendar_days", "天": "calendar_days"}
UNIT_ALIASES |= {"小时": "hours"}
# The Chinese names a register file uses for the provider kinds (besides the labels of the page).
KIND_ALIASES = {
    "鉴定机构": "appraisal_agency",
    "司法鉴定机构": "appraisal_agency",
    "维修机构": "repair_shop",
    "修理厂": "repair_shop",
    "汽修厂": "repair_shop",
    "医院": "hospital",
    "医疗机构": "hospital",
    "查勘机构": "surveyor",
    "公估机构": "surveyor",
    "律师事务所": "law_firm",
}


def _aliases(labels: dict[str, str]) -> dict[str, str]:
    """A code by itself or by its Chinese or English label."""
    found: dict[str, str] = {}
    for code, msgid in labels.items():
        for locale in ("zh", "en"):
            found[norm_header(translate(locale, msgid))] = code
        found[norm_header(code)] = code
    return found


def _task_kind_aliases(kinds: dict[str, loader.TaskKind]) -> dict[str, str]:
    return {norm_header(name): k.code for k in kinds.values() for name in (k.code, k.name_zh, k.name_en)}


def check_providers(session: Session, tenant_id: int, text: str) -> tuple[list[ProviderIn], ImportResult]:
    """Every row checked (schema, the register's rules, codes repeated in the file); nothing written. Rows
    whose code is registered already are left out of the list (counted as existing)."""
    written, rows, rejects = read_table(text, PROVIDER_HEADERS, PROVIDER_REQUIRED)
    result = ImportResult(rows=len(rows), rejects=rejects)
    if any(r.line == 1 for r in rejects):
        return [], result
    kinds = _aliases(service.KIND_LABELS) | {norm_header(k): v for k, v in KIND_ALIASES.items()}
    seen: dict[str, int] = {}
    valid: list[ProviderIn] = []
    for line, values in rows:
        body: dict[str, Any] = dict(values)
        for name in _LISTS:
            if name in body:
                body[name] = [part.strip() for part in _SEPARATORS.split(body[name]) if part.strip()]
        if "kind" in body:
            body["kind"] = kinds.get(norm_header(body["kind"]), body["kind"])
        data = validated(ProviderIn, body, line, written, result.rejects)
        if data is None:
            continue
        problems = service.problems_of(session, tenant_id, data)
        result.rejects += [Reject(line, written.get(p.field), p.field, p.message) for p in problems]
        first = seen.setdefault(data.code, line)
        if first != line:
            result.rejects.append(Reject(line, written["code"], "code", f"code {data.code!r} repeats line {first}"))
            continue
        if problems:
            continue
        if repository.providers_by_code(session, data.code, tenant_id):
            result.existing += 1
        else:
            valid.append(data)
    result.rejects.sort(key=lambda r: (r.line, r.column or ""))
    return valid, result


def _contract_rows(
    session: Session, tenant_id: int, rows: list[tuple[int, dict[str, str]]], written: dict[str, str]
) -> tuple[dict[str, tuple[int, str, dict[str, Any], list[dict[str, Any]]]], list[Reject]]:
    """Rows grouped by reference: (first line, provider code, contract fields, levels), and what disagrees."""
    kinds = _task_kind_aliases(loader.task_kinds(session, tenant_id))
    units = _aliases(service.UNIT_LABELS) | UNIT_ALIASES
    grouped: dict[str, tuple[int, str, dict[str, Any], list[dict[str, Any]]]] = {}
    rejects: list[Reject] = []
    for line, values in rows:
        reference = values.get("reference", "")
        head = {k: values.get(k) for k in ("starts_on", "ends_on", "fee_schedule_ref")}
        level = {
            "task_kind": kinds.get(norm_header(values.get("task_kind", "")), values.get("task_kind", "")),
            "days": values.get("days"),
            "unit": units.get(norm_header(values.get("unit", "")), values.get("unit") or "working_days"),
            "line": line,
        }
        provider = values.get("provider_code", "")
        if reference not in grouped:
            grouped[reference] = (line, provider, head, [level])
            continue
        first, first_provider, first_head, levels = grouped[reference]
        for name, value, before in [("provider_code", provider, first_provider)] + [
            (k, head[k], first_head[k]) for k in head
        ]:
            if value != before:
                message = f"contract {reference!r}: {name} differs from line {first} ({before or '—'})"
                rejects.append(Reject(line, written.get(name), name, message))
        levels.append(level)
    return grouped, rejects


def check_contracts(session: Session, tenant_id: int, text: str) -> tuple[list[tuple[str, ContractIn]], ImportResult]:
    """Every contract checked (schema, known provider and task kinds, periods, agreement between its rows);
    nothing written. A reference recorded already is counted as existing."""
    written, rows, rejects = read_table(text, CONTRACT_HEADERS, CONTRACT_REQUIRED)
    result = ImportResult(rows=len(rows), rejects=rejects)
    if any(r.line == 1 for r in rejects):
        return [], result
    grouped, disagreements = _contract_rows(session, tenant_id, rows, written)
    result.rejects += disagreements
    valid: list[tuple[str, ContractIn]] = []
    for reference, (line, provider_code, head, levels) in grouped.items():
        if repository.contract_by_reference(session, tenant_id, reference) is not None:
            result.existing += 1
            continue
        level_models: list[LevelIn] = []
        for level in levels:
            found = validated(
                LevelIn, {k: v for k, v in level.items() if k != "line"}, level["line"], written, result.rejects
            )
            if found is not None:
                level_models.append(found)
        body = {"reference": reference, "levels": [m.model_dump() for m in level_models]}
        body |= {k: v for k, v in head.items() if v}
        data = validated(ContractIn, body, line, written, result.rejects)
        if data is None or len(level_models) != len(levels):
            continue
        bad = len(result.rejects)
        if not repository.providers_by_code(session, provider_code, tenant_id):
            message = f"no provider {provider_code!r}: import the providers first"
            result.rejects.append(Reject(line, written.get("provider_code"), "provider_code", message))
        for problem in service.contract_problems(session, tenant_id, data):
            where = _problem_line(problem.field, problem.message, levels, line)
            result.rejects.append(Reject(where, written.get(problem.field), problem.field, problem.message))
        if len(result.rejects) == bad:
            valid.append((provider_code, data))
    result.rejects.sort(key=lambda r: (r.line, r.column or ""))
    return valid, result


def _problem_line(field: str, message: str, levels: list[dict[str, Any]], first: int) -> int:
    """The row a level's problem comes from (its task kind is named in the message), else the contract's first."""
    if field in ("task_kind", "unit", "days"):
        for level in levels:
            if repr(level["task_kind"]) in message or repr(level["unit"]) in message:
                return int(level["line"])
    return first


def import_csv(
    session: Session,
    principal: Principal,
    what: str,
    content: bytes | str,
    *,
    dry_run: bool = False,
    progress: Callable[[int, int], None] | None = None,
) -> ImportResult:
    """Import ``what`` (providers | contracts) in the caller's transaction, or raise :class:`ImportRejected`
    with the report (the caller rolls back: nothing of the file is kept)."""
    principal.require(Permission.MANAGE_PROVIDERS)
    tenant_id = service.tenant_of(principal)
    if what not in WHAT:
        raise Invalid("what", f"import providers or contracts, not {what!r}")
    text = decode(content) if isinstance(content, bytes) else content
    todo: list[ProviderIn | tuple[str, ContractIn]]
    if what == "providers":
        providers, result = check_providers(session, tenant_id, text)
        todo = list(providers)
    else:
        contracts, result = check_contracts(session, tenant_id, text)
        todo = list(contracts)
    result.dry_run = dry_run
    if result.rejects:
        raise ImportRejected(result)
    if dry_run:
        return result
    for done, item in enumerate(todo, start=1):
        if isinstance(item, ProviderIn):
            result.numbers.append(service.register(session, principal, item).code)
        else:
            result.numbers.append(service.add_contract_from(session, principal, item[0], item[1]).reference)
        result.created += 1
        if progress is not None:
            progress(done, len(todo))
    return result
