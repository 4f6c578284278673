"""Materials state the same everywhere: a claim in 待补材料 shows what is awaited on the staff's claim page
and on the claimant's lookup page (or says plainly why there is no list yet); staff set the claim type
(materials profile) from the claim page (CSRF, roles, insurer, field named on refusal); the claimant
uploads from the lookup page, and content sniffing still refuses a file that only claims to be a PDF."""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from claimwatch.audit.models import AuditEntry
from claimwatch.auth.models import Role
from claimwatch.db import TenantContext, unit_of_work
from claimwatch.lookup import service as lookup_service
from tests.apps import shared_app
from tests.factories import TenantHandle, World, reported, transition
from tests.materials.conftest import PDF, key
from tests.web.conftest import csrf_from, sign_in

pytestmark = pytest.mark.sqlite_only  # pages or validation: tests/conftest.py says why

AWAITED = re.compile(r'data-awaited="(\w+)"')
CLAIMANT_ITEMS = re.compile(r'<li data-item="(\w+)">')
THEFT_REQUIRED = [
    "claim_form",
    "id_proof",
    "policy",
    "vehicle_licence",
    "registration_certificate",
    "police_theft_certificate",
    "unrecovered_certificate",
    "vehicle_keys",
    "purchase_invoice",
    "rights_transfer",
    "bank_account",
]


@pytest.fixture(autouse=True)
def fresh_insurers() -> Iterator[None]:
    lookup_service.clear_cache()
    yield
    lookup_service.clear_cache()


def _waiting(client: TestClient, tenant: TenantHandle, number: str) -> None:
    events = [
        reported(f"{number}-r", number, amount="900.00"),
        transition(f"{number}-a", number, "accepted", hours=1),
        transition(f"{number}-i", number, "initial_review", hours=2),
        transition(f"{number}-w", number, "awaiting_materials", hours=3),
    ]
    response = client.post("/api/v1/events", json={"events": events}, headers=key(tenant))
    assert response.status_code == 201, response.text


def _staff(username: str) -> TestClient:
    client = TestClient(shared_app())
    sign_in(client, username)
    return client


def _claimant(tenant: TenantHandle, number: str) -> TestClient:
    """A claimant signed in to the lookup page with the claim number and the phone's last four digits."""
    client = TestClient(shared_app())
    token = csrf_from(client.get(f"/lookup/{tenant.code}").text)
    data = {"csrf_token": token, "insurer": tenant.code, "claim_number": number, "phone_last4": "5678"}
    answer = client.post("/lookup?from=insurer", data=data, follow_redirects=False)
    assert answer.status_code == 303, answer.text
    return client


def _materials(html: str) -> str:
    start = html.index('id="materials"')
    return html[start : html.index("</section>", start)]


def _set_type(client: TestClient, number: str, **data: object) -> object:
    page = client.get(f"/claims/{number}").text
    form = {"csrf_token": csrf_from(page)} | data
    return client.post(f"/claims/{number}/materials/profile", data=form, follow_redirects=False)


@pytest.fixture
def people(world: World) -> dict[str, object]:
    acme = world.tenant("ACME", "示例保险")
    bbb = world.tenant("BBB", "另一保险")
    return {
        "acme": acme,
        "bbb": bbb,
        "adjuster": world.user("li.adjuster", Role.ADJUSTER, acme),
        "supervisor": world.user("wang.supervisor", Role.SUPERVISOR, acme),
        "quality": world.user("qian.quality", Role.QUALITY_MANAGER, acme),
        "bbb_adjuster": world.user("zhao.bbb", Role.ADJUSTER, bbb),
        "regulator": world.user("cbirc.gd", Role.REGULATOR, None),
    }


