"""CSV import of providers and contracts (issue 21): all or nothing with a reject report naming line, column,
field and problem; Chinese headers and labels; a re-import counts what exists; contracts as one row per
contract × task kind, an unknown task kind refused on its own line; the API (dry run too) and the CLI."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from typer.testing import CliRunner

from claimwatch import db
from claimwatch.auth.models import Role
from claimwatch.cli import app as cli_app
from claimwatch.config import get_settings
from claimwatch.db import TenantContext, unit_of_work
from claimwatch.providers import service
from claimwatch.providers.models import ContractLevel, Provider, ProviderContract
from tests.apps import shared_app
from tests.factories import TenantHandle, World
from tests.reports.helpers import module_database

CREDIT = "91440300MA5XXXXX2"
AG_CREDIT = CREDIT + service.credit_check_char(CREDIT)
PROVIDERS = (
    "机构编码,机构名称,机构类型,统一社会信用代码,服务地区,险种,资质有效期至,联系人,联系电话,电子邮箱\n"
    f"AG-1,华南鉴定所,鉴定机构,{AG_CREDIT},440000、450000,motor,2030-12-31,李明,13800001111,li@example.com\n"
    "RS-1,顺达汽修厂,repair_shop,,440300,,,,,\n"
)
CONTRACTS = (
    "机构编码,协议编号,生效日期,终止日期,收费标准,任务类型,时限,时限单位\n"
    "AG-1,HT-1,2026-01-01,2027-12-31,FEE-1,鉴定,5,工作日\n"
    "AG-1,HT-1,2026-01-01,2027-12-31,FEE-1,survey,24,小时\n"
    "RS-1,HT-2,2026-01-01,,,repair_estimate,3,\n"
)


@dataclass(frozen=True)
class ImportWorld:
    client: TestClient
    acme: TenantHandle
    headers: dict[str, str]

    def count(self, model: type) -> int:
        with unit_of_work(TenantContext.for_tenant(self.acme.id)) as session:
            return int(session.execute(select(func.count()).select_from(model)).scalar_one())

    def post(self, what: str, text: str, dry_run: bool = False) -> httpx.Response:
        path = f"/api/v1/provider-imports/{what}" + ("?dry_run=true" if dry_run else "")
        return self.client.post(path, content=text.encode(), headers=self.headers | {"Content-Type": "text/csv"})


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def iw(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory, sqlite_template: Path
) -> Iterator[ImportWorld]:
    databases = module_database(
        request.param, tmp_path_factory.mktemp(f"pimport-{request.param}"), sqlite_template, request
    )
    url = next(databases)
    get_settings.cache_clear()
    db.configure(url)
    world = World(url)
    acme = world.tenant("ACME", "示例保险")
    yield ImportWorld(TestClient(shared_app()), acme, {"X-API-Key": world.api_key(acme, Role.QUALITY_MANAGER)})
    get_settings.cache_clear()
    for _ in databases:
        pass


def test_providers_import_all_or_nothing_with_a_reject_report(iw: ImportWorld):
    bad = PROVIDERS + "AG-1,重复编码,hospital,,,,,,,\nXX-1,某机构,车行,91350100M000100Y44,990000,boats,,,,\n"
    bad += "XX-2,某医院,hospital,,,,2030-02-30,,,\n"
    refused = iw.post("providers", bad)
    assert refused.status_code == 422, refused.text
    problems = [(p["line"], p["column"], p["field"]) for p in refused.json()["problems"]]
    assert (4, "机构编码", "code") in problems  # repeats line 2
    assert (5, "机构类型", "kind") in problems and (5, "统一社会信用代码", "credit_code") in problems
    assert (5, "服务地区", "regions") in problems and (5, "险种", "lines") in problems
    assert (6, "资质有效期至", "licence_expires_on") in problems and len(problems) == 6
    assert iw.count(Provider) == 0
    dry = iw.post("providers", PROVIDERS, dry_run=True)
    assert dry.status_code == 200 and dry.json()["dry_run"] and iw.count(Provider) == 0
    done = iw.post("providers", PROVIDERS)
    assert done.status_code == 201 and done.json()["created"] == 2 and done.json()["numbers"] == ["AG-1", "RS-1"]
    with unit_of_work(TenantContext.for_tenant(iw.acme.id)) as session:
        agency = service.get_provider(session, "AG-1")
        assert agency.kind == "appraisal_agency" and agency.regions == ["440000", "450000"]
        assert service.contact_view(agency)["phone"] == "138********"
    again = iw.post("providers", PROVIDERS)
    assert again.json()["created"] == 0 and again.json()["existing"] == 2
    unknown = iw.post("providers", "code,name,colour\nA,B,red\n")
    assert unknown.status_code == 422 and {p["field"] for p in unknown.json()["problems"]} == {"colour", "kind"}


def test_contracts_import_one_row_per_task_kind_and_refuses_an_unknown_kind(iw: ImportWorld):
    # The contracts name the providers the first test imports; xdist may run this test on another worker.
    if iw.count(Provider) == 0:
        assert iw.post("providers", PROVIDERS).status_code == 201
    bad = CONTRACTS + "AG-1,HT-3,2026-01-01,,,teleportation,2,working_days\nNOPE,HT-4,2026-01-01,,,appraisal,2,\n"
    bad += "RS-1,HT-2,2026-02-01,,,survey,1,hours\n"
    refused = iw.post("contracts", bad)
    assert refused.status_code == 422, refused.text
    problems = [(p["line"], p["field"]) for p in refused.json()["problems"]]
    assert (5, "task_kind") in problems and (6, "provider_code") in problems and (7, "starts_on") in problems
    assert "teleportation" in refused.text
    assert iw.count(ProviderContract) == 0 and iw.count(ContractLevel) == 0
    done = iw.post("contracts", CONTRACTS)
    assert done.status_code == 201 and done.json()["numbers"] == ["HT-1", "HT-2"]
    assert iw.count(ContractLevel) == 3
    with unit_of_work(TenantContext.for_tenant(iw.acme.id)) as session:
        agency = service.get_provider(session, "AG-1")
        level = service.contract_level(session, agency, "survey", dt.date(2026, 6, 1))
        assert (level.days, level.unit, level.from_contract) == (24, "hours", True)
    assert iw.post("contracts", CONTRACTS).json()["existing"] == 2


def test_the_cli_imports_and_issues_a_key(iw: ImportWorld, tmp_path: Path):
    runner = CliRunner()
    path = tmp_path / "p.csv"
    path.write_text("code,name,kind\nLAW-1,正义律师事务所,律师事务所\nLAW-1,x,law_firm\n", encoding="utf-8")
    report = tmp_path / "rejects.csv"
    result = runner.invoke(
        cli_app, ["providers", "import", "providers", str(path), "--tenant", "ACME", "--rejects", str(report)]
    )
    assert result.exit_code != 0 and "nothing imported" in result.output
    assert "repeats line 2" in report.read_text(encoding="utf-8-sig")
    path.write_text("code,name,kind\nLAW-1,正义律师事务所,律师事务所\n", encoding="utf-8")
    result = runner.invoke(cli_app, ["providers", "import", "providers", str(path), "--tenant", "ACME"])
    assert result.exit_code == 0, result.output
    assert "imported 1 providers" in result.output
    key = runner.invoke(cli_app, ["providers", "key", "LAW-1", "--tenant", "ACME"])
    assert key.exit_code == 0 and key.stdout.strip().startswith("cw_")
    assert iw.client.get("/api/v1/providers", headers={"X-API-Key": key.stdout.strip()}).status_code == 403
