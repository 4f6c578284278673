"""The register of third parties (issue 21, part 1) on one small world per dialect: registering providers with
encrypted contacts shown masked, contracts and their service levels (an unknown task kind refused, nothing
written), the refusal of a new task (blacklisted through sanctions, suspended, licence expired, kind not
served), suspending and reinstating with a reason (page and API, audited), provider keys, the list page with
its filters and CSV, and isolation: another insurer's provider is unknown, a regulator reads every insurer's,
a provider's key reaches none of it. The task-kind file's checks (file:line) need no database."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from claimwatch import db
from claimwatch.audit.models import AuditEntry
from claimwatch.auth.models import Role
from claimwatch.auth.principal import Principal
from claimwatch.config import get_settings
from claimwatch.db import TenantContext, unit_of_work
from claimwatch.providers import loader, service
from claimwatch.providers.models import ContractLevel, Provider
from claimwatch.providers.schemas import ProviderIn
from claimwatch.sanctions import service as sanctions_service
from claimwatch.web.security import CSRF_FIELD
from tests.apps import shared_app
from tests.factories import PASSWORD, TenantHandle, World, local_today
from tests.reports.helpers import module_database


def credit(first17: str) -> str:
    return first17 + service.credit_check_char(first17)


SHOP_CREDIT = credit("91440300MA5XXXXX1")


@dataclass(frozen=True)
class RegisterWorld:
    client: TestClient
    acme: TenantHandle
    bbb: TenantHandle
    keys: dict[str, str]

    def headers(self, who: str) -> dict[str, str]:
        return {"X-API-Key": self.keys[who], "Accept-Language": "en"}


def _admin(tenant: TenantHandle) -> Principal:
    return Principal(role=Role.ADMIN, tenant_id=tenant.id, actor="user:test.admin")


def _set_up(world: World) -> RegisterWorld:
    acme, bbb = world.tenant("ACME", "示例保险"), world.tenant("BBB", "另一保险")
    world.user("acme.qm", Role.QUALITY_MANAGER, acme)
    world.user("acme.adj", Role.ADJUSTER, acme)
    world.user("reg", Role.REGULATOR, None)
    keys = {
        "qm": world.api_key(acme, Role.QUALITY_MANAGER),
        "adj": world.api_key(acme, Role.ADJUSTER),
        "bbb_qm": world.api_key(bbb, Role.QUALITY_MANAGER),
    }
    admin = _admin(acme)
    with unit_of_work(TenantContext.for_tenant(acme.id)) as session:
        for code, name, kind, extra in (
            ("APP-1", "华南保险公估鉴定所", "appraisal_agency", {"regions": ["440000"], "lines": ["motor"]}),
            ("SHOP-1", "深圳顺达汽修厂", "repair_shop", {"credit_code": SHOP_CREDIT}),
            (
                "OLD-1",
                "过期资质鉴定所",
                "appraisal_agency",
                {"licence_expires_on": local_today() - dt.timedelta(days=1)},
            ),
            ("HOSP-1", "市第一人民医院", "hospital", {}),
        ):
            service.register(session, admin, ProviderIn(code=code, name=name, kind=kind, **extra))
        service.add_contract(
            session,
            admin,
            "APP-1",
            "HT-2026-001",
            local_today() - dt.timedelta(days=30),
            None,
            "FEE-A",
            {"appraisal": (5, "working_days")},
        )
        # The blacklist (sanctions) lists the repair shop by its credit code, whatever its status here.
        sanctions_service.add_to_blacklist(
            session, admin, party_kind="repair_shop", name="顺达汽修", code=SHOP_CREDIT, reason="虚报维修项目"
        )
    with unit_of_work(TenantContext.for_tenant(bbb.id)) as session:
        service.register(session, _admin(bbb), ProviderIn(code="APP-1", name="北方鉴定所", kind="appraisal_agency"))
    return RegisterWorld(TestClient(shared_app()), acme, bbb, keys)


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def rw(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory, sqlite_template: Path
) -> Iterator[RegisterWorld]:
    databases = module_database(
        request.param, tmp_path_factory.mktemp(f"register-{request.param}"), sqlite_template, request
    )
    url = next(databases)
    get_settings.cache_clear()
    db.configure(url)
    yield _set_up(World(url))
    get_settings.cache_clear()
    for _ in databases:
        pass


def login(client: TestClient, username: str) -> str:
    client.cookies.clear()
    token = re.search(rf'name="{CSRF_FIELD}" value="([^"]+)"', client.get("/login").text)[1]  # type: ignore[index]
    response = client.post(
        "/login", data={"username": username, "password": PASSWORD, CSRF_FIELD: token}, follow_redirects=False
    )
    assert response.status_code == 303, response.text
    return re.search(rf'name="{CSRF_FIELD}" value="([^"]+)"', client.get("/providers").text)[1]  # type: ignore[index]


def _count(tenant: TenantHandle, model: type) -> int:
    with unit_of_work(TenantContext.for_tenant(tenant.id)) as session:
        return int(session.execute(select(func.count()).select_from(model)).scalar_one())


# -- without a database --------------------------------------------------------------------------------------


def test_the_task_kinds_are_data_and_a_bad_file_names_its_line(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    kinds = loader.base_catalogue().kinds
    assert list(kinds) == ["appraisal", "repair_estimate", "medical_records", "survey", "legal_opinion"]
    assert all(k.field("conclusion") for k in kinds.values())
    assert kinds["appraisal"].field("amount_assessed") and kinds["repair_estimate"].field("amount_assessed")
    assert kinds["appraisal"].standard_documents[0] == "鉴定委托书" and kinds["survey"].unit == "hours"
    text = loader.DEFAULT_FILE.read_text(encoding="utf-8")
    bad_unit = text.replace("level: {days: 10, unit: working_days}", "level: {days: 10, unit: fortnights}")
    with pytest.raises(loader.TaskKindError, match=r"kinds.yaml:\d+: unit must be one of") as found:
        loader.parse(bad_unit, "kinds.yaml")
    assert found.value.line == text.splitlines().index("    level: {days: 10, unit: working_days}") + 1
    no_conclusion = text.replace(
        "{name: conclusion, type: text, label: {zh: 鉴定结论, en: Conclusion}}",
        "{name: x, type: text, label: {zh: 某, en: X}}",
    )
    with pytest.raises(loader.TaskKindError, match="every kind requires the field 'conclusion'"):
        loader.parse(no_conclusion, "kinds.yaml")
    # An insurer's own file replaces the bundled one.
    (tmp_path / "providers").mkdir()
    own = text.replace("level: {days: 10, unit: working_days}", "level: {days: 7, unit: calendar_days}")
    (tmp_path / "providers" / "OWN.yaml").write_text(own, encoding="utf-8")
    monkeypatch.setenv("CLAIMWATCH_POLICY_OVERRIDES_DIR", str(tmp_path))
    get_settings.cache_clear()
    try:
        assert loader.catalogue_for("OWN").kinds["appraisal"].days == 7
        assert loader.catalogue_for("OTHER").kinds["appraisal"].days == 10
    finally:
        monkeypatch.delenv("CLAIMWATCH_POLICY_OVERRIDES_DIR")
        get_settings.cache_clear()


def test_credit_codes_carry_their_check_character():
    assert service.credit_check_char("91350100M000100Y4") == "3"  # a published example: 91350100M000100Y43
    assert service._credit_code_problem("91350100M000100Y43") is None
    assert "check character" in (service._credit_code_problem("91350100M000100Y44") or "")
    assert "18 characters" in (service._credit_code_problem("91350100M000100I43") or "")


# -- the register ----------------------------------------------------------------------------------------------


def test_registering_keeps_the_contact_encrypted_and_shows_it_masked(rw: RegisterWorld):
    body = {
        "code": "SURV-1",
        "name": "粤安查勘",
        "kind": "surveyor",
        "regions": ["440300"],
        "contact_name": "王建国",
        "contact_phone": "13912345678",
        "contact_email": "wang@example.com",
    }
    response = rw.client.post("/api/v1/providers", json=body, headers=rw.headers("qm"))
    assert response.status_code == 201, response.text
    view = response.json()
    assert view["contact"] == {"name": "王**", "phone": "139********", "email": "w***@example.com"}
    assert "13912345678" not in response.text and "wang@" not in response.text
    assert view["status"] == "active" and [k["task_kind"] for k in view["task_kinds"]] == ["survey"]
    with unit_of_work(TenantContext.for_tenant(rw.acme.id)) as session:
        provider = service.get_provider(session, "SURV-1")
        assert provider.contact_phone_enc and "1391234" not in provider.contact_phone_enc
        assert service.contact_email(provider) == "wang@example.com"
        entry = session.execute(
            select(AuditEntry)
            .where(AuditEntry.kind == "provider", AuditEntry.subject == "SURV-1")
            .order_by(AuditEntry.seq)
        ).scalar_one()
        assert "13912345678" not in (entry.payload or "")
    # The same code again: 409 naming the code; bad values: 422 naming each field; nothing written.
    before = _count(rw.acme, Provider)
    again = rw.client.post("/api/v1/providers", json=body, headers=rw.headers("qm"))
    assert again.status_code == 409 and again.json()["problems"][0]["field"] == "code"
    bad = body | {
        "code": "SURV-2",
        "kind": "garage",
        "regions": ["990000"],
        "lines": ["boats"],
        "credit_code": "91350100M000100Y44",
    }
    refused = rw.client.post("/api/v1/providers", json=bad, headers=rw.headers("qm"))
    assert refused.status_code == 422
    assert [p["field"] for p in refused.json()["problems"]] == ["kind", "regions", "lines", "credit_code"]
    assert _count(rw.acme, Provider) == before
    # An adjuster may read the register but not change it.
    assert (
        rw.client.post("/api/v1/providers", json=body | {"code": "X-1"}, headers=rw.headers("adj")).status_code == 403
    )
    changed = rw.client.patch(
        "/api/v1/providers/SURV-1", json={"lines": ["motor"], "contact_phone": None}, headers=rw.headers("qm")
    )
    assert changed.status_code == 200 and changed.json()["lines"][0]["code"] == "motor"
    assert changed.json()["contact"]["phone"] == ""


def test_contract_levels_hold_a_task_to_its_deadline_and_an_unknown_kind_is_refused(rw: RegisterWorld):
    with unit_of_work(TenantContext.for_tenant(rw.acme.id)) as session:
        app1 = service.get_provider(session, "APP-1")
        level = service.contract_level(session, app1, "appraisal", local_today())
        assert (level.days, level.unit, level.from_contract) == (5, "working_days", True) and level.contract_id
        default = service.contract_level(session, app1, "survey", local_today())
        assert (default.contract_id, default.days, default.unit, default.from_contract) == (None, 24, "hours", False)
        # Before the contract started, the kind's default applies.
        early = service.contract_level(session, app1, "appraisal", local_today() - dt.timedelta(days=60))
        assert (early.days, early.from_contract) == (10, False)
    levels_before = _count(rw.acme, ContractLevel)
    body = {
        "reference": "HT-2026-009",
        "starts_on": local_today().isoformat(),
        "levels": [{"task_kind": "appraisal", "days": 4}, {"task_kind": "teleportation", "days": 1}],
    }
    refused = rw.client.post("/api/v1/providers/APP-1/contracts", json=body, headers=rw.headers("qm"))
    assert refused.status_code == 422 and refused.json()["problems"][0]["field"] == "task_kind"
    assert "teleportation" in refused.json()["detail"]
    backwards = body | {"levels": body["levels"][:1], "ends_on": (local_today() - dt.timedelta(days=1)).isoformat()}
    assert (
        rw.client.post("/api/v1/providers/APP-1/contracts", json=backwards, headers=rw.headers("qm")).json()[
            "problems"
        ][0]["field"]
        == "ends_on"
    )
    assert _count(rw.acme, ContractLevel) == levels_before
    ok = rw.client.post(
        "/api/v1/providers/APP-1/contracts", json=body | {"levels": body["levels"][:1]}, headers=rw.headers("qm")
    )
    assert ok.status_code == 201, ok.text
    assert [c["reference"] for c in ok.json()["contracts"]] == ["HT-2026-009", "HT-2026-001"]
    # The latest contract in force wins.
    assert ok.json()["task_kinds"][0] | {"kind_label": None} == {
        "task_kind": "appraisal",
        "kind_label": None,
        "days": 4,
        "unit": "working_days",
        "unit_label": "working days",
        "from_contract": True,
    }
    again = rw.client.post(
        "/api/v1/providers/APP-1/contracts", json=body | {"levels": body["levels"][:1]}, headers=rw.headers("qm")
    )
    assert again.status_code == 409 and again.json()["problems"][0]["field"] == "reference"


def test_who_gets_no_new_task_and_why(rw: RegisterWorld):
    with unit_of_work(TenantContext.for_tenant(rw.acme.id)) as session:

        def refusal(code: str, kind: str) -> str | None:
            return service.refusal_for_new_task(session, service.get_provider(session, code), kind, local_today())

        assert refusal("APP-1", "appraisal") is None
        assert refusal("APP-1", "medical_records") == "kind_not_served"
        assert refusal("APP-1", "no_such_kind") == "kind_not_served"
        assert refusal("SHOP-1", "repair_estimate") == "blacklisted"  # listed by its credit code
        assert refusal("OLD-1", "appraisal") == "licence_expired"
        assert refusal("HOSP-1", "medical_records") is None
        assert service.refusal_message("blacklisted", "en") == "The provider is on the blacklist."
        # The send form's choices: active, not refused, serving the region (a province covers its cities).
        assert [
            p.code for p in service.serving(session, rw.acme.id, kind="appraisal", region="440300", line="motor")
        ] == ["APP-1"]
        assert service.serving(session, rw.acme.id, kind="appraisal", region="110000") == []
        # Not the blacklisted shop; the appraisal agency does repair estimates too (not the one whose licence expired).
        assert [p.code for p in service.serving(session, rw.acme.id, kind="repair_estimate")] == ["APP-1"]


def test_suspending_needs_a_reason_and_a_suspended_provider_gets_no_new_task(rw: RegisterWorld):
    client = rw.client
    token = login(client, "acme.qm")
    page = client.get("/providers/HOSP-1?lang=en")
    assert page.status_code == 200 and 'id="status-form"' in page.text and ">Suspend<" in page.text
    empty = client.post("/providers/HOSP-1/status", data={"status": "suspended", "reason": " ", CSRF_FIELD: token})
    assert empty.status_code == 422 and 'id="err-reason"' in empty.text
    done = client.post(
        "/providers/HOSP-1/status",
        data={"status": "suspended", "reason": "病历调取多次超期", CSRF_FIELD: token},
        follow_redirects=False,
    )
    assert done.status_code == 303 and done.headers["location"] == "/providers/HOSP-1"
    page = client.get("/providers/HOSP-1").text
    assert 'data-status="suspended"' in page and "病历调取多次超期" in page
    with unit_of_work(TenantContext.for_tenant(rw.acme.id)) as session:
        hospital = service.get_provider(session, "HOSP-1")
        assert service.refusal_for_new_task(session, hospital, "medical_records", local_today()) == "suspended"
        assert hospital.status_changed_by == "user:acme.qm"
        payloads = session.execute(
            select(AuditEntry.payload)
            .where(AuditEntry.kind == "provider", AuditEntry.subject == "HOSP-1")
            .order_by(AuditEntry.seq)
        ).scalars()
        assert any('"to":"suspended"' in (p or "").replace(" ", "") for p in payloads)
    # The same status again is a conflict; reinstating through the API.
    again = client.post(
        "/api/v1/providers/HOSP-1/status", json={"status": "suspended", "reason": "x"}, headers=rw.headers("qm")
    )
    assert again.status_code == 409
    back = client.post(
        "/api/v1/providers/HOSP-1/status", json={"status": "active", "reason": "已整改"}, headers=rw.headers("qm")
    )
    assert back.status_code == 200 and back.json()["status"] == "active"
    assert (
        client.post(
            "/api/v1/providers/HOSP-1/status", json={"status": "active", "reason": "x"}, headers=rw.headers("adj")
        ).status_code
        == 403
    )
    # Without the form's token: refused.
    assert client.post("/providers/HOSP-1/status", data={"status": "suspended", "reason": "x"}).status_code == 403


def test_the_list_filters_and_exports_with_contacts_masked(rw: RegisterWorld):
    client = rw.client
    login(client, "acme.adj")
    page = client.get("/providers?lang=en").text
    codes = re.findall(r'<tr data-code="([^"]+)" data-status="([^"]+)"', page)
    assert ("SHOP-1", "blacklisted") in codes and ("APP-1", "active") in codes
    assert [
        c
        for c, _ in re.findall(
            r'<tr data-code="([^"]+)" data-status="([^"]+)"', client.get("/providers?kind=hospital").text
        )
    ] == ["HOSP-1"]
    blacklisted = client.get("/providers?status=blacklisted").text
    assert re.findall(r'<tr data-code="([^"]+)"', blacklisted) == ["SHOP-1"]
    served = re.findall(r'<tr data-code="([^"]+)"', client.get("/providers?task_kind=appraisal&region=440300").text)
    assert served == ["APP-1", "OLD-1"]  # OLD-1 serves everywhere (its licence is a refusal, not a filter)
    assert client.get("/providers?status=gone").status_code == 422
    export = client.get("/providers.csv?kind=surveyor")
    assert export.status_code == 200 and export.text.startswith("\ufeff")
    assert "SURV-1" in export.text and "13912345678" not in export.text
    # The recent-tasks block is there (empty: no task sent yet).
    assert "No task has been sent to this provider." in client.get("/providers/APP-1?lang=en").text


def test_another_insurer_a_regulator_and_a_provider_key(rw: RegisterWorld):
    client = rw.client
    bbb = client.get("/api/v1/providers/SHOP-1", headers=rw.headers("bbb_qm"))
    assert bbb.status_code == 404 and bbb.json()["problems"][0]["field"] == "provider"
    assert client.get("/api/v1/providers/APP-1", headers=rw.headers("bbb_qm")).json()["name"] == "北方鉴定所"
    login(client, "reg")
    listing = client.get("/providers?q=APP-1").text
    assert re.findall(r"<td>(ACME|BBB)</td>", listing) == ["ACME", "BBB"]
    assert client.get("/providers/APP-1").status_code == 422  # two insurers have it: name one
    assert "华南保险公估鉴定所" in client.get("/providers/APP-1?tenant=ACME").text
    assert 'id="status-form"' not in client.get("/providers/APP-1?tenant=ACME").text
    # A provider's key, issued once, reaches nothing of the register.
    issued = client.post("/api/v1/providers/APP-1/keys", json={}, headers=rw.headers("qm"))
    assert issued.status_code == 201 and issued.json()["name"] == "provider:APP-1"
    provider_key = {"X-API-Key": issued.json()["key"]}
    for path in ("/api/v1/providers", "/api/v1/providers/APP-1", "/api/v1/provider-task-kinds"):
        assert client.get(path, headers=provider_key).status_code == 403
    assert client.post("/api/v1/provider-imports/providers", content="code\n", headers=provider_key).status_code == 403