def test_awaiting_materials_without_a_claim_type_is_explicit_on_both_pages(client: TestClient, people):
    acme = people["acme"]
    _waiting(client, acme, "M-1")
    staff = _materials(_staff(people["adjuster"]).get("/claims/M-1").text)
    # Staff: set the claim type first, with the form right there (open).
    assert 'id="materials-set-type-first"' in staff and 'id="materials-profile-form"' in staff
    assert '<details class="materials-profile-form" open>' in staff
    assert AWAITED.findall(staff) == []
    # Claimant: the claim says 待补材料, so the page says a list is being prepared, not "nothing requested".
    claimant = _claimant(acme, "M-1").get(f"/lookup/{acme.code}/claim").text
    assert 'data-state="no_claim_type"' in claimant and 'id="upload-form"' not in claimant
    assert "目前尚未要求您提交材料" not in claimant
    english = _staff(people["adjuster"]).get("/claims/M-1", params={"lang": "en"}).text
    assert "Set the claim type first" in english


def test_staff_set_the_claim_type_and_both_pages_list_the_same_awaited_items(client: TestClient, people):
    acme = people["acme"]
    _waiting(client, acme, "M-2")
    adjuster = _staff(people["adjuster"])
    saved = _set_type(adjuster, "M-2", claim_type="theft", facts=["agent_claim"])
    assert saved.status_code == 303 and saved.headers["location"] == "/claims/M-2?materials=saved#materials"
    page = _materials(adjuster.get(saved.headers["location"]).text)
    assert 'id="materials-saved"' in page and 'id="materials-set-type-first"' not in page
    staff_items = AWAITED.findall(page)
    assert staff_items == THEFT_REQUIRED + ["power_of_attorney"]  # the fact adds the agent's authority
    assert "全车盗抢" in page and '<details class="materials-profile-form">' in page  # closed once set
    claimant = _claimant(acme, "M-2").get(f"/lookup/{acme.code}/claim").text
    assert CLAIMANT_ITEMS.findall(claimant[: claimant.index("</ul>")]) == staff_items
    options = re.findall(r'<option value="(\w+)"', claimant)
    assert options == staff_items + ["purchase_tax_certificate"]  # the optional item may be sent too
    with unit_of_work(TenantContext.for_tenant(acme.id)) as session:
        kinds = session.execute(
            select(AuditEntry.actor).where(AuditEntry.kind == "materials.profile").order_by(AuditEntry.seq)
        ).scalars()
        assert list(kinds) == ["user:li.adjuster"]
    # Changing it again from the page: the checklist follows.
    assert _set_type(adjuster, "M-2", claim_type="theft").status_code == 303
    assert AWAITED.findall(_materials(adjuster.get("/claims/M-2").text)) == THEFT_REQUIRED


def test_setting_the_claim_type_is_checked(client: TestClient, people):
    acme = people["acme"]
    _waiting(client, acme, "M-3")
    adjuster = _staff(people["adjuster"])
    # No CSRF token: refused, nothing written.
    bare = adjuster.post("/claims/M-3/materials/profile", data={"claim_type": "theft"}, follow_redirects=False)
    assert bare.status_code == 403
    # Unknown claim type, unknown fact, none chosen: the page again, the field named, in the reader's language.
    unknown = _set_type(adjuster, "M-3", claim_type="spaceship")
    assert unknown.status_code == 422 and 'id="materials-error" data-field="claim_type"' in unknown.text
    assert 'id="materials-profile-form"' in unknown.text and 'value="spaceship"' not in unknown.text
    fact = _set_type(adjuster, "M-3", claim_type="theft", facts=["dragons"])
    assert fact.status_code == 422 and 'data-field="facts"' in fact.text
    assert _set_type(adjuster, "M-3", claim_type="").status_code == 422
    english = adjuster.post(
        "/claims/M-3/materials/profile?lang=en",
        data={"csrf_token": csrf_from(adjuster.get("/claims/M-3").text), "claim_type": "spaceship"},
    )
    assert english.status_code == 422 and "Choose a claim type from the list." in english.text
    with unit_of_work(TenantContext.for_tenant(acme.id)) as session:
        assert session.execute(select(AuditEntry).where(AuditEntry.kind == "materials.profile")).first() is None
    # Roles: a supervisor may; a quality manager and a regulator may not (and see no form).
    assert _set_type(_staff(people["supervisor"]), "M-3", claim_type="theft").status_code == 303
    quality = _staff(people["quality"])
    assert 'id="materials-profile-form"' not in quality.get("/claims/M-3").text
    assert _set_type(quality, "M-3", claim_type="injury").status_code == 403
    regulator = _staff(people["regulator"])
    assert 'id="materials-profile-form"' not in regulator.get("/claims/M-3", params={"tenant": "ACME"}).text
    token = csrf_from(regulator.get("/claims").text)
    refused = regulator.post("/claims/M-3/materials/profile", data={"csrf_token": token, "claim_type": "theft"})
    assert refused.status_code == 403
    # Another insurer's claim is unknown.
    other = _staff(people["bbb_adjuster"])
    token = csrf_from(other.get("/claims").text)
    foreign = other.post("/claims/M-3/materials/profile", data={"csrf_token": token, "claim_type": "injury"})
    assert foreign.status_code == 404
    page = _materials(_staff(people["adjuster"]).get("/claims/M-3").text)
    assert "全车盗抢" in page  # the supervisor's choice stands


