"""Read models of the register that the pages and the API show: the provider list (filters kind, task kind,
region, line, status, text; CSV) and one provider with its masked contact, contracts and levels, and the
service level of each task kind it does. A regulator reads every insurer's register (read-only)."""

from __future__ import annotations

import csv
import datetime as dt
import io
from dataclasses import dataclass
from typing import Any

from sqlalchemy.orm import Session

from claimwatch.auth.principal import Principal
from claimwatch.cases.queries import region_name
from claimwatch.errors import Invalid
from claimwatch.providers import loader, repository, service
from claimwatch.providers.models import Provider
from claimwatch.tenancy import repository as tenancy_repository
from claimwatch.tenancy import service as tenancy_service
from claimwatch.web.i18n import N_, translate
from claimwatch.workflow import service as workflow_service

CSV_COLUMNS = (
    ("insurer", N_("Insurer")),
    ("code", N_("Code")),
    ("name", N_("Name")),
    ("kind_label", N_("Kind")),
    ("credit_code", N_("Unified social credit code")),
    ("regions_text", N_("Regions")),
    ("lines_text", N_("Lines")),
    ("licence_number", N_("Licence")),
    ("licence_expires_on", N_("Licence valid until")),
    ("status_label", N_("Status")),
    ("contact_name", N_("Contact")),
    ("contact_phone", N_("Contact phone")),
)


@dataclass(frozen=True)
class ListFilter:
    kind: str | None = None  # provider kind
    task_kind: str | None = None  # serves this task kind
    region: str | None = None
    line: str | None = None
    status: str | None = None  # active | suspended | blacklisted
    text: str | None = None  # code or name contains

    @classmethod
    def of(cls, params: Any) -> ListFilter:
        """From query parameters; an unknown value is 422 naming its parameter."""

        def clean(name: str, limit: int) -> str | None:
            value = (params.get(name) or "").strip()
            return value[:limit] or None

        found = cls(
            kind=clean("kind", 24),
            task_kind=clean("task_kind", 32),
            region=clean("region", 12),
            line=clean("line", 32),
            status=clean("status", 16),
            text=clean("q", 100),
        )
        if found.kind is not None and found.kind not in loader.PROVIDER_KINDS:
            raise Invalid("kind", f"kind is one of {', '.join(loader.PROVIDER_KINDS)}")
        if found.status is not None and found.status not in service.SHOWN_STATUSES:
            raise Invalid("status", f"status is one of {', '.join(service.SHOWN_STATUSES)}")
        if found.region is not None and not (found.region.isdigit() and len(found.region) == 6):
            raise Invalid("region", "a region is a 6-digit province or city code")
        return found

    def as_params(self) -> dict[str, str]:
        values = {"kind": self.kind, "task_kind": self.task_kind, "region": self.region, "line": self.line}
        values |= {"status": self.status, "q": self.text}
        return {k: v for k, v in values.items() if v}


def _tenant_of(principal: Principal) -> int | None:
    return None if principal.is_regulator else service.tenant_of(principal)


def _today(session: Session, tenant_id: int | None) -> dt.date:
    return dt.datetime.now(tenancy_service.tenant_zone(session, tenant_id)).date()


def _regions(codes: list[str], locale: str) -> list[dict[str, str]]:
    return [{"code": code, "name": region_name(code, locale)} for code in codes]


def _lines(codes: list[str], locale: str) -> list[dict[str, str]]:
    return [{"code": code, "name": workflow_service.line_label(code, locale)} for code in codes]


def _row(provider: Provider, shown: str, locale: str, today: dt.date, insurer: str) -> dict[str, Any]:
    contact = service.contact_view(provider)
    expires = provider.licence_expires_on
    return {
        "insurer": insurer,
        "code": provider.code,
        "name": provider.name,
        "kind": provider.kind,
        "kind_label": service.kind_label(provider.kind, locale),
        "credit_code": provider.credit_code,
        "regions": _regions(provider.regions, locale),
        "regions_text": "、".join(region_name(c, locale) for c in provider.regions),
        "lines": _lines(provider.lines, locale),
        "lines_text": "、".join(workflow_service.line_label(c, locale) for c in provider.lines),
        "licence_number": provider.licence_number,
        "licence_expires_on": expires.isoformat() if expires else None,
        "licence_expired": expires is not None and expires < today,
        "status": shown,
        "status_label": translate(locale, service.STATUS_LABELS[shown]),
        "contact_name": contact["name"],
        "contact_phone": contact["phone"],
        "url": service.provider_url(provider.code, insurer or None),
    }


