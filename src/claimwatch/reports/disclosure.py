"""Public service-quality disclosure (服务质量信息披露): the claim-service indicators an insurer discloses per
quarter, each with its definition from the KPI catalogue. Rules and reads; never commits.

Required indicators (:data:`INDICATORS`): average claim cycle time, claim acceptance rate (理赔获赔率),
complaints per 10 000 policies and per 100 M CNY premium, and complaints handled on time. ``publish``
(BUILD_REPORTS, the insurer's own; the CLI as the system) computes them for a finished quarter from the KPI
snapshot (taken after the quarter ended) and freezes the figures as a new version of (tenant, quarter), with
their SHA-256 in the audit event ``disclosure.published``. An indicator the catalogue lacks, that has no
data source yet, or that has no data in the quarter (e.g. no policy volumes reported) is published as
"not disclosed" with the reason, never as a made-up figure; the completeness KPI ``disclosure_completeness``
counts it (the ``disclosures`` snapshot table, :mod:`claimwatch.reports.kpi_source`).
"""

from __future__ import annotations

import csv
import datetime as dt
import hashlib
import io
import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from markupsafe import Markup
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from claimwatch.audit import service as audit_service
from claimwatch.auth.principal import Permission, Principal
from claimwatch.config import PACKAGE_DIR
from claimwatch.db import utc_now
from claimwatch.errors import Conflict, Forbidden, Invalid, NotFound, Problem
from claimwatch.kpi import loader as kpi_loader
from claimwatch.kpi import service as kpi_service
from claimwatch.kpi import snapshot as kpi_snapshot
from claimwatch.kpi.engine import Period, Scope
from claimwatch.reports import periods
from claimwatch.reports.disclosure_models import PublicDisclosure
from claimwatch.tenancy import repository as tenancy_repository
from claimwatch.tenancy import service as tenancy_service
from claimwatch.tenancy.models import Tenant
from claimwatch.web.i18n import N_, TIME_ZONE_KEY, render_template, translate

Actor = Principal | str
PUBLISHED = "disclosure.published"

# The catalogue KPIs a disclosure carries, in the order the page shows them.
INDICATORS: tuple[str, ...] = (
    "cycle_time",
    "claim_acceptance_rate",
    "complaints_per_10k_policies",
    "complaints_per_100m_premium",
    "complaint_on_time_rate",
)
REASONS = {
    "not_in_catalogue": N_("The KPI catalogue has no such indicator."),
    "pending": N_("The platform does not collect the data for this indicator yet."),
    "no_data": N_("No data for this quarter (for complaint rates: no policy or premium volumes reported)."),
}
NOT_DISCLOSED = N_("Not disclosed")
_QUARTER = re.compile(r"^(\d{4})-?[Qq]([1-4])$")


@dataclass(frozen=True)
class QuarterRef:
    period: Period

    @property
    def label(self) -> str:  # 2026-Q3
        return self.period.label

    @property
    def compact(self) -> str:  # 2026Q3, for URLs and file names
        return self.period.label.replace("-", "")


def parse_quarter(text: str) -> Period:
    """2026Q3 or 2026-Q3; anything else is Invalid("quarter")."""
    raw = (text or "").strip()
    if not _QUARTER.match(raw):
        raise Invalid("quarter", f"quarter {raw[:20]!r} must be like 2026Q3 or 2026-Q3 (Q1 to Q4)")
    try:
        period = periods.parse(raw)
    except Problem as exc:
        raise Invalid("quarter", exc.message) from exc
    return period


def compact(period: Period) -> str:
    return period.label.replace("-", "")


def disclosure_url(tenant_code: str, period: Period) -> str:
    return f"/disclosure/{tenant_code}/{compact(period)}"


def _actor_name(actor: Actor) -> str:
    return actor.actor if isinstance(actor, Principal) else actor


def _authorise(actor: Actor, tenant_id: int) -> None:
    if not isinstance(actor, Principal):
        return  # the CLI, the demo (system)
    actor.require(Permission.BUILD_REPORTS)
    if actor.is_regulator or actor.tenant_id is None:
        raise Forbidden("tenant", "a disclosure is published by the insurer itself")
    if actor.tenant_id != tenant_id:
        raise NotFound("tenant", "no such insurer")


def _quarter_start(period: Period) -> dt.datetime:
    """The quarter's first instant in the snapshot's zone (the KPI bucket), as UTC."""
    zone = kpi_snapshot.snapshot_zone()
    start = period.start
    return dt.datetime(start.year, start.month, start.day, tzinfo=zone).astimezone(dt.UTC)


