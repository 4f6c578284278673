"""The API under a browser's cookie (issue 11, items 6 and 14): a write authenticated by the session
cookie needs the session's CSRF token (or comes from this site's own origin); API responses are not
cached or sniffed; the session cookie is Secure behind https; /docs can be kept private."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

from claimwatch.config import get_settings
from claimwatch.web.security import CSRF_HEADER
from tests.apps import shared_app
from tests.factories import reported
from tests.web.conftest import Seeded, csrf_from, sign_in


@pytest.fixture
def settings_env(monkeypatch: pytest.MonkeyPatch) -> Iterator[pytest.MonkeyPatch]:
    get_settings.cache_clear()
    yield monkeypatch
    monkeypatch.undo()
    get_settings.cache_clear()


def claim_count(client: TestClient, api_key: str) -> int:
    return int(client.get("/api/v1/claims", headers={"X-API-Key": api_key}).json()["total"])


def test_a_cross_site_post_with_the_cookie_is_refused(client: TestClient, seeded: Seeded):
    sign_in(client, seeded.adjuster)
    before = claim_count(client, seeded.acme.api_key)
    # What a form on another site makes the browser send: the cookie, the other site's Origin, a
    # multipart or urlencoded body, and no custom header.
    forged = client.post(
        "/api/v1/events",
        files={"events": ("e.json", b"[]", "application/json")},
        headers={"Origin": "https://evil.example"},
    )
    assert forged.status_code == 403
    assert forged.json()["problems"][0]["field"] == CSRF_HEADER
    no_origin = client.post("/api/v1/events", json=reported("f1", "CSRF-1"))
    assert no_origin.status_code == 403
    wrong = client.post("/api/v1/events", json=reported("f2", "CSRF-2"), headers={CSRF_HEADER: "guess"})
    assert wrong.status_code == 403
    assert client.delete("/api/v1/claims/A-MOT-001").status_code in (403, 405)
    assert claim_count(client, seeded.acme.api_key) == before


def test_the_cookie_writes_with_the_sessions_token_or_from_this_origin(client: TestClient, seeded: Seeded):
    sign_in(client, seeded.adjuster)
    token = csrf_from(client.get("/claims").text)
    with_token = client.post("/api/v1/events", json=reported("t1", "CSRF-OK-1"), headers={CSRF_HEADER: token})
    assert with_token.status_code == 201, with_token.text
    same_origin = client.post(
        "/api/v1/events", json=reported("t2", "CSRF-OK-2"), headers={"Origin": "http://testserver"}
    )
    assert same_origin.status_code == 201, same_origin.text
    # Reads need nothing more than the cookie.
    assert client.get("/api/v1/claims/CSRF-OK-1").status_code == 200


def test_an_api_key_needs_no_csrf_token(client: TestClient, seeded: Seeded):
    sign_in(client, seeded.adjuster)  # a cookie too: the key decides
    response = client.post(
        "/api/v1/events",
        json=reported("k1", "KEY-1"),
        headers={"X-API-Key": seeded.acme.api_key, "Origin": "https://elsewhere.example"},
    )
    assert response.status_code == 201


def test_api_responses_are_not_cached_or_sniffed(client: TestClient, seeded: Seeded):
    for response in (
        client.get("/api/v1/claims", headers={"X-API-Key": seeded.acme.api_key}),
        client.get("/api/v1/claims/A-MOT-001", headers={"X-API-Key": seeded.acme.api_key}),
        client.get("/api/v1/claims"),  # the 401 too
        client.get("/api/v1/claims/NOPE", headers={"X-API-Key": seeded.acme.api_key}),
    ):
        assert response.headers["Cache-Control"] == "no-store", response.request.url
        assert response.headers["X-Content-Type-Options"] == "nosniff"


def test_the_session_cookie_is_secure_behind_https(settings_env: pytest.MonkeyPatch, seeded: Seeded):
    plain = TestClient(shared_app())
    token = csrf_from(plain.get("/login").text)
    answer = plain.post(
        "/login",
        data={"username": seeded.adjuster, "password": "correct-horse-battery", "csrf_token": token},
        follow_redirects=False,
    )
    assert "secure" not in answer.headers["set-cookie"].lower()
    settings_env.setenv("CLAIMWATCH_PUBLIC_BASE_URL", "https://claims.example.com")
    get_settings.cache_clear()
    assert get_settings().session_cookie_secure is True
    secure = TestClient(shared_app(), base_url="https://testserver")
    token = csrf_from(secure.get("/login").text)
    answer = secure.post(
        "/login",
        data={"username": seeded.adjuster, "password": "correct-horse-battery", "csrf_token": token},
        follow_redirects=False,
    )
    assert answer.status_code == 303
    assert "secure" in answer.headers["set-cookie"].lower()


def test_docs_can_be_kept_private(settings_env: pytest.MonkeyPatch, seeded: Seeded):
    open_app = TestClient(shared_app())
    assert open_app.get("/openapi.json").status_code == 200
    settings_env.setenv("CLAIMWATCH_PUBLIC_DOCS", "false")
    get_settings.cache_clear()
    private = TestClient(shared_app())
    assert private.get("/docs").status_code == 401
    assert private.get("/openapi.json").status_code == 401
    assert private.get("/redoc").status_code in (401, 404)
    spec = private.get("/openapi.json", headers={"X-API-Key": seeded.acme.api_key})
    assert spec.status_code == 200 and "/api/v1/events" in spec.json()["paths"]
    sign_in(private, seeded.adjuster)
    docs = private.get("/docs")
    assert docs.status_code == 200 and "/openapi.json" in docs.text