def provider_rows(session: Session, principal: Principal, query: ListFilter, locale: str) -> list[dict[str, Any]]:
    """The register by insurer and code, filtered; every row with its shown status and masked contact."""
    tenant_id = _tenant_of(principal)
    today = _today(session, tenant_id)
    kinds: tuple[str, ...] = (query.kind,) if query.kind else ()
    candidates = repository.providers(
        session,
        kinds=kinds,
        status=query.status if query.status in service.STATUSES and query.status != "active" else None,
        text=query.text,
        tenant_id=tenant_id,
    )
    listed = service.blacklisted_keys(session, today)
    insurers = {t.id: t.code for t in tenancy_repository.all_tenants(session)} if principal.is_regulator else {}
    served: dict[int, set[int]] = {}
    rows = []
    for provider in candidates:
        shown = service.shown_status(provider, listed)
        if query.status is not None and shown != query.status:
            continue
        if query.region and not service.covers_region(provider.regions, query.region):
            continue
        if query.line and provider.lines and query.line not in provider.lines:
            continue
        if query.task_kind:
            kind = loader.task_kind(session, provider.tenant_id, query.task_kind)
            if kind is None:
                continue
            if provider.tenant_id not in served:
                served[provider.tenant_id] = repository.provider_ids_with_level(session, kind.code, today)
            if provider.kind not in kind.provider_kinds and provider.id not in served[provider.tenant_id]:
                continue
        rows.append(_row(provider, shown, locale, today, insurers.get(provider.tenant_id, "")))
    return rows


def provider_view(session: Session, provider: Provider, locale: str, *, regulator: bool = False) -> dict[str, Any]:
    """One provider: its details, masked contact, status (with reason), contracts with their levels (the one in
    force marked), and each task kind it does with the level a task sent today is held to."""
    today = _today(session, provider.tenant_id)
    listed = service.blacklisted_keys(session, today)
    shown = service.shown_status(provider, listed)
    insurer = ""
    if regulator:
        tenant = tenancy_repository.tenant_by_id(session, provider.tenant_id)
        insurer = tenant.code if tenant is not None else ""
    view = _row(provider, shown, locale, today, insurer)
    contracts = repository.contracts_of(session, provider.id)
    levels = repository.levels_of(session, [c.id for c in contracts])
    kinds = loader.task_kinds(session, provider.tenant_id)
    in_force = [c.id for c in repository.contracts_in_force(session, provider.id, today)]
    view["contracts"] = [
        {
            "reference": c.reference,
            "fee_schedule_ref": c.fee_schedule_ref,
            "starts_on": c.starts_on.isoformat(),
            "ends_on": c.ends_on.isoformat() if c.ends_on else None,
            "in_force": c.id in in_force,
            "levels": [_level(level.task_kind, level.days, level.unit, kinds, locale) for level in levels[c.id]],
        }
        for c in contracts
    ]
    served = []
    for kind in kinds.values():
        if service.serves(session, provider, kind, today):
            level = service.contract_level(session, provider, kind.code, today)
            served.append(
                _level(kind.code, level.days, level.unit, kinds, locale) | {"from_contract": level.from_contract}
            )
    view["task_kinds"] = served
    view["status_reason"] = provider.status_reason
    view["status_changed_at"] = provider.status_changed_at
    view["status_changed_by"] = provider.status_changed_by
    view["contact"] = service.contact_view(provider)
    view["refusals"] = {
        kind["task_kind"]: service.refusal_for_new_task(session, provider, kind["task_kind"], today) for kind in served
    }
    return view


def _level(task_kind: str, days: int, unit: str, kinds: dict[str, loader.TaskKind], locale: str) -> dict[str, Any]:
    found = kinds.get(task_kind)
    return {
        "task_kind": task_kind,
        "kind_label": found.name(locale) if found else task_kind,
        "days": days,
        "unit": unit,
        "unit_label": translate(locale, service.UNIT_LABELS.get(unit, unit)),
    }


def _cell(value: Any) -> str:
    text = "" if value is None else str(value)
    return "'" + text if text[:1] in ("=", "+", "-", "@") else text


def to_csv(rows: list[dict[str, Any]], locale: str, with_insurer: bool) -> str:
    """UTF-8 with a BOM, headers in the reader's language; contacts masked; never a formula."""
    columns = [c for c in CSV_COLUMNS if with_insurer or c[0] != "insurer"]
    out = io.StringIO()
    out.write("\ufeff")
    writer = csv.writer(out)
    writer.writerow([translate(locale, title) for _, title in columns])
    for row in rows:
        writer.writerow([_cell(row.get(key)) for key, _ in columns])
    return out.getvalue()
