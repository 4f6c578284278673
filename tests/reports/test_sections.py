"""The quality report's sections on a small snapshot: their figures are the KPI engine's for the same scope and
period, a section without data is left out (or says "no data", never zero), the regulator edition compares the
insurers and an insurer's edition does not, quarters work for every section, charts are SVG with their Chinese
labels as text, and every section's template renders in both languages (lights as a label and a colour).

One module-scoped world per database (claims through the API, one complaint, an SLA sweep that files a red
light, a snapshot); every test reads it."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

import claimwatch.reports.sections  # noqa: F401 - registers the sections
from claimwatch import db
from claimwatch.config import get_settings
from claimwatch.db import TenantContext, unit_of_work
from claimwatch.kpi import loader as kpi_loader
from claimwatch.kpi import service as kpi_service
from claimwatch.kpi import snapshot
from claimwatch.kpi.engine import Period, Scope
from claimwatch.kpi.queries import format_value
from claimwatch.reports import builder, charts
from claimwatch.reports.sections import base, common
from claimwatch.reports.sections import complaints as complaints_section
from claimwatch.reports.sections import insurers as insurers_section
from claimwatch.reports.sections import kpis as kpis_section
from claimwatch.reports.sections import sla as sla_section
from claimwatch.reports.sections import summary as summary_section
from claimwatch.sla import jobs as sla_jobs
from claimwatch.tenancy.service import platform_zone
from tests.apps import shared_app
from tests.complaints.helpers import Desk
from tests.factories import World
from tests.kpi.helpers import close, ingest, local, report, steps
from tests.reports.helpers import module_database

NOVEMBER = Period.parse("2026-11")
QUARTER = Period.parse("2026-Q4")
SNAPSHOT_AT = local(2026, 12, 2, 10, 0)
BASE = local(2026, 11, 2, 9, 0)


@dataclass
class World5:
    acme: int
    bbb: int
    snapshot_dir: Path


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def world5(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory, sqlite_template: Path
) -> Iterator[World5]:
    """ACME: four small claims and a large one in November 2026 (one met, one breached, two open of which the
    sweep files one red), one in October; a complaint in November. BBB: one small open claim."""
    tmp = tmp_path_factory.mktemp(f"sections-{request.param}")
    databases = module_database(request.param, tmp, sqlite_template, request)
    url = next(databases)
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("CLAIMWATCH_SNAPSHOT_DIR", str(tmp / "snapshot"))
        patch.setenv("CLAIMWATCH_DOCUMENTS_DIR", str(tmp / "documents"))
        get_settings.cache_clear()
        db.configure(url)
        world = World(url)
        acme = world.tenant("ACME", "示例保险")
        bbb = world.tenant("BBB", "另一保险", region="310000")
        client = TestClient(shared_app())
        october = local(2026, 10, 15, 9, 0)
        ingest(
            client,
            acme,
            [
                report("o1", "O1", october, org_code=acme.branch_code),
                *close("O1", october, steps(1, 8)),
                report("k1", "K1", BASE, org_code=acme.branch_code),
                *close("K1", BASE, steps(1, 8)),
                report("k2", "K2", BASE, amount="900.00", org_code=acme.branch_code),
                *close("K2", BASE, steps(23, 30)),
                report("k3", "K3", BASE, amount="700.00", region="310000"),
                report("k4", "K4", BASE, amount="60000.00", org_code=acme.branch_code),
            ],
        )
        ingest(client, bbb, [report("b1", "B1", BASE, amount="500.00", region="310000")])
        sla_jobs.sweep(now=local(2026, 11, 5, 10, 0))
        Desk(world, acme).file(received_at=local(2026, 11, 3, 10))
        snapshot.take_snapshot(now=SNAPSHOT_AT)
        yield World5(acme.id, bbb.id, tmp / "snapshot")
        get_settings.cache_clear()
    for _ in databases:
        pass


@pytest.fixture
def opened(world5: World5, monkeypatch: pytest.MonkeyPatch) -> Iterator[kpi_service.OpenSnapshot]:
    monkeypatch.setenv("CLAIMWATCH_SNAPSHOT_DIR", str(world5.snapshot_dir))
    get_settings.cache_clear()
    with kpi_service.opened() as snap:
        yield snap
    get_settings.cache_clear()


def _ctx(
    session: Session,
    snap: kpi_service.OpenSnapshot,
    tenant_id: int | None,
    period: Period = NOVEMBER,
    locale: str = "zh",
) -> base.ReportContext:
    return base.ReportContext(
        session=session,
        tenant_id=tenant_id,
        period=period,
        locale=locale,
        zone=platform_zone(),
        snap=snap,
        scope=Scope(tenant_ids=None if tenant_id is None else (tenant_id,)),
        kind="quality",
        subject_id=None,
        now=SNAPSHOT_AT.astimezone(dt.UTC),
        tenant_label="ACME" if tenant_id else "监管",
    )


def _context(tenant_id: int | None) -> TenantContext:
    return TenantContext.regulator() if tenant_id is None else TenantContext.for_tenant(tenant_id)


def test_figures_are_the_kpi_engines_for_the_same_scope_and_period(
    world5: World5, opened: kpi_service.OpenSnapshot
) -> None:
    catalogue = kpi_loader.by_code()
    engine = kpi_service.values(opened, Scope((world5.acme,)), [NOVEMBER])
    with unit_of_work(_context(world5.acme)) as session:
        ctx = _ctx(session, opened, world5.acme)
        kpis = kpis_section.build(ctx)
        sla = sla_section.build(ctx)
        complaints = complaints_section.build(ctx)
    assert kpis is not None and sla is not None and complaints is not None
    rows = {row["code"]: row for row in kpis.data["rows"]}
    for code, kpi in catalogue.items():
        found = engine.get(code, NOVEMBER.label)
        assert rows[code]["actual"] == format_value(kpi, None if found is None else found.value, "zh"), code
    small = engine.get("small_timeliness", NOVEMBER.label)
    assert small is not None and small.numerator == 1 and small.denominator == 3  # K1 met; K2 and K3 breached
    policy = next(row for row in sla.data["policies"] if row["code"] == "timeliness_small")
    assert policy["rate"] == rows["small_timeliness"]["actual"] == "33.3%"
    assert policy["met"] == "1" and policy["settled"] == "3"
    filings = engine.get("red_filings", NOVEMBER.label)
    assert filings is not None and sla.data["filings"]["count"] == f"{filings.value:,.0f}" == "1"
    overdue = engine.get("overdue_rate", NOVEMBER.label)
    assert overdue is not None and sla.data["open_total"]["overdue"] == f"{overdue.numerator:,.0f}"
    volumes = {row["code"]: row for row in complaints.data["volumes"]}
    assert volumes["complaints_received"]["actual"] == "1" and volumes["complaints_received"]["previous"] == "0"
    assert [(row["complaints"], row["previous"]) for row in complaints.data["causes"]] == [(1, 0)]
    # Drill-down by org unit: the branch's row is the engine's value for that unit.
    by_org = kpi_service.values(opened, Scope((world5.acme,)), [NOVEMBER], ("org",))
    branch = next(v for v in by_org.values if v.kpi == "closure_rate" and v.key[0])
    drill = next(d for d in kpis.data["drills"] if d["dimension"] == "org")
    measured = [code for code in common.KEY_KPIS if code in rows and rows[code]["value"] is not None]
    column = measured.index("closure_rate")
    shown = [row["cells"][column]["display"] for row in drill["rows"] if row["label"] == "广东分公司"]
    assert shown == [format_value(catalogue["closure_rate"], branch.value, "zh")]
    # No survey was answered: "no data", never a zero.
    satisfaction = rows["satisfaction"]
    assert satisfaction["actual"] == "—" and satisfaction["light_label"] == "暂无数据"


def test_the_regulator_edition_compares_insurers_and_an_insurers_does_not(
    world5: World5, opened: kpi_service.OpenSnapshot
) -> None:
    with unit_of_work(_context(None)) as session:
        regulator = insurers_section.build(_ctx(session, opened, None))
    with unit_of_work(_context(world5.acme)) as session:
        assert insurers_section.build(_ctx(session, opened, world5.acme)) is None
    assert regulator is not None
    labels = [row["label"] for row in regulator.data["rows"]]
    assert labels == ["ACME · 示例保险", "BBB · 另一保险"]
    names = [column["name"] for column in regulator.data["columns"]]
    closure = names.index("结案率")
    everyone = kpi_service.values(opened, Scope(None), [NOVEMBER]).get("closure_rate", NOVEMBER.label)
    assert everyone is not None and regulator.data["industry"][closure]["display"] == f"{everyone.value:.1f}%"
    # ACME closed 2 of 4 November claims, BBB none of 1: ACME ranks first.
    assert [row["cells"][closure]["rank"] for row in regulator.data["rows"]] == [1, 2]
    assert regulator.charts and all(svg.startswith("<svg") for svg in regulator.charts.values())


def test_quarters_render_every_section_in_both_languages(world5: World5, opened: kpi_service.OpenSnapshot) -> None:
    for tenant_id, locale in ((world5.acme, "zh"), (None, "en")):
        with unit_of_work(_context(tenant_id)) as session:
            ctx = _ctx(session, opened, tenant_id, QUARTER, locale)
            run = builder.run_sections(ctx)
            meta = builder.DocumentMeta("品质管理报告", "ACME", QUARTER.label, "", 1, "insurer", locale, "test")
            html = builder.render_html(meta, run.sections)
        summary = run.sections[0]
        assert summary.key == "summary" and summary.data["period"] == "2026-Q4"
        keys = [section.key for section in run.sections]
        assert ("insurers" in keys) == (tenant_id is None)
        # Nothing surveyed, inspected, acted upon or met about: those sections are left out, not zeros.
        assert not {"surveys", "inspections", "actions", "committee"} & set(keys)
        for section in run.sections:
            for anchor, _title in section.subsections:
                assert f'id="{anchor}"' in html, (section.key, anchor)
        assert "<script" not in html
        if locale == "zh":
            # Lights carry a label and a colour; the running month's figures are capped at the snapshot.
            assert re.search(r'class="light light-red"[^>]*>.*?未达标', html)
            assert "达标" in html and "小额赔案结案时效达成率" in html


def test_charts_are_inline_svg_with_chinese_text() -> None:
    svg = charts.line_chart(
        ["2026-10", "2026-11"], [("实际", [90.0, None])], unit="%", target=95.0, target_label="目标", title="结案率"
    )
    assert svg.startswith("<svg") and "<?xml" not in svg and "<metadata" not in svg
    assert re.search(r"<text[^>]*>目标 95.0%</text>", svg) and re.search(r"<text[^>]*>结案率</text>", svg)
    stacked = charts.stacked_bar_chart(["2026-10", "2026-11"], [("理赔", [1.0, 2.0]), ("服务", [0.0, 1.0])])
    bars = charts.bar_chart(["广东分公司", "上海分公司"], [8.1, None], reference=8.5, reference_label="目标")
    assert "理赔" in stacked and "广东分公司" in bars and "—" in bars
    # Each chart's ids are its own: two charts in one document do not clash.
    ids = re.findall(r'id="([^"]+)"', svg + stacked)
    assert len(ids) == len(set(ids))


def test_charts_keep_no_bare_groups_and_every_reference_resolves(monkeypatch: pytest.MonkeyPatch) -> None:
    """matplotlib's attribute-less wrapper groups are lifted out (WeasyPrint styles and walks each one); the groups
    that carry something (a clip path) stay, every ``href``/``url(#…)`` still finds its element, and every drawn
    element matplotlib wrote is still there."""

    def draw() -> str:
        return charts.line_chart(
            [f"2026-{month:02d}" for month in range(1, 13)],
            [("实际", [90.0 + month for month in range(12)]), ("行业", [91.0] * 12)],
            unit="%",
            target=95.0,
            target_label="目标",
            title="结案率",
        )

    svg = draw()
    assert re.findall(r"<g(?:\s+id=\"[^\"]*\")?\s*>", svg) == []
    assert re.search(r"<g\s+[^>]*clip-path=", svg)
    ids = set(re.findall(r'\bid="([^"]+)"', svg))
    references = re.findall(r'(?:url\(#|href="#)([^)"]+)', svg)
    assert references and set(references) <= ids
    monkeypatch.setattr(charts, "_without_bare_groups", lambda text: text)
    as_written = draw()
    for tag in ("<use ", "<path ", "<text ", "<clipPath "):
        assert svg.count(tag) == as_written.count(tag) > 0, tag
    assert as_written.count("<g") > 2 * svg.count("<g")


def test_summary_lists_open_problems_from_the_same_figures(world5: World5, opened: kpi_service.OpenSnapshot) -> None:
    with unit_of_work(_context(world5.acme)) as session:
        summary = summary_section.build(_ctx(session, opened, world5.acme))
    assert summary is not None
    problems = {p["key"]: p["count"] for p in summary.data["problems"]}
    misses = sum(1 for row in summary.data["headline"] if row["light"] == "misses")
    assert problems["red_kpis"] >= misses >= 1 and problems["alerts"] == 0 and problems["major_complaints"] == 0
    headline = {row["code"]: row for row in summary.data["headline"]}
    assert headline["small_timeliness"]["light_label"] == "未达标" and headline["small_timeliness"]["actual"] == "33.3%"
