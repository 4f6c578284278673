"""The ASGI application: JSON API under /api/v1, pages under /, OpenAPI at /docs."""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.middleware.sessions import SessionMiddleware
from starlette.staticfiles import StaticFiles
from uvicorn.middleware.proxy_headers import ProxyHeadersMiddleware

from claimwatch import __version__
from claimwatch.access.api import router as access_router
from claimwatch.actions import api as actions_api
from claimwatch.actions import pages as actions_pages
from claimwatch.analytics.api import router as analytics_router
from claimwatch.assignment import api as assignment_api
from claimwatch.assignment import pages as assignment_pages
from claimwatch.audit.api import router as audit_router
from claimwatch.auth.api import router as auth_router
from claimwatch.auth.principal import AccessDenied
from claimwatch.calendar.api import router as calendar_router
from claimwatch.cases.api import router as cases_router
from claimwatch.cases.pages import router as case_pages_router
from claimwatch.committee import api as committee_api
from claimwatch.committee import pages as committee_pages
from claimwatch.complaints import letter_pages as complaint_letter_pages
from claimwatch.complaints.api import router as complaints_router
from claimwatch.complaints.pages import router as complaint_pages_router
from claimwatch.config import PACKAGE_DIR, get_settings
from claimwatch.errors import Problem, error_body
from claimwatch.evidence import api as evidence_api
from claimwatch.evidence import pages as evidence_pages
from claimwatch.forecasts import api as forecasts_api
from claimwatch.forecasts import pages as forecasts_pages
from claimwatch.inspections import api as inspections_api
from claimwatch.inspections import pages as inspections_pages
from claimwatch.inspections import results_api as inspection_results_api
from claimwatch.inspections import results_pages as inspection_results_pages
from claimwatch.inspections import work_pages as inspection_work_pages
from claimwatch.kb import api as kb_api
from claimwatch.kb import pages as kb_pages
from claimwatch.kpi.api import router as kpi_router
from claimwatch.kpi.pages import router as kpi_pages_router
from claimwatch.logs import configure_logging
from claimwatch.lookup.api import router as lookup_router
from claimwatch.lookup.pages import router as lookup_pages_router
from claimwatch.materials.api import router as materials_router
from claimwatch.materials.pages import router as materials_pages_router
from claimwatch.notify.api import router as notify_router
from claimwatch.notify.pages import router as notify_pages_router
from claimwatch.ops import health as ops_health
from claimwatch.ops import web as ops_web
from claimwatch.people import api as people_api
from claimwatch.people import appraisal_api, appraisal_pages, training_api, training_pages
from claimwatch.people import pages as people_pages
from claimwatch.policies import revisit_api, revisit_pages, sales_api, sales_pages, underwriting_api, underwriting_pages
from claimwatch.privacy import derive_key
from claimwatch.providers import api as providers_api
from claimwatch.providers import pages as providers_pages
from claimwatch.providers import portal_pages as provider_portal_pages
from claimwatch.providers import provider_api
from claimwatch.providers import scorecard_pages as provider_scorecard_pages
from claimwatch.providers import task_api as provider_task_api
from claimwatch.providers import task_pages as provider_task_pages
from claimwatch.rectification import api as rectification_api
from claimwatch.rectification import pages as rectification_pages
from claimwatch.reports import api as reports_api
from claimwatch.reports import disclosure_pages
from claimwatch.reports import pages as reports_pages
from claimwatch.risk import api as risk_api
from claimwatch.risk import fairness_api, fairness_pages
from claimwatch.risk import pages as risk_pages
from claimwatch.sanctions import api as sanctions_api
from claimwatch.sanctions import pages as sanctions_pages
from claimwatch.servicedesk import api as servicedesk_api
from claimwatch.servicedesk import kpi_api as servicedesk_kpi_api
from claimwatch.servicedesk import pages as servicedesk_pages
from claimwatch.servicedesk import public_pages as servicedesk_public_pages
from claimwatch.sla.api import router as sla_router
from claimwatch.sla.pages import router as sla_pages_router
from claimwatch.supervision import api as supervision_api
from claimwatch.supervision import benchmark_api, benchmark_pages, whitelist_pages
from claimwatch.supervision import pages as supervision_pages
from claimwatch.surveys import api as surveys_api
from claimwatch.surveys import pages as surveys_pages
from claimwatch.todo import pages as todo_pages
from claimwatch.triage import api as triage_api
from claimwatch.triage import catastrophe_api
from claimwatch.triage import pages as triage_pages
from claimwatch.web import dispatch
from claimwatch.web.limits import BodyLimit
from claimwatch.web.pages import page_refusal
from claimwatch.web.pages import router as pages_router
from claimwatch.web.security import ApiGuard, serve_private_docs

