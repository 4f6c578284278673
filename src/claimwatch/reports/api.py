"""Reports API (thin): list the versions the caller may read, build a new version, download HTML or PDF.

VIEW_REPORTS reads (an insurer its own reports; a regulator only the cross-insurer edition), BUILD_REPORTS
builds (an insurer's quality or special report; a regulator only the cross-insurer edition). A bad period is
422 naming ``period``; another insurer's report is 404."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query
from fastapi.responses import Response

from claimwatch import pdf
from claimwatch.auth.deps import TenantSession, require
from claimwatch.auth.principal import Permission, Principal
from claimwatch.db import TenantContext, unit_of_work
from claimwatch.params import RowId
from claimwatch.reports import periods, schemas, service
from claimwatch.reports.models import Report

router = APIRouter(prefix="/api/v1/reports", tags=["reports"])

ViewerDep = Annotated[Principal, Depends(require(Permission.VIEW_REPORTS))]
BuilderDep = Annotated[Principal, Depends(require(Permission.BUILD_REPORTS))]

_ERRORS: dict[int | str, dict[str, Any]] = {
    403: {"description": "the role may not do this (a regulator builds only the cross-insurer edition)"},
    404: {"description": "unknown report (another insurer's), or a version without this file"},
    409: {"description": "the snapshot predates the period's end (field 'snapshot'), or a stored file was altered"},
    422: {"description": "invalid field (named in 'problems'): period, kind, subject_id, locale"},
    503: {"description": "no KPI snapshot yet"},
}


def report_out(report: Report) -> schemas.ReportOut:
    out = schemas.ReportOut.model_validate(report)
    base = f"/api/v1/reports/{report.id}"
    out.html_url = f"{base}/html" if report.html_path else None
    out.pdf_url = f"{base}/pdf" if report.pdf_path else None
    return out


@router.get("", response_model=list[schemas.ReportOut], responses=_ERRORS)
def list_reports(
    principal: ViewerDep,
    session: TenantSession,
    period: str | None = Query(None, max_length=16, description="2026-11, 2026Q4 or 2026-Q4"),
    kind: str | None = Query(None, max_length=32, description="quality | special_alert | special_plan | …"),
) -> Any:
    """Every stored version the caller may read, newest first."""
    return [report_out(r) for r in service.listing(session, principal, kind=kind, period=period)]


@router.post("", status_code=201, response_model=schemas.ReportOut, responses=_ERRORS)
def build_report(body: schemas.BuildIn, principal: BuilderDep, session: TenantSession) -> Any:
    """Build the next version (HTML and PDF, SHA-256 in the audit chain). An insurer builds its own; a
    regulator the cross-insurer edition of the quality report."""
    period = periods.parse(body.period) if body.period else None
    if principal.is_regulator:
        # The regulator's request session is read-only; the cross-insurer edition is written in its own unit
        # of work (no tenant filter: the row has none), after the same checks.
        with unit_of_work(TenantContext(tenant_id=None)) as writer:
            report = service.build(writer, principal, tenant_id=None, kind=body.kind, period=period, locale=body.locale)
            return report_out(report)
    report = service.build(
        session,
        principal,
        tenant_id=principal.tenant_id,
        kind=body.kind,
        period=period,
        subject_id=body.subject_id,
        locale=body.locale,
    )
    return report_out(report)


@router.get("/{report_id}", response_model=schemas.ReportOut, responses=_ERRORS)
def get_report(report_id: RowId, principal: ViewerDep, session: TenantSession) -> Any:
    return report_out(service.visible(session, principal, report_id))


def _file(report: Report, which: str, inline: bool = False) -> Response:
    content = service.file_of(report, which)
    media = pdf.PDF_MEDIA_TYPE if which == "pdf" else "text/html; charset=utf-8"
    headers = {
        "Content-Disposition": pdf.content_disposition(service.filename(report, which), inline=inline),
        # A stored report is a document, not a page of this site: nothing in it runs or loads.
        "Content-Security-Policy": "default-src 'none'; style-src 'unsafe-inline'; img-src data:; sandbox",
        "X-Content-Type-Options": "nosniff",
        "Cache-Control": "no-store",
    }
    return Response(content, media_type=media, headers=headers)


@router.get("/{report_id}/pdf", responses=_ERRORS | {200: {"content": {pdf.PDF_MEDIA_TYPE: {}}}})
def download_pdf(report_id: RowId, principal: ViewerDep, session: TenantSession) -> Response:
    """The stored PDF, re-hashed against its recorded SHA-256 (409 if the file was altered)."""
    return _file(service.visible(session, principal, report_id), "pdf")


@router.get("/{report_id}/html", responses=_ERRORS | {200: {"content": {"text/html": {}}}})
def download_html(report_id: RowId, principal: ViewerDep, session: TenantSession) -> Response:
    """The stored HTML (self-contained), re-hashed against its recorded SHA-256."""
    return _file(service.visible(session, principal, report_id), "html")
