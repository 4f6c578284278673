"""Fixtures for the lookup tests: claims made through the event API, uploads in a temporary directory."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from claimwatch.config import get_settings
from claimwatch.lookup import service
from tests.apps import shared_app
from tests.factories import TenantHandle, reported, transition

PDF = b"%PDF-1.7\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n"
PHONE = "13812345678"  # tests.factories.reported's claimant
LAST4 = "5678"


@pytest.fixture(autouse=True)
def lookup_settings(worker_documents_dir: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """Uploads under an empty temporary directory; caches of settings and insurers cleared around each test."""
    path = worker_documents_dir
    monkeypatch.setenv("CLAIMWATCH_DOCUMENTS_DIR", str(path))
    get_settings.cache_clear()
    service.clear_cache()
    yield path
    get_settings.cache_clear()
    service.clear_cache()


@pytest.fixture
def client(database) -> TestClient:
    return TestClient(shared_app())


def key(tenant: TenantHandle) -> dict[str, str]:
    return {"X-API-Key": tenant.api_key}


def ingest(client: TestClient, tenant: TenantHandle, events: list[dict[str, Any]]) -> None:
    response = client.post("/api/v1/events", json={"events": events}, headers=key(tenant))
    assert response.status_code == 201, response.text


def new_claim(client: TestClient, tenant: TenantHandle, number: str, waiting: bool = True, **claim: Any) -> str:
    """A small motor claim reported 2026-11-02 09:00 (+08:00) and accepted; ``waiting``: then waiting for
    the claimant's materials, with a reason carrying a phone number."""
    events = [reported(f"{number}-r", number, **claim), transition(f"{number}-t1", number, "accepted", hours=1)]
    if waiting:
        events += [
            transition(f"{number}-t2", number, "initial_review", hours=2),
            transition(f"{number}-t3", number, "awaiting_materials", hours=3, reason="客户 13900001111 需补材料"),
        ]
    ingest(client, tenant, events)
    return number


def lookup(client: TestClient, insurer: str, number: str, **factor: str):  # type: ignore[no-untyped-def]
    return client.post("/api/v1/lookup", json={"insurer": insurer, "claim_number": number, **factor})


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}