# The one set of error handlers. They run after the exception has passed the request's session dependency,
# so whatever the refused request wrote is rolled back. An HTML route gets a page, any other the JSON body.


async def _problem(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, Problem)
    page = page_refusal(request, exc)
    if page is not None:
        return page
    return JSONResponse(status_code=exc.status, content=exc.body(), headers=exc.headers or None)


async def _access_denied(request: Request, exc: Exception) -> Response:
    page = page_refusal(request, exc)
    if page is not None:
        return page
    return JSONResponse(status_code=403, content=error_body(str(exc), [{"field": "role", "message": str(exc)}]))


async def _http_error(request: Request, exc: Exception) -> Response:
    """Starlette's and the auth dependencies' HTTP errors in the same body shape as every other error."""
    assert isinstance(exc, StarletteHTTPException)
    page = page_refusal(request, exc)
    if page is not None:
        return page
    if isinstance(exc.detail, dict) and "detail" in exc.detail:
        content = error_body(str(exc.detail["detail"]), exc.detail.get("problems", []))
    else:
        content = error_body(str(exc.detail))
    return JSONResponse(status_code=exc.status_code, content=content, headers=getattr(exc, "headers", None))


async def _validation_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    errors = exc.errors()
    if any(error.get("type") == "json_invalid" for error in errors):
        return JSONResponse(
            status_code=400,
            content={
                "detail": "malformed JSON body",
                "problems": [
                    {"field": "body", "message": str(error.get("ctx", {}).get("error", error["msg"]))}
                    for error in errors
                ],
            },
        )
    problems: list[dict[str, Any]] = [
        {"field": ".".join(str(part) for part in error["loc"] if part != "body"), "message": error["msg"]}
        for error in errors
    ]
    return JSONResponse(status_code=422, content={"detail": "invalid request", "problems": problems})


