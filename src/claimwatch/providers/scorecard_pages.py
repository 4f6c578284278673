"""The scorecard pages: one provider's months with its peers (/providers/{code}/scorecard, chart with
ECharts), the flags waiting for review with the review form (/providers/flags), the two KPIs by provider,
task kind or region (/providers/performance, each number leading to its tasks), and the statistics across
insurers by credit code (/providers/statistics: the regulator's; a provider late for every insurer first).

Included in the app before the register's ``/providers/{code}`` so the fixed paths win.
"""

from __future__ import annotations

import json
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy import select
from starlette.datastructures import FormData

from claimwatch.auth.deps import TenantSession, request_locale, require
from claimwatch.auth.principal import Permission, Principal
from claimwatch.db import utc_now
from claimwatch.errors import Problem
from claimwatch.params import RowId
from claimwatch.providers import flags, loader, scorecards, stats
from claimwatch.providers import service as provider_service
from claimwatch.providers.models import ProviderFlag
from claimwatch.tenancy import service as tenancy_service
from claimwatch.tenancy.service import platform_zone
from claimwatch.web import forms
from claimwatch.web.i18n import N_, translate
from claimwatch.web.pages import PageRoute, render
from claimwatch.web.security import CSRF_FIELD, csrf_valid

router = APIRouter(include_in_schema=False, route_class=PageRoute)

ViewerDep = Annotated[Principal, Depends(require(Permission.VIEW_PROVIDERS))]
ReviewerDep = Annotated[Principal, Depends(require(Permission.REVIEW_PROVIDERS))]
MONTHS_SHOWN = 12
DECISION_LABELS = {"keep": N_("Keep"), "warn": N_("Warn"), "suspend": N_("Suspend")}
STATUS_LABELS = {"open": N_("Open"), "kept": N_("Kept"), "warned": N_("Warned"), "suspended": N_("Suspended")}
OUTCOME_LABELS = {
    "upheld": N_("upheld"),
    "rejected": N_("rejected"),
    "withdrawn": N_("withdrawn"),
    "open": N_("open"),
}
BY_LABELS = {"provider": N_("Provider"), "kind": N_("Task kind"), "region": N_("Region")}


def _error(request: Request, principal: Principal, status: int, message: str | None = None) -> HTMLResponse:
    return render(
        request, "providers/scorecard_error.html", {"status": status, "message": message}, status_code=status,
        principal=principal,
    )  # fmt: skip


def _month(raw: str | None, default: scorecards.Month) -> scorecards.Month:
    """A month from the query string; anything else is the default (never an error page)."""
    try:
        return scorecards.Month.parse(raw[:8]) if raw else default
    except Problem:
        return default


def _last_complete(request: Request, principal: Principal, session: Any) -> scorecards.Month:
    if principal.tenant_id is None:
        return stats.default_last(utc_now())
    return scorecards.current_month(session, principal.tenant_id).shift(-1)


@router.get("/providers/flags")
def flags_page(request: Request, principal: ViewerDep, session: TenantSession) -> HTMLResponse:
    return _flags_page(request, principal, session)


def _flags_page(
    request: Request,
    principal: Principal,
    session: Any,
    problem: dict[str, Any] | None = None,
    status: int = 200,
) -> HTMLResponse:
    locale = request_locale(request)
    config = flags.rules().by_code()
    rows = []
    for flag, provider in flags.open_flags(session):
        rows.append(
            {
                "flag": flag,
                "provider": provider,
                "kind": provider_service.kind_label(provider.kind, locale),
                "reasons": [config[c].label(locale) if c in config else c for c in flag.reasons],
                "figures": flag.figures,
            }
        )
    reviewed = [
        {"flag": flag, "provider": provider, "status": translate(locale, STATUS_LABELS.get(flag.status, flag.status))}
        for flag, provider in flags.recent_reviewed(session)
    ]
    context = {
        "rows": rows,
        "reviewed": reviewed,
        "may_review": principal.can(Permission.REVIEW_PROVIDERS) and not principal.is_regulator,
        "decisions": [(code, translate(locale, label)) for code, label in DECISION_LABELS.items()],
        "problem": problem,
    }
    return render(request, "providers/flags.html", context, status_code=status, principal=principal)


def _text(form: FormData, name: str, limit: int = 4000) -> str:
    raw = form.get(name)
    return raw.strip()[:limit] if isinstance(raw, str) else ""


