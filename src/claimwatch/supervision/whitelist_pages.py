"""The whitelist pages: the public ``/whitelist`` (no account; zh/en; own layout, no script: who qualifies in a
month and why, the rule in words, and the entries and exits of the last 12 months) and the regulator's
``/whitelist/insurers/{code}`` (VIEW_BENCHMARKS: an insurer's 12 deciding months with each condition's value and
bound, and its standing month by month)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse

from claimwatch.auth.deps import TenantSession, request_locale, require
from claimwatch.auth.principal import Permission, Principal
from claimwatch.db import TenantContext, unit_of_work
from claimwatch.errors import NotFound
from claimwatch.kpi.queries import format_target, format_value
from claimwatch.supervision import whitelist
from claimwatch.tenancy import repository as tenancy_repository
from claimwatch.web.i18n import N_, translate
from claimwatch.web.pages import PageRoute, render

public_router = APIRouter(include_in_schema=False)
router = APIRouter(include_in_schema=False, route_class=PageRoute)
ViewerDep = Annotated[Principal, Depends(require(Permission.VIEW_BENCHMARKS))]

CHANGE_LABELS = {
    "entered": N_("Entered"),
    "exited": N_("Exited"),
    "kept": N_("Stays on"),
    "out": N_("Not on the list"),
}
STATUS_LABELS = {
    "ok": N_("met"),
    "fails": N_("missed"),
    "no_data": N_("no data"),
    "skipped": N_("no data (not counted)"),
}


def _translated(table: dict[str, str], locale: str) -> dict[str, str]:
    return {key: translate(locale, label) for key, label in table.items()}


@public_router.get("/whitelist")
def whitelist_page(request: Request) -> HTMLResponse:
    locale = request_locale(request)
    chosen = (request.query_params.get("month") or "")[:7]
    rule = whitelist.default_rule()
    with unit_of_work(TenantContext.regulator()) as session:  # computed standings of every insurer, read-only
        months = whitelist.computed_months(session)
        month = chosen if chosen in months else (months[0] if months else None)
        rows = whitelist.statuses(session, month, locale) if month else []
        moves = whitelist.changes(session, month, 12, locale) if month else []
    context: dict[str, Any] = {
        "rule": rule,
        "rule_text": rule.describe(locale),
        "months": months,
        "month": month,
        "on_list": [row for row in rows if row.qualifies],
        "off_list": [row for row in rows if not row.qualifies],
        "moves": moves,
        "change_labels": _translated(CHANGE_LABELS, locale),
    }
    return render(request, "supervision/whitelist.html", context)


def _month_rows(rule: whitelist.Rule, standing: whitelist.Standing, locale: str) -> list[dict[str, Any]]:
    """The deciding months, latest first, each condition's value and bound formatted in its KPI's unit."""
    catalogue = {condition.kpi.code: condition.kpi for condition in rule.conditions}
    out = []
    for month in reversed(standing.months):
        cells = []
        for check in month.get("checks", []):
            kpi = catalogue.get(check["kpi"])
            if kpi is None:
                cells.append(dict(check))
                continue
            bound = (
                format_target(kpi, check["bound"], locale)
                if check["compare"] == "target"
                else format_value(kpi, check["bound"], locale)
            )
            cells.append(
                {
                    "kpi": kpi.code,
                    "value": format_value(kpi, check["value"], locale),
                    "bound": bound,
                    "compare": check["compare"],
                    "status": check["status"],
                }
            )
        out.append({"month": month["month"], "ok": month["ok"], "cells": cells})
    return out


@router.get("/whitelist/insurers/{code}")
def insurer_page(code: str, request: Request, principal: ViewerDep, session: TenantSession) -> HTMLResponse:
    locale = request_locale(request)
    tenant = tenancy_repository.tenant_by_code(session, code[:32])
    if tenant is None:
        raise NotFound("code", f"no insurer {code[:32]!r}")
    rule = whitelist.default_rule()
    month = (request.query_params.get("month") or "")[:7] or None
    standing = whitelist.standing(session, tenant.id, month, locale)
    context = {
        "tenant": tenant,
        "rule": rule,
        "rule_text": rule.describe(locale),
        "standing": standing,
        "month_rows": _month_rows(rule, standing, locale) if standing else [],
        "history": whitelist.history(session, tenant.id, locale, 12),
        "conditions": rule.conditions,
        "change_labels": _translated(CHANGE_LABELS, locale),
        "status_labels": _translated(STATUS_LABELS, locale),
        "rule_changed": standing is not None and standing.rule_sha256 != rule.sha256,
    }
    return render(request, "supervision/whitelist_insurer.html", context, principal=principal)