def create_app() -> FastAPI:
    settings = get_settings()
    configure_logging(settings.log_level)
    # CLAIMWATCH_PUBLIC_DOCS=false: /docs and /openapi.json only for signed-in users and API keys.
    public_docs = settings.public_docs
    app = FastAPI(
        title="claimwatch",
        version=__version__,
        description="理赔督促与保险服务品质管理 — insurance claims supervision and service-quality management",
        openapi_url="/openapi.json" if public_docs else None,
        docs_url="/docs" if public_docs else None,
        redoc_url="/redoc" if public_docs else None,
        lifespan=ops_web.lifespan,
    )
    # Added first, so it runs inside the session middleware: it needs the session to guard API writes.
    app.add_middleware(ApiGuard)
    app.add_middleware(
        SessionMiddleware,
        secret_key=derive_key("session-cookie").hex(),
        session_cookie="claimwatch_session",
        same_site="lax",
        https_only=settings.session_cookie_secure,  # also set when CLAIMWATCH_PUBLIC_BASE_URL is https
        max_age=settings.session_idle_seconds,  # the server-side session decides; see auth.service
    )
    # Oversize bodies are refused before they are read (per route: events, uploads, imports).
    app.add_middleware(BodyLimit)
    # Around everything but the proxy headers: request id, latency by route, a log line a request; /metrics.
    ops_web.install(app)
    # Outermost: the client address and scheme behind CLAIMWATCH_TRUSTED_PROXIES (deploy/nginx) for everything.
    app.add_middleware(ProxyHeadersMiddleware, trusted_hosts=settings.trusted_proxies)
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(Problem, _problem)
    app.add_exception_handler(AccessDenied, _access_denied)
    app.add_exception_handler(StarletteHTTPException, _http_error)

    # FastAPI matches a request against the routes in order, about 5 µs a route with its included routers (the last
    # of ~580 cost ~3 ms). The segment dispatch installed below tries only the routes a path can match; the probes
    # (a load balancer's liveness checks) and the public claimant lookup, the busiest route, still come first, so
    # they stay cheap with the plain router too. Their paths are their own, so going first shadows nothing.
    # Async: it does no I/O, and a sync endpoint is a hop to a worker thread and back (~0.1 ms of CPU) per probe.
    @app.get("/healthz", include_in_schema=False)
    async def healthz() -> dict[str, str]:
        return {"status": "ok"}

    @app.get("/readyz", include_in_schema=False)
    def readyz() -> Response:
        return ops_health.readyz_response()

    app.include_router(lookup_router)
    app.include_router(cases_router)
    app.include_router(assignment_api.router)
    app.include_router(assignment_pages.router)
    app.include_router(access_router)
    app.include_router(audit_router)
    app.include_router(auth_router)
    app.include_router(analytics_router)
    app.include_router(materials_router)
    app.include_router(notify_router)
    app.include_router(notify_pages_router)
    app.include_router(sla_router)
    app.include_router(calendar_router)
    app.include_router(kpi_router)
    app.include_router(complaints_router)
    app.include_router(pages_router)
    app.include_router(todo_pages.router)
    app.include_router(rectification_api.router)
    app.include_router(actions_api.router)
    app.include_router(actions_pages.router)
    app.include_router(rectification_pages.router)
    app.include_router(risk_api.router)
    app.include_router(risk_pages.router)
    app.include_router(fairness_api.router)
    app.include_router(fairness_pages.router)
    app.include_router(triage_api.router)
    app.include_router(triage_pages.router)
    app.include_router(catastrophe_api.router)
    app.include_router(materials_pages_router)  # before the claim pages: its /claims/{n}/materials/... routes
    app.include_router(provider_task_pages.router)  # before the claim pages: /claims/{n}/provider-tasks/new
    app.include_router(provider_scorecard_pages.router)  # before the register's /providers/{code}
    app.include_router(case_pages_router)
    app.include_router(sla_pages_router)
    app.include_router(kpi_pages_router)
    app.include_router(complaint_pages_router)
    app.include_router(complaint_letter_pages.router)
    app.include_router(lookup_pages_router)
    app.include_router(provider_api.router)
    app.include_router(provider_task_api.router)
    app.include_router(provider_portal_pages.public_router)
    app.include_router(providers_api.router)
    app.include_router(providers_pages.router)  # after fixed /providers/<word> pages: it takes /providers/{code}
    app.include_router(surveys_api.public_router)
    app.include_router(surveys_api.router)
    app.include_router(surveys_pages.public_router)
    app.include_router(surveys_pages.router)
    app.include_router(inspection_results_api.router)  # before inspections_api: fixed paths before {id}
    app.include_router(inspection_work_pages.router)
    app.include_router(inspections_api.router)
    app.include_router(inspections_pages.router)
    app.include_router(inspection_results_pages.router)
    app.include_router(inspection_results_pages.api_router)
    app.include_router(sanctions_api.router)
    app.include_router(sanctions_pages.router)
    app.include_router(committee_api.router)
    app.include_router(committee_pages.router)
    app.include_router(disclosure_pages.api_router)
    app.include_router(disclosure_pages.router)  # /disclosure/publish before the public /disclosure/{code}/{q}
    app.include_router(disclosure_pages.public_router)
    app.include_router(reports_api.router)
    app.include_router(reports_pages.router)
    app.include_router(evidence_api.router)
    app.include_router(evidence_pages.router)
    app.include_router(supervision_api.router)
    app.include_router(benchmark_api.router)
    app.include_router(supervision_pages.router)
    app.include_router(benchmark_pages.router)
    app.include_router(whitelist_pages.public_router)
    app.include_router(whitelist_pages.router)
    app.include_router(appraisal_api.router)
    app.include_router(appraisal_pages.router)  # before people pages: /people/appraisals before /people/{code}
    app.include_router(training_api.router)
    app.include_router(training_pages.router)  # before people pages: /people/training before /people/{code}
    app.include_router(underwriting_api.router)
    app.include_router(underwriting_pages.router)
    app.include_router(revisit_api.router)
    app.include_router(revisit_pages.router)
    app.include_router(sales_api.router)
    app.include_router(sales_pages.router)  # fixed /sales/<word> before /sales/{policy_number}
    app.include_router(people_api.router)
    app.include_router(people_pages.router)  # LAST of the people pages: /people/{code} takes any /people/<word>
    app.include_router(servicedesk_kpi_api.router)  # BEFORE the requests api (/kpis vs /{number})
    app.include_router(servicedesk_api.router)
    app.include_router(kb_api.router)
    app.include_router(servicedesk_pages.router)
    app.include_router(servicedesk_public_pages.router)
    app.include_router(forecasts_api.router)
    app.include_router(forecasts_pages.router)
    app.include_router(kb_pages.router)  # fixed /kb/new, /kb/review, /kb/stale before /kb/{code}
    if not public_docs:
        serve_private_docs(app)
    app.mount("/static", StaticFiles(directory=PACKAGE_DIR / "web" / "static"), name="static")
    # A request is then matched only against the routes whose leading literal segments its path has (the order
    # and every answer stay FastAPI's; web/dispatch.py).
    dispatch.install(app)
    return app
