"""The public enquiry page (/service/new; no account, phone-sized, the lookup's own layout): a customer chooses their
insurer, the kind of enquiry, writes it with a phone number to be answered on, and gets the request number.

Like the claimant lookup: CSRF-checked, throttled per client address in the lookup's throttle table (scope
``service_ip``: every submission counts, at most :data:`MAX_PER_WINDOW` per :data:`WINDOW_SECONDS`, then the
address waits :data:`LOCKOUT_SECONDS`), and nothing personal is echoed: a refused form comes back with the
enquiry's kind and text but never the name, phone or ID number typed. The request is filed through
``servicedesk.service.intake`` as :func:`service.public_principal` (channel ``public``) in that insurer's
context only (``TenantContext.anonymous``)."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response
from pydantic import ValidationError
from sqlalchemy.orm import Session
from starlette.datastructures import FormData

from claimwatch import throttle
from claimwatch.auth.deps import request_locale
from claimwatch.db import TenantContext, unit_of_work, utc_now
from claimwatch.errors import Problem
from claimwatch.lookup import service as lookup_service
from claimwatch.lookup.api import client_address, find_insurer
from claimwatch.lookup.models import LookupThrottle
from claimwatch.servicedesk import categories, service
from claimwatch.servicedesk.schemas import ServiceRequestIn
from claimwatch.web import forms
from claimwatch.web.pages import render
from claimwatch.web.security import CSRF_FIELD, csrf_valid

router = APIRouter(include_in_schema=False)

SCOPE = "service_ip"
WINDOW_SECONDS = 3600
MAX_PER_WINDOW = 5
LOCKOUT_SECONDS = 3600
# What the form keeps when it comes back refused: never the customer's name, phone or ID number.
KEPT = ("category", "subject", "description", "policy_number")
LIMITS = {"category": 32, "subject": 200, "description": 4000, "policy_number": 64, "name": 100, "phone": 32}
LIMITS |= {"id_number": 32, "insurer": 32}


def _form(
    request: Request,
    *,
    insurer: lookup_service.Insurer | None = None,
    chosen: str = "",
    values: dict[str, str] | None = None,
    problem: dict[str, Any] | None = None,
    message: str | None = None,
    retry_minutes: int = 0,
    status_code: int = 200,
) -> HTMLResponse:
    choices: list[Any] = []
    with unit_of_work(TenantContext.regulator()) as session:  # the choice of insurer spans tenants
        choices = lookup_service.insurers(session)
        catalogue = categories.for_tenant(session, insurer.id) if insurer is not None else categories.load()
    locale = request_locale(request)
    kept = {name: (values or {}).get(name, "") for name in KEPT}
    return render(
        request,
        "servicedesk/public_new.html",
        {
            "insurers": choices,
            "chosen": insurer.code if insurer is not None else chosen,
            "values": kept,
            "problem": problem,
            "message": message,
            "retry_minutes": retry_minutes,
            "category_names": {code: c.label(locale) for code, c in catalogue.categories.items()},
        },
        status_code=status_code,
        switch_path=f"/service/new?{urlencode({'insurer': chosen})}" if request.method == "POST" else None,
    )


@router.get("/service/new")
def enquiry_form(request: Request, insurer: str | None = None) -> Response:
    code = (insurer or "").strip().upper()[:32]
    found = find_insurer(code) if code else None
    return _form(request, insurer=found, chosen=code)


def _values(form: FormData) -> dict[str, str]:
    values = {}
    for name, limit in LIMITS.items():
        raw = form.get(name)
        values[name] = raw.strip()[:limit] if isinstance(raw, str) else ""
    return values


def _body(values: dict[str, str]) -> dict[str, Any]:
    customer = {name: values[name] for name in ("name", "phone", "id_number") if values[name]}
    body: dict[str, Any] = {"channel": "public", "priority": "normal", "customer": customer}
    body |= {name: values[name] for name in ("category", "subject", "description", "policy_number") if values[name]}
    return body


def _locked_for(session: Session, key: str) -> int:
    """Seconds the address still waits (0: not locked)."""
    now = utc_now()
    for row in throttle.rows(session, LookupThrottle, [(SCOPE, key)]):
        if row.locked_until is not None and row.locked_until > now:
            return max(1, int((row.locked_until - now).total_seconds()) + 1)
    return 0


@router.post("/service/new")
def enquiry_post(request: Request, form: forms.PostedForm) -> Response:
    values = _values(form)
    token = form.get(CSRF_FIELD)
    chosen = values["insurer"].upper()
    if not csrf_valid(request, token if isinstance(token, str) else None):
        return _form(request, chosen=chosen, values=values, message="csrf", status_code=403)
    found = find_insurer(chosen) if chosen else None
    if found is None:
        return _form(request, chosen=chosen, values=values, message="insurer", status_code=422)
    return _file(request, found, values)


def _file(request: Request, found: lookup_service.Insurer, values: dict[str, str]) -> Response:
    locale = request_locale(request)
    if not values["phone"]:
        missing = forms.field_problem(locale, "phone", "missing")
        return _form(request, insurer=found, values=values, problem=missing, status_code=422)
    try:
        data = ServiceRequestIn.model_validate(_body(values))
    except ValidationError as exc:
        first = next(iter(forms.validation_problems(exc, locale, skip=("body", "customer")).values()))
        return _form(request, insurer=found, values=values, problem=first, status_code=422)
    key = lookup_service.ip_key(client_address(request))
    number: str | None = None
    problem: dict[str, Any] | None = None
    status_code = 422
    with unit_of_work(TenantContext.anonymous(found.id)) as session:
        wait = _locked_for(session, key)
        if not wait:
            now = utc_now()
            throttle.count_failure(
                session, LookupThrottle, SCOPE, key, now, WINDOW_SECONDS, MAX_PER_WINDOW, LOCKOUT_SECONDS
            )
            try:
                with session.begin_nested():
                    record, _ = service.intake(session, service.public_principal(found.id), data, channel="public")
                    number = record.number
            except Problem as exc:
                problem, status_code = forms.problem_for(locale, exc), exc.status
    if wait:
        answer = _form(
            request,
            insurer=found,
            values=values,
            message="locked",
            retry_minutes=max(1, -(-wait // 60)),
            status_code=429,
        )
        answer.headers["Retry-After"] = str(wait)
        return answer
    if number is None:
        return _form(request, insurer=found, values=values, problem=problem, status_code=status_code)
    return render(
        request,
        "servicedesk/public_sent.html",
        {"number": number, "insurer": found},
        status_code=201,
        switch_path=f"/service/new?{urlencode({'insurer': found.code})}",
    )