def indicators(snap: kpi_service.OpenSnapshot, tenant_id: int, period: Period) -> list[dict[str, Any]]:
    """Each required indicator's frozen entry: definition (zh/en), unit, figures, or why it is not disclosed."""
    catalogue = kpi_loader.by_code()
    wanted = [catalogue[code] for code in INDICATORS if code in catalogue and catalogue[code].available]
    result = kpi_service.values(snap, Scope(tenant_ids=(tenant_id,)), [period], kpis=wanted)
    entries = []
    for code in INDICATORS:
        kpi = catalogue.get(code)
        entry: dict[str, Any] = {"code": code, "present": False, "reason": None, "value": None}
        entry |= {"numerator": None, "denominator": None}
        if kpi is None:
            entry |= {"reason": "not_in_catalogue", "name_zh": code, "name_en": code, "unit": None}
            entry |= {"definition_zh": "", "definition_en": ""}
            entries.append(entry)
            continue
        entry |= {
            "name_zh": kpi.name_zh,
            "name_en": kpi.name_en,
            "definition_zh": kpi.definition_zh,
            "definition_en": kpi.definition_en,
            "unit": kpi.unit,
        }
        value = result.get(code, period.label)
        if not kpi.available:
            entry["reason"] = "pending"
        elif value is None or value.value is None:
            entry["reason"] = "no_data"
        else:
            entry |= {
                "present": True,
                "value": round(value.value, 6),
                "numerator": value.numerator,
                "denominator": value.denominator,
            }
        entries.append(entry)
    return entries


def digest(entries: list[dict[str, Any]]) -> str:
    return hashlib.sha256(json.dumps(entries, sort_keys=True, ensure_ascii=False).encode("utf-8")).hexdigest()


def latest_version(session: Session, tenant_id: int, quarter: str) -> int:
    statement = select(func.max(PublicDisclosure.version)).where(
        PublicDisclosure.tenant_id == tenant_id, PublicDisclosure.quarter == quarter
    )
    return int(session.execute(statement).scalar_one() or 0)


def publish(
    session: Session, actor: Actor, *, tenant_id: int, quarter: str, at: dt.datetime | None = None
) -> PublicDisclosure:
    """Computes a finished quarter's indicators from the snapshot and stores them as the next version."""
    _authorise(actor, tenant_id)
    if tenancy_repository.tenant_by_id(session, tenant_id) is None:
        raise NotFound("tenant", "no such insurer")
    at = at or utc_now()
    period = parse_quarter(quarter)
    today = at.astimezone(tenancy_service.tenant_zone(session, tenant_id)).date()
    try:
        periods.finished(period, today)
    except Problem as exc:
        raise Invalid("quarter", exc.message) from exc
    with kpi_service.opened() as snap:
        if snap.local_now.date() < period.end:
            raise Conflict(
                "snapshot",
                f"the KPI snapshot was taken {snap.local_now:%Y-%m-%d %H:%M}, before quarter {period.label} ended: "
                "take a new snapshot (claimwatch kpi snapshot) and publish again",
            )
        entries = indicators(snap, tenant_id, period)
        taken_at = snap.taken_at
    audit_service.open_chain(session, tenant_id).close()  # one publisher per tenant at a time
    version = latest_version(session, tenant_id, period.label) + 1
    present = sum(1 for e in entries if e["present"])
    row = PublicDisclosure(
        tenant_id=tenant_id,
        quarter=period.label,
        quarter_start=_quarter_start(period),
        version=version,
        indicators=entries,
        required=len(entries),
        present=present,
        snapshot_taken_at=taken_at,
        sha256=digest(entries),
        published_at=at,
        published_by=_actor_name(actor),
    )
    session.add(row)
    session.flush()
    audit_service.record(
        session,
        tenant_id,
        PUBLISHED,
        period.label,
        _actor_name(actor),
        {
            "quarter": period.label,
            "version": version,
            "sha256": row.sha256,
            "required": row.required,
            "present": present,
            "missing": [e["code"] for e in entries if not e["present"]],
            "snapshot_taken_at": taken_at.isoformat(),
        },
    )
    return row


# -- reads for the public page and the export (no login: a session over every tenant, read-only) -----------


@dataclass
class InsurerQuarters:
    code: str
    name: str
    quarters: list[tuple[str, str]]  # (label 2026-Q3, url)


def insurers(session: Session) -> list[InsurerQuarters]:
    """Every insurer with at least one published disclosure, and its quarters (newest first)."""
    statement = (
        select(Tenant.code, Tenant.name, PublicDisclosure.quarter)
        .join(Tenant, Tenant.id == PublicDisclosure.tenant_id)
        .group_by(Tenant.code, Tenant.name, PublicDisclosure.quarter)
        .order_by(Tenant.code, PublicDisclosure.quarter.desc())
    )
    found: dict[str, InsurerQuarters] = {}
    for code, name, quarter in session.execute(statement):
        entry = found.setdefault(code, InsurerQuarters(code, name, []))
        entry.quarters.append((quarter, disclosure_url(code, Period.parse(quarter))))
    return list(found.values())


def latest(session: Session, tenant_id: int, period: Period) -> PublicDisclosure | None:
    statement = (
        select(PublicDisclosure)
        .where(PublicDisclosure.tenant_id == tenant_id, PublicDisclosure.quarter == period.label)
        .order_by(PublicDisclosure.version.desc())
        .limit(1)
    )
    return session.execute(statement).scalar_one_or_none()


