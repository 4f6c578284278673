"""The reports engine end to end: periods refused by name, a build stores HTML and PDF with their SHA-256 in
the audit chain, a rebuild is version 2 with version 1 kept, the PDF is readable Chinese with a table of
contents and page numbers, and who may read what (another insurer: 404; a regulator: only its edition).

PDFs are slow to render, so each database gets ONE module-scoped world with three builds (v1 by the API, v2 by
the CLI, the regulator edition by the API) that every test reads. The section is a trivial one registered
here: the engine is under test, not the quality sections (tests of their own).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import re
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from PIL import Image
from sqlalchemy import select
from typer.testing import CliRunner

from claimwatch import db
from claimwatch.audit import service as audit_service
from claimwatch.audit.models import AuditEntry
from claimwatch.auth.models import Role
from claimwatch.cli import app as cli_app
from claimwatch.config import get_settings
from claimwatch.db import TenantContext, unit_of_work
from claimwatch.kpi import snapshot
from claimwatch.reports import builder, periods, service
from claimwatch.reports.models import Report
from claimwatch.reports.sections import base
from claimwatch.tenancy.service import platform_zone
from claimwatch.web.i18n import translate
from claimwatch.web.security import CSRF_FIELD, CSRF_HEADER
from tests.apps import shared_app
from tests.factories import PASSWORD, World
from tests.reports.helpers import module_database

runner = CliRunner()
SECTION_TITLE = "理赔时效达标情况"
FIGURE = "87.5%"


def trivial_section(ctx: base.ReportContext) -> base.Section:
    """Enough rows for the table to run over a page (its header repeated), a figure and a subsection."""
    rows = [[f"分支机构{i:02d}", f"{80 + i % 20}.5%", str(13 * i)] for i in range(60)]
    return base.Section(
        key="timeliness",
        title=SECTION_TITLE,
        template="_table.html",
        data={
            "paragraphs": [f"{ctx.tenant_label} 本期小额案件时效达标率 {FIGURE}。"],
            "tables": [{"caption": "分支机构", "columns": ["机构", "达标率", "件数"], "rows": rows, "numeric": [1, 2]}],
        },
    )


@dataclass
class Built:
    client: TestClient
    dialect: str
    documents: Path
    period: str
    acme_id: int
    bbb_id: int
    v1: dict[str, Any]
    v2_id: int
    regulator_report: dict[str, Any]


def _login(client: TestClient, username: str) -> str:
    client.cookies.clear()
    token = client.get("/login").text.split(f'name="{CSRF_FIELD}" value="')[1].split('"')[0]
    response = client.post(
        "/login", data={"username": username, "password": PASSWORD, CSRF_FIELD: token}, follow_redirects=False
    )
    assert response.status_code == 303
    return client.get("/reports").text.split(f'name="{CSRF_FIELD}" value="')[1].split('"')[0]


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def built(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory, sqlite_template: Path
) -> Iterator[Built]:
    tmp = tmp_path_factory.mktemp(f"reports-{request.param}")
    databases = module_database(request.param, tmp, sqlite_template, request)
    url = next(databases)
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("CLAIMWATCH_DOCUMENTS_DIR", str(tmp / "documents"))
        patch.setenv("CLAIMWATCH_SNAPSHOT_DIR", str(tmp / "snapshot"))
        patch.setitem(base._REGISTRY, "quality", [(1, trivial_section)])
        get_settings.cache_clear()
        db.configure(url)
        world = World(url)
        acme = world.tenant("ACME", "示例保险")
        bbb = world.tenant("BBB", "另一保险", region="310000")
        world.user("acme.qm", Role.QUALITY_MANAGER, acme)
        world.user("acme.adjuster", Role.ADJUSTER, acme)
        world.user("bbb.qm", Role.QUALITY_MANAGER, bbb)
        world.user("regulator", Role.REGULATOR, None)
        snapshot.take_snapshot()
        period = periods.last_finished(dt.datetime.now(platform_zone()).date()).label
        client = TestClient(shared_app())
        token = _login(client, "acme.qm")
        response = client.post("/api/v1/reports", json={"period": period}, headers={CSRF_HEADER: token})
        assert response.status_code == 201, response.text
        v1 = response.json()
        result = runner.invoke(cli_app, ["reports", "build", "--tenant", "ACME", "--period", period])
        assert result.exit_code == 0, result.output
        v2_id = int(re.search(r"report (\d+):", result.output)[1])  # type: ignore[index]
        token = _login(client, "regulator")
        response = client.post("/api/v1/reports", json={"period": period}, headers={CSRF_HEADER: token})
        assert response.status_code == 201, response.text
        yield Built(client, request.param, tmp / "documents", period, acme.id, bbb.id, v1, v2_id, response.json())
        get_settings.cache_clear()
    for _ in databases:
        pass


# ---- periods: no database ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "label"), [("2026-11", "2026-11"), ("2026Q4", "2026-Q4"), ("2026-Q4", "2026-Q4"), ("2026q1", "2026-Q1")]
)
def test_months_and_quarters_in_either_spelling(text: str, label: str):
    assert periods.parse(text).label == label


@pytest.mark.parametrize(
    ("text", "words"),
    [("2026Q5", "a quarter is Q1"), ("2026-13", "a month is 01 to 12"), ("November", "must be a month"), ("", "must")],
)
def test_malformed_periods_are_refused_naming_the_period(text: str, words: str):
    with pytest.raises(periods.PeriodProblem) as refused:
        periods.parse(text)
    assert refused.value.field == "period" and refused.value.status == 422 and words in refused.value.message


def test_a_period_that_has_not_ended_is_refused():
    today = dt.date(2026, 12, 6)
    assert periods.parse_finished("2026-11", today).label == "2026-11"
    for text, words in (("2026-12", "has not ended"), ("2026Q4", "has not ended"), ("2027-01", "in the future")):
        with pytest.raises(periods.PeriodProblem, match=words):
            periods.parse_finished(text, today)


def test_cli_refuses_a_bad_period_in_one_line():
    result = runner.invoke(cli_app, ["reports", "build", "--tenant", "PICC", "--period", "2026Q5"])
    lines = result.output.strip().splitlines()
    assert result.exit_code == 1 and len(lines) == 1, result.output
    assert lines[0].startswith("error: --period:") and "Q1, Q2, Q3 or Q4" in lines[0]


# ---- one world per database --------------------------------------------------------------------------------


def test_cli_names_an_unknown_tenant_and_an_unfinished_period(built: Built):
    result = runner.invoke(cli_app, ["reports", "build", "--tenant", "NOPE", "--period", built.period])
    assert result.exit_code == 1 and result.output.strip() == "error: unknown tenant 'NOPE'"
    running = periods.parse(built.period).shift(1).label
    result = runner.invoke(cli_app, ["reports", "build", "--tenant", "ACME", "--period", running])
    assert result.exit_code == 1 and "error: --period:" in result.output and "not ended" in result.output


def test_api_refuses_bad_and_unfinished_periods_with_422_naming_period(built: Built):
    token = _login(built.client, "acme.qm")
    running = periods.parse(built.period).shift(1).label
    for period in ("2026-13", "2026Q5", running):
        response = built.client.post("/api/v1/reports", json={"period": period}, headers={CSRF_HEADER: token})
        assert response.status_code == 422, response.text
        assert [p["field"] for p in response.json()["problems"]] == ["period"]
    assert response.json()["problems"][0]["message"].endswith(
        "has not ended yet: it ends on " + str(periods.parse(running).end - dt.timedelta(days=1))
    )
    with unit_of_work(TenantContext.system_reader()) as session:
        assert session.scalar(select(Report.id).where(Report.period == running)) is None  # nothing stored


def test_a_build_stores_html_and_pdf_with_their_sha256_in_the_audit_chain(built: Built):
    v1 = built.v1
    assert (v1["version"], v1["status"], v1["edition"], v1["period"]) == (1, "built", "insurer", built.period)
    assert set(v1["section_seconds"]) == {"timeliness", "_html", "_pdf"}
    with unit_of_work(TenantContext.for_tenant(built.acme_id)) as session:
        report = session.get(Report, v1["id"])
        assert report is not None
        for path, digest in ((report.html_path, report.html_sha256), (report.pdf_path, report.pdf_sha256)):
            assert hashlib.sha256((built.documents / str(path)).read_bytes()).hexdigest() == digest
        entry = session.scalars(
            select(AuditEntry)
            .where(AuditEntry.kind == service.BUILT, AuditEntry.subject == f"report:{report.id}")
            .order_by(AuditEntry.seq)
        ).one()
        payload = json.loads(entry.payload or "{}")
        assert (payload["html_sha256"], payload["pdf_sha256"]) == (report.html_sha256, report.pdf_sha256)
        assert audit_service.verify(session, built.acme_id).ok
        assert service.check_files(report) == {"html": True, "pdf": True}


def test_an_altered_file_is_refused_not_served(built: Built):
    _login(built.client, "acme.qm")
    with unit_of_work(TenantContext.system_reader()) as session:
        report = session.get(Report, built.v2_id)
        assert report is not None and report.html_path
        path = built.documents / report.html_path
    original = path.read_bytes()
    try:
        path.write_bytes(original.replace(FIGURE.encode(), b"99.9%"))
        assert built.client.get(f"/api/v1/reports/{built.v2_id}/html").status_code == 409
        assert built.client.get(f"/reports/{built.v2_id}").status_code == 409
    finally:
        path.write_bytes(original)
    assert built.client.get(f"/api/v1/reports/{built.v2_id}/html").status_code == 200


def test_a_rebuild_is_version_2_and_version_1_stays_downloadable(built: Built):
    _login(built.client, "acme.qm")
    listed = built.client.get("/api/v1/reports", params={"period": built.period}).json()
    assert [(r["id"], r["version"]) for r in listed] == [(built.v2_id, 2), (built.v1["id"], 1)]
    first = built.client.get(f"/api/v1/reports/{built.v1['id']}/pdf")
    assert first.status_code == 200 and first.headers["content-type"] == "application/pdf"
    assert hashlib.sha256(first.content).hexdigest() == built.v1["pdf_sha256"]
    assert "filename*=UTF-8''" in first.headers["content-disposition"]
    page = built.client.get("/reports")
    assert page.status_code == 200
    for report_id in (built.v1["id"], built.v2_id):
        assert f'href="/reports/{report_id}.pdf"' in page.text and f'data-report-id="{report_id}"' in page.text
    second = built.client.get(f"/reports/{built.v2_id}.pdf")
    assert second.status_code == 200 and second.content != first.content  # its own file (version 2 on the cover)


@pytest.fixture(scope="module")
def pdf_file(built: Built, tmp_path_factory: pytest.TempPathFactory) -> Path:
    _login(built.client, "acme.qm")
    path = tmp_path_factory.mktemp("pdf") / "report.pdf"
    path.write_bytes(built.client.get(f"/reports/{built.v1['id']}.pdf").content)
    return path


def test_the_pdf_reads_as_chinese_with_contents_figures_and_page_numbers(built: Built, pdf_file: Path):
    text = subprocess.run(["pdftotext", "-layout", str(pdf_file), "-"], capture_output=True, check=True, text=True)
    content = text.stdout
    for heading in (translate("zh", service.TITLES["quality"]), translate("zh", "Contents"), SECTION_TITLE, "示例保险"):
        assert heading in content
    assert FIGURE in content and "分支机构59" in content  # the last row, after the page break
    # The table of contents gives the section's page; every page but the cover has its "N / M" foot.
    assert re.search(rf"1\s+{SECTION_TITLE}\s*\.+\s*3\b", content), content[:2000]
    info = subprocess.run(["pdfinfo", str(pdf_file)], capture_output=True, text=True, check=True).stdout
    pages = int(re.search(r"Pages:\s+(\d+)", info)[1])  # type: ignore[index]
    assert pages >= 4  # cover, contents, the table over two pages
    foot = translate("zh", builder.PAGE_OF).replace(" ", "")  # pdftotext drops the spaces between CJK words
    packed = re.sub(r"\s+", "", content)
    for number in range(2, pages + 1):
        assert foot % {"page": number, "pages": pages} in packed
    fonts = subprocess.run(["pdffonts", str(pdf_file)], capture_output=True, text=True, check=True).stdout
    assert re.search(r"WenQuanYi.*\byes\s+yes\s+yes", fonts), fonts  # the CJK font embedded (subset, unicode)


def test_the_cover_page_is_not_blank(pdf_file: Path):
    prefix = pdf_file.with_suffix("")
    subprocess.run(["pdftoppm", "-png", "-r", "40", "-f", "1", "-l", "1", str(pdf_file), str(prefix)], check=True)
    image = Image.open(next(pdf_file.parent.glob(f"{prefix.name}*.png"))).convert("L")
    dark = sum(image.histogram()[:200])
    assert dark > 300, dark  # the title, insurer, period and the build details


def test_the_html_view_is_the_stored_document_with_its_own_policy(built: Built):
    _login(built.client, "acme.qm")
    page = built.client.get(f"/reports/{built.v1['id']}")
    assert page.status_code == 200 and SECTION_TITLE in page.text and 'class="report-toolbar"' in page.text
    assert "script-src" not in page.headers["content-security-policy"]  # default-src 'none': nothing runs
    stored = built.client.get(f"/reports/{built.v1['id']}.html")
    assert hashlib.sha256(stored.content).hexdigest() == built.v1["html_sha256"]


def test_the_build_form_names_a_bad_period(built: Built):
    token = _login(built.client, "acme.qm")
    response = built.client.post("/reports/build", data={CSRF_FIELD: token, "kind": "quality", "period": "2026Q5"})
    assert response.status_code == 422 and 'data-field="period"' in response.text


def test_another_insurer_gets_404(built: Built):
    _login(built.client, "bbb.qm")
    report_id = built.v1["id"]
    assert built.client.get(f"/api/v1/reports/{report_id}").status_code == 404
    assert built.client.get(f"/api/v1/reports/{report_id}/pdf").status_code == 404
    assert built.client.get(f"/reports/{report_id}.pdf").status_code == 404
    assert built.client.get("/api/v1/reports").json() == []


def test_a_regulator_reads_only_the_cross_insurer_edition(built: Built):
    regulator_report = built.regulator_report
    assert (regulator_report["edition"], regulator_report["version"]) == ("regulator", 1)
    _login(built.client, "regulator")
    assert built.client.get(f"/api/v1/reports/{built.v1['id']}").status_code == 404
    assert built.client.get(f"/reports/{built.v1['id']}").status_code == 404
    assert [r["id"] for r in built.client.get("/api/v1/reports").json()] == [regulator_report["id"]]
    assert built.client.get(f"/api/v1/reports/{regulator_report['id']}/pdf").status_code == 200
    # The insurer never sees the regulator's edition; an adjuster sees no reports at all.
    _login(built.client, "acme.qm")
    assert built.client.get(f"/api/v1/reports/{regulator_report['id']}").status_code == 404
    assert regulator_report["id"] not in [r["id"] for r in built.client.get("/api/v1/reports").json()]
    _login(built.client, "acme.adjuster")
    assert built.client.get("/api/v1/reports").status_code == 403
    # Its audit event is in every insurer's chain (it is built from their data), and the chains verify.
    with unit_of_work(TenantContext.system_reader()) as session:
        subjects = session.scalars(
            select(AuditEntry.tenant_id)
            .where(AuditEntry.subject == f"report:{regulator_report['id']}")
            .order_by(AuditEntry.seq)
        ).all()
        assert sorted(subjects) == sorted([built.acme_id, built.bbb_id])
        assert all(audit_service.verify(session, tenant_id).ok for tenant_id in subjects)