def test_a_notice_for_an_optional_item_is_awaited_on_both_pages_and_uploadable(client: TestClient, people):
    """The SLA clocks wait for every item of the open notice; before, the claimant's page listed only the
    required ones, so a notice asking for an optional item left the claim waiting for something unseen."""
    acme = people["acme"]
    _waiting(client, acme, "M-4")
    assert client.put(
        "/api/v1/claims/M-4/materials/profile", json={"claim_type": "theft"}, headers=key(acme)
    ).is_success
    for item in THEFT_REQUIRED:
        stored = client.post(
            "/api/v1/claims/M-4/documents",
            data={"item_code": item},
            files={"file": (f"{item}.pdf", PDF, "application/pdf")},
            headers=key(acme),
        )
        assert stored.status_code == 201, stored.text
    notice = client.post(
        "/api/v1/claims/M-4/materials/notices", json={"items": ["purchase_tax_certificate"]}, headers=key(acme)
    )
    assert notice.status_code == 201, notice.text
    staff = _materials(_staff(people["adjuster"]).get("/claims/M-4").text)
    assert AWAITED.findall(staff) == ["purchase_tax_certificate"]
    claimant = _claimant(acme, "M-4")
    page = claimant.get(f"/lookup/{acme.code}/claim").text
    assert CLAIMANT_ITEMS.findall(page[: page.index("</ul>")]) == ["purchase_tax_certificate"]

    # A fake PDF is refused by content sniffing, and nothing changes.
    token = csrf_from(page)
    fake = claimant.post(
        f"/lookup/{acme.code}/claim/documents",
        data={"csrf_token": token, "item_code": "purchase_tax_certificate"},
        files={"file": ("tax.pdf", b"MZ\x90\x00 this is not a pdf", "application/pdf")},
    )
    assert fake.status_code == 415 and 'id="upload-message"' in fake.text
    assert AWAITED.findall(_materials(_staff(people["adjuster"]).get("/claims/M-4").text)) == [
        "purchase_tax_certificate"
    ]
    # The real one arrives from the lookup page: nothing is awaited any more, on either page.
    done = claimant.post(
        f"/lookup/{acme.code}/claim/documents",
        data={"csrf_token": token, "item_code": "purchase_tax_certificate"},
        files={"file": ("tax.pdf", PDF, "application/pdf")},
        follow_redirects=False,
    )
    assert done.status_code == 303, done.text
    after = claimant.get(done.headers["location"]).text
    assert 'id="upload-message"' in after and 'data-state="complete"' in after and "<select" not in after
    staff = _materials(_staff(people["adjuster"]).get("/claims/M-4").text)
    assert AWAITED.findall(staff) == [] and 'id="materials-all-received"' in staff  # still 待补材料: move on
    assert 'id="materials-complete"' in staff