def display(unit: str | None, value: float | None, locale: str) -> str:
    """A frozen figure in its unit (the dashboard's formats)."""
    if value is None or unit is None:
        return translate(locale, NOT_DISCLOSED)
    if unit == "%":
        return f"{value:.1f}%"
    if unit == "days":
        return f"{value:.1f} 天" if locale == "zh" else f"{value:.1f} days"
    if unit == "per_10k":
        return f"{value:.2f} 件/万张保单" if locale == "zh" else f"{value:.2f} per 10,000 policies"
    if unit == "per_100m_cny":
        return f"{value:.2f} 件/亿元保费" if locale == "zh" else f"{value:.2f} per 100 M CNY premium"
    return f"{value:,.2f}"


@dataclass
class Row:
    code: str
    name: str
    definition: str
    value: str
    present: bool
    reason: str | None


@dataclass
class DisclosureView:
    tenant_code: str
    tenant_name: str
    quarter: str
    version: int
    published_at: dt.datetime
    snapshot_taken_at: dt.datetime
    sha256: str
    rows: list[Row]
    required: int
    present: int

    @property
    def completeness(self) -> float:
        return 100.0 * self.present / self.required if self.required else 0.0


def view(tenant: Tenant, row: PublicDisclosure, locale: str) -> DisclosureView:
    rows = []
    for entry in row.indicators:
        zh = locale == "zh"
        reason = entry.get("reason")
        rows.append(
            Row(
                code=str(entry["code"]),
                name=str(entry["name_zh"] if zh else entry["name_en"]),
                definition=str(entry["definition_zh"] if zh else entry["definition_en"]),
                value=display(entry.get("unit"), entry.get("value") if entry.get("present") else None, locale),
                present=bool(entry.get("present")),
                reason=translate(locale, REASONS[reason]) if reason in REASONS else None,
            )
        )
    return DisclosureView(
        tenant_code=tenant.code,
        tenant_name=tenant.name,
        quarter=row.quarter,
        version=row.version,
        published_at=row.published_at,
        snapshot_taken_at=row.snapshot_taken_at,
        sha256=row.sha256,
        rows=rows,
        required=row.required,
        present=row.present,
    )


def find(session: Session, tenant_code: str, quarter: str, locale: str) -> DisclosureView:
    """The latest published version of an insurer's quarter; NotFound when there is none (or no such insurer)."""
    tenant = tenancy_repository.tenant_by_code(session, (tenant_code or "")[:32])
    period = parse_quarter(quarter)
    row = latest(session, tenant.id, period) if tenant is not None else None
    if tenant is None or row is None:
        raise NotFound("quarter", f"no disclosure of {tenant_code[:32]!r} for {period.label}")
    return view(tenant, row, locale)


CSV_HEADERS = {
    "zh": ("保险公司", "季度", "指标代码", "指标", "披露值", "数值", "定义", "未披露原因", "版本", "发布时间"),
    "en": (
        "insurer",
        "quarter",
        "code",
        "indicator",
        "disclosed",
        "value",
        "definition",
        "reason not disclosed",
        "version",
        "published at",
    ),
}


def to_csv(session: Session, found: DisclosureView, locale: str) -> str:
    """UTF-8 with a BOM, headers in the reader's language, the publication time in the platform zone."""
    stored = latest(session, _tenant_id(session, found.tenant_code), parse_quarter(found.quarter))
    values = {e["code"]: e.get("value") for e in (stored.indicators if stored else [])}
    zone = tenancy_service.platform_zone()
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(CSV_HEADERS["zh" if locale == "zh" else "en"])
    for r in found.rows:
        writer.writerow(
            [
                found.tenant_code,
                found.quarter,
                r.code,
                r.name,
                r.value,
                "" if values.get(r.code) is None else values[r.code],
                r.definition,
                r.reason or "",
                found.version,
                found.published_at.astimezone(zone).strftime("%Y-%m-%d %H:%M"),
            ]
        )
    return "\ufeff" + buffer.getvalue()


def _tenant_id(session: Session, code: str) -> int:
    tenant = tenancy_repository.tenant_by_code(session, code)
    if tenant is None:
        raise NotFound("tenant", f"no insurer {code!r}")
    return tenant.id


# -- the static export -----------------------------------------------------------------------------------


def export(session: Session, tenant_code: str, quarter: str, out: Path, locale: str = "zh") -> list[Path]:
    """index.html (the public page, its CSS inline, no script) and the CSV of an insurer's published quarter."""
    found = find(session, tenant_code, quarter, locale)
    csv_name = f"disclosure-{found.tenant_code}-{found.quarter.replace('-', '')}.csv"
    css = (PACKAGE_DIR / "web" / "static" / "disclosure.css").read_text(encoding="utf-8")
    context = {
        "d": found,
        "csv_url": csv_name,
        "inline_css": Markup(css),  # noqa: S704 - our own stylesheet, read from the package
        "html_lang": "zh-CN" if locale == "zh" else "en",
        TIME_ZONE_KEY: tenancy_service.platform_zone(),
    }
    html = render_template(locale, "disclosure/quarter.html", context)
    out.mkdir(parents=True, exist_ok=True)
    index = out / "index.html"
    index.write_text(html, encoding="utf-8")
    table = out / csv_name
    table.write_text(to_csv(session, found, locale), encoding="utf-8")
    return [index, table]
