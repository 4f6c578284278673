"""The web shell's rules: times in the insurer's own zone, a Problem raised by a page is an HTML page,
and every JSON refusal of the claim routes has the one error body."""

from __future__ import annotations

import pytest
from fastapi import APIRouter
from fastapi.testclient import TestClient
from sqlalchemy import update

from claimwatch.app import create_app
from claimwatch.auth.deps import TenantSession
from claimwatch.db import TenantContext, unit_of_work
from claimwatch.errors import Conflict
from claimwatch.tenancy.models import Tenant
from claimwatch.web.pages import PageRoute
from tests.web.conftest import Seeded, sign_in

pytestmark = pytest.mark.sqlite_only  # pages or validation: tests/conftest.py says why


def _row(html: str, number: str) -> str:
    row = html[html.index(f'<tr data-number="{number}">') :]
    return row[: row.index("</tr>")]


def test_pages_show_times_in_the_insurers_own_zone(client: TestClient, seeded: Seeded):
    with unit_of_work(TenantContext.system_context()) as session:
        session.execute(update(Tenant).where(Tenant.id == seeded.acme.id).values(timezone="Europe/London"))
    sign_in(client, seeded.adjuster)
    # Reported 2026-11-02 01:00 UTC: 01:00 in London (GMT in November), not 09:00 Beijing time.
    row = _row(client.get("/claims").text, "A-MOT-001")
    assert "2026-11-02 01:00" in row and 'datetime="2026-11-02T01:00:00+00:00"' in row
    claim = client.get("/claims/A-MOT-001").text
    assert '<time datetime="2026-11-02T01:00:00+00:00">2026-11-02 01:00</time>' in claim


def test_a_regulators_cross_insurer_list_uses_the_platform_zone(client: TestClient, seeded: Seeded):
    with unit_of_work(TenantContext.system_context()) as session:
        session.execute(update(Tenant).where(Tenant.id == seeded.acme.id).values(timezone="Europe/London"))
    sign_in(client, seeded.regulator)
    # ACME's A-MOT-001 was reported at 01:00 UTC: 09:00 in the platform's zone (01:00 would be London's).
    for params in ({}, {"tenant": "ACME"}):
        html = client.get("/claims", params=params).text
        assert "2026-11-02 09:00" in html and "2026-11-02 01:00" not in html


def test_a_problem_raised_in_a_page_route_is_the_html_error_page(database) -> None:
    router = APIRouter(route_class=PageRoute)

    @router.get("/test-refused")
    def refused() -> None:
        raise Conflict("escalation", "someone was first")

    app = create_app()
    app.include_router(router)
    response = TestClient(app).get("/test-refused")
    assert response.status_code == 409
    assert response.headers["content-type"].startswith("text/html")
    assert "<html" in response.text and "someone was first" not in response.text


def test_an_unknown_claims_materials_answer_the_one_error_body(client: TestClient, seeded: Seeded):
    sign_in(client, seeded.adjuster)
    response = client.get("/api/v1/claims/NOPE/materials")
    assert response.status_code == 404
    assert response.json() == {"detail": "no claim NOPE", "problems": [{"field": "number", "message": "no claim NOPE"}]}


def test_a_refused_page_action_leaves_nothing_behind(client: TestClient, seeded: Seeded):
    """A page route that writes and is then refused: the error page comes back and the write is rolled
    back (the refusal passes the request's session before it becomes a page)."""
    router = APIRouter(route_class=PageRoute)

    @router.post("/test-refused-write")
    def refused_write(session: TenantSession) -> None:
        session.execute(update(Tenant).where(Tenant.id == seeded.acme.id).values(name="changed before the refusal"))
        raise Conflict("escalation", "someone was first")

    client.app.include_router(router)  # type: ignore[attr-defined]
    sign_in(client, seeded.adjuster)
    response = client.post("/test-refused-write")
    assert response.status_code == 409 and response.headers["content-type"].startswith("text/html")
    with unit_of_work(TenantContext.system_context()) as session:
        assert session.get(Tenant, seeded.acme.id).name != "changed before the refusal"  # type: ignore[union-attr]
