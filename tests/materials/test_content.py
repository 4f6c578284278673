"""Upload content is checked beyond its first bytes (issue 11): a page dressed as a PDF, an image carrying
script after its end marker and a zip bomb sent as an OFD are refused (415 naming ``file``), nothing kept."""

from __future__ import annotations

import io
import zipfile
from collections.abc import Iterator

import pytest
from sqlalchemy import select

from claimwatch.config import get_settings
from claimwatch.db import TenantContext, unit_of_work
from claimwatch.materials.models import MaterialsDocument
from tests.materials.conftest import JPEG, PDF, PNG, key, new_claim, upload

pytestmark = pytest.mark.sqlite_only  # pages or validation: tests/conftest.py says why

PNG_END = b"\x00\x00\x00\x00IEND\xaeB`\x82"
SCRIPT = b"<script>fetch('/api/v1/claims').then(r => r.text()).then(alert)</script>"


def _zip(entries: dict[str, bytes], compression: int = zipfile.ZIP_DEFLATED) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression) as archive:
        for name, data in entries.items():
            archive.writestr(name, data)
    return buffer.getvalue()


OFD = _zip({"OFD.xml": b'<?xml version="1.0"?><ofd:OFD xmlns:ofd="http://www.ofdspec.org/2016"/>'})

REFUSED = [
    # an HTML page with "%PDF-" in its first KB: it passed the header check
    (b"<html><body><!-- %PDF-1.7 -->" + SCRIPT + b"</body></html>\n%%EOF\n", "application/pdf", "page"),
    (b"%PDF-1.7\n<html>" + SCRIPT + b"</html>\n%%EOF\n", "application/pdf", "markup"),
    (PDF.replace(b"%%EOF", b"") + bytes(2048), "application/pdf", "%%EOF"),
    (PNG + PNG_END + b"<html>" + SCRIPT, "image/png", "markup"),
    (PNG + SCRIPT, "image/png", "markup"),
    (JPEG + b"\xff\xd9" + b"<!DOCTYPE html><body>" + SCRIPT, "image/jpeg", "markup"),
    # a zip bomb: 16 MB of zeros in a 16 KB archive (the document limit is 1 MB here, so at most 10 MB unpacked)
    (_zip({"OFD.xml": b"<ofd/>", "Doc_0/bomb.bin": bytes(16 * 1024 * 1024)}), "application/ofd", "unpacks"),
    (_zip({f"Doc_0/{n}.xml": b"" for n in range(1001)} | {"OFD.xml": b"<ofd/>"}), "application/ofd", "entries"),
    (_zip({"Doc_0/Document.xml": b"<doc/>"}), "application/ofd", "OFD.xml"),
    (b"PK\x03\x04" + bytes(100), "application/ofd", "ZIP"),
]


@pytest.fixture(autouse=True)
def one_megabyte_documents(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.setenv("CLAIMWATCH_MAX_DOCUMENT_BYTES", str(1024 * 1024))
    get_settings.cache_clear()
    yield
    get_settings.cache_clear()


@pytest.mark.parametrize(("data", "content_type", "says"), REFUSED)
def test_unsafe_content_is_refused_and_nothing_kept(client, world, documents_dir, data, content_type, says):
    tenant = world.tenant()
    number = new_claim(client, tenant)
    response = upload(client, key(tenant), number, "claim_form", data, "scan.bin", content_type)
    assert response.status_code == 415, response.text
    problem = response.json()["problems"][0]
    assert problem["field"] == "file" and says in problem["message"], problem
    with unit_of_work(TenantContext.for_tenant(tenant.id)) as session:
        assert session.execute(select(MaterialsDocument)).first() is None
    assert [p for p in documents_dir.rglob("*") if p.is_file()] == []


@pytest.mark.parametrize(
    ("data", "content_type"),
    [
        (PDF, "application/pdf"),
        (PDF + b"\n", "application/pdf"),
        (PNG + PNG_END, "image/png"),
        (JPEG + b"\xff\xd9", "image/jpeg"),
        (OFD, "application/ofd"),
    ],
)
def test_sound_content_is_taken(client, world, data, content_type):
    tenant = world.tenant()
    number = new_claim(client, tenant)
    response = upload(client, key(tenant), number, "claim_form", data, "scan.bin", content_type)
    assert response.status_code == 201, response.text


def test_the_unpacked_ceiling_follows_the_document_limit(monkeypatch):
    from claimwatch.materials import content

    monkeypatch.setenv("CLAIMWATCH_MAX_DOCUMENT_BYTES", str(1024 * 1024))
    get_settings.cache_clear()
    assert content.max_unpacked_bytes() == 10 * 1024 * 1024
    monkeypatch.setenv("CLAIMWATCH_MAX_DOCUMENT_BYTES", str(100 * 1024 * 1024))
    get_settings.cache_clear()
    assert content.max_unpacked_bytes() == 200 * 1024 * 1024
