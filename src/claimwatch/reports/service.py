"""Building, storing and reading reports: the rules. Never commits (the route, CLI or job owns the unit of work).

``build`` checks who may build what (BUILD_REPORTS; a regulator only the cross-insurer edition, an insurer
only its own), that a quality report's period has ended and that the KPI snapshot was taken after it ended,
runs the kind's section builders over the snapshot, renders HTML and PDF, writes both under the documents
directory as a new version of the series (earlier versions are kept) and records ``report.built`` with both
SHA-256 in the audit chain — the insurer's chain, or for the regulator edition every insurer's chain, as it
is built from every insurer's data. A section that fails makes a ``failed`` version (and ``report.failed``),
so the worker's schedule does not stop on one bad section; a refused request (a ``Problem``) writes nothing.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import traceback
from dataclasses import dataclass
from typing import Any

import structlog
from sqlalchemy.orm import Session

from claimwatch import pdf
from claimwatch.audit import service as audit_service
from claimwatch.auth.principal import Permission, Principal
from claimwatch.db import utc_now
from claimwatch.errors import Conflict, Forbidden, Invalid, NotFound, Problem
from claimwatch.kpi import service as kpi_service
from claimwatch.kpi.engine import Period, Scope
from claimwatch.reports import builder, periods, repository, storage
from claimwatch.reports.models import KINDS, SPECIAL_KINDS, Report, series_key
from claimwatch.reports.sections import base
from claimwatch.tenancy import repository as tenancy_repository
from claimwatch.tenancy import service as tenancy_service
from claimwatch.web.i18n import LOCALES, N_, translate

log = structlog.get_logger("claimwatch.reports")

Actor = Principal | str

BUILT = "report.built"
FAILED = "report.failed"

TITLES: dict[str, str] = {
    "quality": N_("Quality management report"),
    "special_alert": N_("Special report: quality alert"),
    "special_plan": N_("Special report: inspection plan"),
    "special_action": N_("Special report: improvement action"),
}
REGULATOR_TITLE = N_("Quality management report (all insurers)")
ALL_INSURERS = N_("All insurers")
MONTH_LABEL = N_("%(year)s-%(month)s")
QUARTER_LABEL = N_("Q%(quarter)s %(year)s")
SUBJECT_LABEL = N_("No. %(id)s")


@dataclass(frozen=True)
class BuildRequest:
    """What to build, checked."""

    tenant_id: int | None
    kind: str
    period: Period | None
    subject_id: int | None
    locale: str

    @property
    def edition(self) -> str:
        return "regulator" if self.tenant_id is None else "insurer"

    @property
    def series(self) -> str:
        return series_key(self.tenant_id, self.kind, self.period.label if self.period else None, self.subject_id)


def period_label(period: Period, locale: str) -> str:
    if period.kind == "quarter":
        quarter = (period.start.month - 1) // 3 + 1
        return translate(locale, QUARTER_LABEL) % {"year": period.start.year, "quarter": quarter}
    return translate(locale, MONTH_LABEL) % {"year": period.start.year, "month": f"{period.start.month:02d}"}


def kind_title(kind: str, edition: str, locale: str) -> str:
    if kind == "quality" and edition == "regulator":
        return translate(locale, REGULATOR_TITLE)
    return translate(locale, TITLES[kind])


def _actor_name(actor: Actor) -> str:
    return actor.actor if isinstance(actor, Principal) else actor


def _authorise(actor: Actor, tenant_id: int | None, kind: str) -> None:
    if not isinstance(actor, Principal):
        return  # the CLI and the worker (system)
    actor.require(Permission.BUILD_REPORTS)
    if actor.is_regulator:
        if tenant_id is not None or kind != "quality":
            raise Forbidden("tenant", "a regulator builds only the cross-insurer edition of the quality report")
        return
    if tenant_id is None:
        raise Forbidden("tenant", "only a regulator builds the cross-insurer edition")
    if tenant_id != actor.tenant_id:
        raise NotFound("tenant", "no such insurer")


def _subject_model(kind: str) -> Any:
    if kind == "special_alert":
        from claimwatch.kpi.models import QualityAlert

        return QualityAlert
    if kind == "special_plan":
        from claimwatch.inspections.models import InspectionPlan

        return InspectionPlan
    from claimwatch.actions.models import ImprovementAction

    return ImprovementAction


def check_request(
    session: Session,
    *,
    tenant_id: int | None,
    kind: str,
    period: Period | None,
    subject_id: int | None,
    locale: str,
    today: dt.date,
) -> BuildRequest:
    """The refusals, each naming its field: kind, locale, tenant, period (missing, unfinished), subject_id."""
    if kind not in KINDS:
        raise Invalid("kind", f"kind {kind!r}: one of {', '.join(KINDS)}")
    if locale not in LOCALES:
        raise Invalid("locale", f"locale {locale!r}: zh or en")
    if tenant_id is not None and tenancy_repository.tenant_by_id(session, tenant_id) is None:
        raise NotFound("tenant", "no such insurer")
    if kind == "quality":
        if period is None:
            raise Invalid("period", "a quality report needs a period: a month (2026-11) or a quarter (2026Q4)")
        if subject_id is not None:
            raise Invalid("subject_id", "a quality report has no subject")
        periods.finished(period, today)
        return BuildRequest(tenant_id, kind, period, None, locale)
    if tenant_id is None:
        raise Invalid("tenant", "a special report is an insurer's: name the insurer")
    if subject_id is None:
        raise Invalid("subject_id", f"a {kind} report needs the id of its subject")
    model = _subject_model(kind)
    found = session.get(model, subject_id)
    if found is None or found.tenant_id != tenant_id:
        raise NotFound("subject_id", f"no {kind.removeprefix('special_')} {subject_id} at this insurer")
    return BuildRequest(tenant_id, kind, None, subject_id, locale)


@dataclass
class Composed:
    """A report rendered but not stored yet (:func:`compose`); :func:`store` writes it."""

    request: BuildRequest
    version: int
    title: str
    built_at: dt.datetime
    built_by: str
    html: str | None
    pdf: bytes | None
    seconds: dict[str, float]
    error: str | None
    started: dt.datetime


def build(
    session: Session,
    actor: Actor,
    *,
    tenant_id: int | None,
    kind: str,
    period: Period | None = None,
    subject_id: int | None = None,
    locale: str = "zh",
    at: dt.datetime | None = None,
) -> Report:
    """Builds and stores the next version of a report (see the module's docstring)."""
    composed = compose(
        session, actor, tenant_id=tenant_id, kind=kind, period=period, subject_id=subject_id, locale=locale, at=at
    )
    return store(session, composed)


def compose(
    session: Session,
    actor: Actor,
    *,
    tenant_id: int | None,
    kind: str,
    period: Period | None = None,
    subject_id: int | None = None,
    locale: str = "zh",
    at: dt.datetime | None = None,
) -> Composed:
    """Checks the request and renders the next version (reads only: a job may run it in a read-only session
    and :func:`store` it in a short write transaction, so SQLite writers do not wait for the PDF)."""
    at = at or utc_now()
    _authorise(actor, tenant_id, kind)
    zone = tenancy_service.tenant_zone(session, tenant_id)
    today = at.astimezone(zone).date()
    request = check_request(
        session, tenant_id=tenant_id, kind=kind, period=period, subject_id=subject_id, locale=locale, today=today
    )
    tenant_label = _tenant_label(session, tenant_id, locale)
    started = dt.datetime.now(dt.UTC)
    seconds: dict[str, float] = {}
    error: str | None = None
    html: str | None = None
    pdf_bytes: bytes | None = None
    version = repository.latest_version(session, request.series) + 1
    meta = builder.DocumentMeta(
        title=kind_title(kind, request.edition, locale),
        tenant_label=tenant_label,
        period_label=(
            period_label(request.period, locale)
            if request.period
            else translate(locale, SUBJECT_LABEL) % {"id": request.subject_id}
        ),
        built_at_local=builder.local_label(at, zone),
        version=version,
        edition=request.edition,
        locale=locale,
        built_by=_actor_name(actor),
    )
    with kpi_service.opened() as snap:
        if request.period is not None and snap.local_now.date() < request.period.end:
            raise Conflict(
                "snapshot",
                f"the KPI snapshot was taken {snap.local_now:%Y-%m-%d %H:%M}, before period {request.period.label} "
                "ended: take a new snapshot (claimwatch kpi snapshot) and build again",
            )
        ctx = base.ReportContext(
            session=session,
            tenant_id=tenant_id,
            period=request.period or Period.containing(today),
            locale=locale,
            zone=zone,
            snap=snap,
            scope=Scope(tenant_ids=None if tenant_id is None else (tenant_id,)),
            kind=kind,
            subject_id=request.subject_id,
            now=at,
            tenant_label=tenant_label,
        )
        try:
            run = builder.run_sections(ctx)
            seconds = dict(run.seconds)
            clock = dt.datetime.now(dt.UTC)
            html = builder.render_html(meta, run.sections)
            seconds["_html"] = _since(clock)
        except Problem:
            raise
        except Exception as exc:  # noqa: BLE001 - a failed section makes a failed version, with the reason
            error = _describe(exc)
            log.exception("report section failed", kind=kind, tenant_id=tenant_id, series=request.series)
    if html is not None:
        clock = dt.datetime.now(dt.UTC)
        try:
            pdf_bytes = builder.render_pdf(html)
        except pdf.PdfUnavailable as missing:
            error = missing.message
        except Exception as exc:  # noqa: BLE001
            error = _describe(exc)
            log.exception("report PDF failed", kind=kind, tenant_id=tenant_id, series=request.series)
        seconds["_pdf"] = _since(clock)
    title = f"{tenant_label} {meta.title} {meta.period_label}"
    return Composed(request, version, title, at, _actor_name(actor), html, pdf_bytes, seconds, error, started)


def store(session: Session, composed: Composed) -> Report:
    """Writes the files and the version's row, and records the audit event(s)."""
    request = composed.request
    if repository.latest_version(session, request.series) + 1 != composed.version:
        raise Conflict("version", "another build of this report was stored meanwhile: build it again")
    report = Report(
        tenant_id=request.tenant_id,
        series=request.series,
        kind=request.kind,
        period=request.period.label if request.period else None,
        subject_id=request.subject_id,
        edition=request.edition,
        version=composed.version,
        locale=request.locale,
        title=composed.title,
        built_at=composed.built_at,
        built_by=composed.built_by,
        section_seconds=composed.seconds,
        status="failed" if composed.html is None else "built",
        error=composed.error,
    )
    name = storage.relative_name(request.tenant_id, request.kind, report.period, request.subject_id, report.version)
    if composed.html is not None:
        stored = storage.write(name + ".html", composed.html.encode("utf-8"))
        report.html_path, report.html_sha256, report.html_bytes = stored.relative, stored.sha256, stored.size
    if composed.pdf is not None:
        stored = storage.write(name + ".pdf", composed.pdf)
        report.pdf_path, report.pdf_sha256, report.pdf_bytes = stored.relative, stored.sha256, stored.size
    report.total_seconds = _since(composed.started)
    session.add(report)
    session.flush()
    _audit(session, report)
    log.info(
        "report built" if report.status == "built" else "report failed",
        report_id=report.id,
        series=report.series,
        version=report.version,
        seconds=report.total_seconds,
    )
    return report


def _since(moment: dt.datetime) -> float:
    return round((dt.datetime.now(dt.UTC) - moment).total_seconds(), 4)


def _describe(exc: Exception) -> str:
    where = traceback.extract_tb(exc.__traceback__)[-1] if exc.__traceback__ else None
    place = f" ({where.filename.rsplit('/', 1)[-1]}:{where.lineno})" if where else ""
    return f"{type(exc).__name__}: {exc}{place}"[:2000]


def _tenant_label(session: Session, tenant_id: int | None, locale: str) -> str:
    if tenant_id is None:
        return translate(locale, ALL_INSURERS)
    tenant = tenancy_repository.tenant_by_id(session, tenant_id)
    return tenant.name if tenant is not None else str(tenant_id)


def audit_payload(report: Report) -> dict[str, Any]:
    return {
        "report_id": report.id,
        "kind": report.kind,
        "edition": report.edition,
        "period": report.period,
        "subject_id": report.subject_id,
        "version": report.version,
        "locale": report.locale,
        "status": report.status,
        "html_path": report.html_path,
        "html_sha256": report.html_sha256,
        "pdf_path": report.pdf_path,
        "pdf_sha256": report.pdf_sha256,
        "error": report.error,
    }


def _audit(session: Session, report: Report) -> None:
    kind = BUILT if report.status == "built" else FAILED
    chains = (
        [report.tenant_id] if report.tenant_id is not None else [t.id for t in tenancy_repository.all_tenants(session)]
    )
    payload = audit_payload(report)
    for tenant_id in chains:
        audit_service.record(session, tenant_id, kind, f"report:{report.id}", report.built_by, payload)


# ---- reading --------------------------------------------------------------------------------------------


def visible(session: Session, principal: Principal, report_id: int) -> Report:
    """A report the caller may read: an insurer's own (the session is scoped to it), the regulator edition
    for a regulator; anything else is 404, its existence not revealed."""
    principal.require(Permission.VIEW_REPORTS)
    found = repository.get(session, report_id, regulator_edition=principal.is_regulator)
    if found is None or (not principal.is_regulator and found.tenant_id != principal.tenant_id):
        raise NotFound("report", "no such report")
    return found


def listing(
    session: Session, principal: Principal, *, kind: str | None = None, period: str | None = None
) -> list[Report]:
    principal.require(Permission.VIEW_REPORTS)
    if kind is not None and kind not in KINDS:
        raise Invalid("kind", f"kind {kind!r}: one of {', '.join(KINDS)}")
    if period:
        period = periods.parse(period).label
    rows = repository.listing(
        session,
        regulator_edition=principal.is_regulator,
        tenant_id=None if principal.is_regulator else principal.tenant_id,
        kind=kind,
        period=period or None,
    )
    return list(rows)


FILE_KINDS = ("html", "pdf")


def file_of(report: Report, which: str) -> bytes:
    """The stored HTML or PDF, re-hashed against the SHA-256 recorded at build: a file altered on disk is
    refused (409), never served as the report."""
    path, expected = (report.pdf_path, report.pdf_sha256) if which == "pdf" else (report.html_path, report.html_sha256)
    if path is None or expected is None:
        raise NotFound("file", f"this version has no {which.upper()} ({report.error or report.status})")
    try:
        content = storage.read(path)
    except FileNotFoundError as exc:
        missing = f"the {which.upper()} file of this version is missing from the documents directory"
        raise NotFound("file", missing) from exc
    if hashlib.sha256(content).hexdigest() != expected:
        altered = f"the stored {which.upper()} differs from the one built (its SHA-256 is in the audit chain)"
        raise Conflict("file", altered)
    return content


def check_files(report: Report) -> dict[str, bool]:
    """Each stored file re-hashed: True when it still has the SHA-256 recorded at build."""
    return {
        which: storage.sha256_of(path) == expected
        for which, path, expected in (
            ("html", report.html_path, report.html_sha256),
            ("pdf", report.pdf_path, report.pdf_sha256),
        )
        if path is not None
    }


def filename(report: Report, which: str) -> str:
    return f"{report.title} v{report.version}.{which}".replace("/", "-")


def special_kinds() -> tuple[str, ...]:
    return SPECIAL_KINDS