@router.post("/providers/flags/{flag_id}/review")
def review_post(
    flag_id: RowId, request: Request, principal: ReviewerDep, session: TenantSession, data: forms.PostedForm
) -> Response:
    token = data.get(CSRF_FIELD)
    if not csrf_valid(request, token if isinstance(token, str) else None):
        return _error(request, principal, 403)
    locale = request_locale(request)
    try:
        with session.begin_nested():
            flags.review(session, principal, flag_id, _text(data, "decision", 16), _text(data, "note"))
    except Problem as exc:
        if exc.status == 404:
            return _error(request, principal, 404)
        problem = forms.problem_for(locale, exc) | {"flag_id": flag_id}
        return _flags_page(request, principal, session, problem, exc.status)
    return RedirectResponse(f"/providers/flags#flag-{flag_id}", status_code=303)


@router.get("/providers/statistics")
def statistics_page(request: Request, principal: ViewerDep, session: TenantSession) -> HTMLResponse:
    params = request.query_params
    last = _month(params.get("period"), stats.default_last(utc_now()))
    raw_months = (params.get("months") or "3")[:2]
    months = int(raw_months) if raw_months.isdigit() else 3
    view = stats.statistics(session, last, months)
    locale = request_locale(request)
    context = {
        "view": view,
        "months": max(1, min(stats.MAX_MONTHS, months)),
        "kind_label": lambda kind: provider_service.kind_label(kind, locale),
        "across": principal.is_regulator,
    }
    return render(request, "providers/statistics.html", context, principal=principal)


@router.get("/providers/performance")
def performance_page(request: Request, principal: ViewerDep, session: TenantSession) -> HTMLResponse:
    params = request.query_params
    month = _month(params.get("period"), _last_complete(request, principal, session))
    raw_by = params.get("by") or ""
    by = raw_by if raw_by in stats.BREAKDOWNS else "provider"
    zone = platform_zone() if principal.tenant_id is None else tenancy_service.tenant_zone(session, principal.tenant_id)
    locale = request_locale(request)
    rows = stats.performance(session, month, by, zone)
    kinds = loader.base_catalogue().kinds
    table = [
        {
            "row": row,
            "label": kinds[row.key].name(locale) if by == "kind" and row.key in kinds else (row.label or "—"),
            "standard_url": stats.drill_url(month, "standard", "1", row.drill),
            "on_time_url": stats.drill_url(month, "on_time", "1", row.drill),
            "judged_url": stats.drill_url(month, "judged", "1", row.drill),
        }
        for row in rows
    ]
    context = {
        "month": month,
        "by": by,
        "by_options": [(code, translate(locale, label)) for code, label in BY_LABELS.items()],
        "table": table,
    }
    return render(request, "providers/performance.html", context, principal=principal)


@router.get("/providers/{code}/scorecard")
def scorecard_page(code: str, request: Request, principal: ViewerDep, session: TenantSession) -> HTMLResponse:
    try:
        provider = provider_service.get_provider(session, code[:64])
    except Problem as exc:
        return _error(request, principal, 404 if exc.status == 404 else exc.status, exc.message)
    locale = request_locale(request)
    last = _month(request.query_params.get("period"), scorecards.current_month(session, provider.tenant_id))
    found = scorecards.history(session, provider, last, MONTHS_SHOWN)
    config = flags.rules()
    months = [
        {
            "card": card,
            "missed": [config.by_code()[c].label(locale) for c in flags.missed_rules(card.figures, config)],
            "disputes": [
                (translate(locale, label), card.figures.disputes.get(code_, 0))
                for code_, label in OUTCOME_LABELS.items()
            ],
        }
        for card in reversed(found.months)
    ]
    chart = {
        "periods": [card.figures.period for card in found.months],
        "on_time": [card.figures.on_time_rate for card in found.months],
        "standard": [card.figures.standard_rate for card in found.months],
        "peer_median": [card.peers.median_on_time for card in found.months],
        "labels": {
            "on_time": translate(locale, N_("Reports on time %")),
            "standard": translate(locale, N_("Standard cooperation %")),
            "peer_median": translate(locale, N_("Peers' median on time %")),
        },
    }
    provider_flags = list(session.scalars(select(ProviderFlag).where(ProviderFlag.provider_id == provider.id)))
    context = {
        "provider": provider,
        "kind": provider_service.kind_label(provider.kind, locale),
        "months": months,
        "last": last,
        "previous": last.shift(-MONTHS_SHOWN).label,
        "flags": sorted(provider_flags, key=lambda f: f.period, reverse=True),
        "status_labels": {k: translate(locale, v) for k, v in STATUS_LABELS.items()},
        "chart_json": json.dumps(chart, ensure_ascii=False).replace("<", "\\u003c"),
    }
    return render(request, "providers/scorecard.html", context, principal=principal)
