"""Backup and restore (issue 20, item 4): a backup restored onto an empty database verifies (audit chains intact
and ending where the backup's did, every document's SHA-256 as recorded and as chained), on SQLite and on
PostgreSQL; a non-empty target, a tampered backup or a used backup directory are refused in one line with
nothing changed."""

from __future__ import annotations

import contextlib
import json
import shutil
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url
from typer.testing import CliRunner

from claimwatch.cli import app
from claimwatch.config import get_settings
from claimwatch.ops import backup as backups
from tests.apps import shared_app
from tests.materials.conftest import PDF, PNG, key, new_claim, upload

runner = CliRunner()


@pytest.fixture
def documents_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    _use_documents(tmp_path / "documents", monkeypatch)
    yield tmp_path / "documents"
    get_settings.cache_clear()


def _use_documents(path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CLAIMWATCH_DOCUMENTS_DIR", str(path))
    get_settings.cache_clear()


def _populate(world) -> None:  # type: ignore[no-untyped-def]
    tenant = world.tenant()
    other = world.tenant("BETA", "另一保险")
    client = TestClient(shared_app())
    for number in ("CLM-1", "CLM-2", "CLM-3"):
        new_claim(client, tenant, number)
    new_claim(client, other, "CLM-9")
    assert upload(client, key(tenant), "CLM-1", "id_proof").status_code == 201
    assert upload(client, key(other), "CLM-9", "id_proof", PNG, "p.png", "image/png").status_code == 201


@contextlib.contextmanager
def _empty_database(dialect: str, tmp_path: Path, pg_admin_url: str | None) -> Iterator[str]:
    if dialect == "sqlite":
        yield f"sqlite:///{tmp_path / 'restored.db'}"
        return
    assert pg_admin_url
    admin = create_engine(make_url(pg_admin_url).set(drivername="postgresql+psycopg"), isolation_level="AUTOCOMMIT")
    name = f"cw_restore_{uuid.uuid4().hex[:12]}"
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield make_url(pg_admin_url).set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def _one_line_error(result) -> str:  # type: ignore[no-untyped-def]
    lines = result.output.strip().splitlines()
    assert result.exit_code == 1 and len(lines) == 1 and lines[0].startswith("error: "), result.output
    return lines[0]


def _tables(url: str) -> list[str]:
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        return backups._sqlite_tables(backups.sqlite_path(parsed))
    return backups._pg_tables(parsed)


def test_a_backup_restores_onto_an_empty_database_and_verifies_and_refusals_change_nothing(
    database, world, documents_dir, tmp_path, pg_admin_url, monkeypatch
):
    """One backup per database (the costly part) serves the round trip and every refusal."""
    _populate(world)
    out = tmp_path / "backup"
    made = runner.invoke(app, ["backup", str(out)])
    assert made.exit_code == 0, made.output
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["database"] == database.dialect and manifest["alembic_revision"]
    assert manifest["created_at"].endswith("Z") and manifest["claimwatch_version"]
    assert {h["tenant"] for h in manifest["audit_heads"]} == {"ACME", "BETA"}
    assert all(h["seq"] > 0 for h in manifest["audit_heads"])
    documents = [f for f in manifest["files"] if f["path"].startswith("documents/")]
    assert len(documents) == 2 and manifest["documents"]["count"] == 2
    assert {(out / f["path"]).read_bytes() for f in documents} == {PDF, PNG}
    assert "not an empty directory" in _one_line_error(runner.invoke(app, ["backup", str(out)]))

    # Onto the non-empty source database: refused before anything is written (documents dir included).
    restored_documents = tmp_path / "restored-documents"
    _use_documents(restored_documents, monkeypatch)
    heads_before = backups.verify(restored_documents).chains
    line = _one_line_error(runner.invoke(app, ["restore", str(out)]))
    assert "is not empty (it has table" in line and "restore needs an empty database" in line
    assert not restored_documents.exists()
    assert backups.verify(restored_documents).chains == heads_before

    with _empty_database(database.dialect, tmp_path, pg_admin_url) as target:
        # A document altered in the backup: named, nothing restored.
        tampered = tmp_path / "tampered"
        shutil.copytree(out, tampered)
        document = next(p for p in (tampered / "documents").rglob("*") if p.is_file() and p.read_bytes() == PDF)
        document.write_bytes(PDF.replace(b"Catalog", b"Catalug"))
        line = _one_line_error(runner.invoke(app, ["--database", target, "restore", str(tampered)]))
        assert str(document) in line and "does not match its SHA-256" in line
        # The manifest edited to fit the altered file: its signature no longer matches.
        edited = json.loads((tampered / "manifest.json").read_text())
        relative = document.relative_to(tampered).as_posix()
        for entry in edited["files"]:
            if entry["path"] == relative:
                entry["sha256"] = backups._sha256_file(document)
        (tampered / "manifest.json").write_text(json.dumps(edited))
        line = _one_line_error(runner.invoke(app, ["--database", target, "restore", str(tampered)]))
        assert "manifest.json was altered" in line
        # A non-empty documents directory needs --force-documents.
        restored_documents.mkdir()
        (restored_documents / "keep.txt").write_text("x")
        line = _one_line_error(runner.invoke(app, ["--database", target, "restore", str(out)]))
        assert "--force-documents" in line
        # Made under another secret key (the audit seals and encrypted fields would not verify).
        monkeypatch.setenv("CLAIMWATCH_SECRET_KEY", "another-secret-key-entirely")
        get_settings.cache_clear()
        line = _one_line_error(runner.invoke(app, ["--database", target, "restore", str(out), "--force-documents"]))
        assert "made under another CLAIMWATCH_SECRET_KEY" in line
        monkeypatch.delenv("CLAIMWATCH_SECRET_KEY")
        get_settings.cache_clear()
        assert _tables(target) == [] and [p.name for p in restored_documents.iterdir()] == ["keep.txt"]

        # The round trip.
        done = runner.invoke(app, ["--database", target, "restore", str(out), "--force-documents"])
        assert done.exit_code == 0, done.output
        assert "documents: 2 checked, all match" in done.output
        assert done.output.count("intact") == 2 and done.output.count("yes") == 2
        verified = runner.invoke(app, ["--database", target, "audit", "verify"])
        assert verified.exit_code == 0 and verified.output.count("intact") == 2, verified.output
        engine = create_engine(make_url(target).set(drivername=make_url(database.url).drivername))
        with engine.connect() as conn:
            assert conn.execute(text("SELECT count(*) FROM claims")).scalar_one() == 4
            paths = conn.execute(text("SELECT storage_path FROM materials_documents")).scalars().all()
        engine.dispose()
        assert sorted((restored_documents / p).read_bytes() for p in paths) == sorted([PDF, PNG])

        # The fingerprint check is real: a document changed after the restore is found.
        (restored_documents / paths[0]).write_bytes(PDF + b"x")
        result = backups.verify(restored_documents, manifest["audit_heads"])
        assert not result.ok and result.documents_checked == 2
        assert result.document_problems == [
            f"materials_documents 1 ({paths[0]}): the file does not match the SHA-256 of its record"
        ]
    # The other kind of database: refused before the target is even opened.
    other = f"sqlite:///{tmp_path / 'x.db'}" if database.dialect == "postgresql" else "postgresql://u@127.0.0.1:1/x"
    with pytest.raises(backups.BackupError, match="cross-database restore is not supported"):
        backups.prepare_restore(out, other, tmp_path / "none")
