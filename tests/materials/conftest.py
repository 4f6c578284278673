from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from claimwatch.config import get_settings
from tests.apps import shared_app
from tests.factories import TenantHandle, reported

PDF = b"%PDF-1.7\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n"
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00\x00\x00\rIHDR" + bytes(17)
JPEG = b"\xff\xd8\xff\xe0\x00\x10JFIF\x00" + bytes(32)


@pytest.fixture(autouse=True)
def documents_dir(worker_documents_dir: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """Every materials test stores its uploads under an empty temporary directory."""
    path = worker_documents_dir
    monkeypatch.setenv("CLAIMWATCH_DOCUMENTS_DIR", str(path))
    get_settings.cache_clear()
    yield path
    get_settings.cache_clear()


@pytest.fixture
def client(database) -> TestClient:
    return TestClient(shared_app())


@dataclass
class Signals:
    calls: list[dict[str, Any]]

    def names(self) -> list[str]:
        return [call["name"] for call in self.calls]


@pytest.fixture
def signals(monkeypatch: pytest.MonkeyPatch) -> Signals:
    """Records what the materials domain tells the SLA clocks (the clocks themselves are tested in tests/sla)."""
    from claimwatch.materials import service

    recorded = Signals([])

    def spy(session, tenant_id, claim_id, name, at, actor, reason=None):  # type: ignore[no-untyped-def]
        recorded.calls.append(
            {"tenant_id": tenant_id, "claim_id": claim_id, "name": name, "at": at, "actor": actor, "reason": reason}
        )

    monkeypatch.setattr(service.sla_service, "signal", spy)
    return recorded


def key(tenant: TenantHandle) -> dict[str, str]:
    return {"X-API-Key": tenant.api_key}


def new_claim(client: TestClient, tenant: TenantHandle, number: str = "CLM-1", line: str = "motor") -> str:
    response = client.post("/api/v1/events", json=reported(f"{number}-r", number, line=line), headers=key(tenant))
    assert response.status_code == 201, response.text
    return number


def upload(
    client: TestClient,
    headers: dict[str, str],
    number: str,
    item_code: str | None,
    content: bytes = PDF,
    filename: str = "scan.pdf",
    content_type: str = "application/pdf",
):  # type: ignore[no-untyped-def]
    data = {"item_code": item_code} if item_code is not None else {}
    return client.post(
        f"/api/v1/claims/{number}/documents",
        data=data,
        files={"file": (filename, content, content_type)},
        headers=headers,
    )
