"""Backup and restore: the database, the documents directory and a signed manifest, in one directory.

A backup is a directory (``claimwatch backup OUT``; tar or rsync it elsewhere)::

    OUT/manifest.json          format, versions, schema revision, database kind, created_at (UTC), every file
                               with size and SHA-256, each tenant's audit-chain head, an HMAC signature
    OUT/database.sqlite3       SQLite: the online backup API's copy (one consistent snapshot), or
    OUT/database.pgdump        PostgreSQL: ``pg_dump --format=custom`` of one exported snapshot
    OUT/documents/...          the documents directory (uploads in flight under ``.incoming`` left out)

The database is copied first and the documents after it: a document's file is in place before its row is
committed and files are never deleted, so every row of the copy has its file in the backup (a file without
a row, from an upload still in flight, is harmless). The audit heads and the schema revision are read from
the same snapshot as the dump. The KPI snapshot (Parquet) is not included: the worker rebuilds it.

``restore`` goes onto an EMPTY database of the same kind only (SQLite to SQLite, PostgreSQL to PostgreSQL;
a cross-database restore is not supported). Everything that can refuse is checked before anything is written:
the manifest's signature (made with CLAIMWATCH_SECRET_KEY: a backup restores under the key it was made with,
which the audit seals and the encrypted fields need anyway), every file's size and SHA-256, no file that the
manifest does not list, an empty target database, an empty documents directory (unless ``force_documents``).
Afterwards the audit chains are verified, their heads compared with the manifest's, and every stored
document re-hashed and compared with its record and with the SHA-256 its audit-chain entry carries.
"""

from __future__ import annotations

import datetime as dt
import glob
import hashlib
import hmac
import json
import os
import shutil
import sqlite3
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, Engine, create_engine, text
from sqlalchemy.engine import URL, make_url
from sqlalchemy.pool import NullPool

from claimwatch import __version__
from claimwatch.audit import service as audit_service
from claimwatch.audit.hashing import canonical_json
from claimwatch.db import TenantContext, unit_of_work
from claimwatch.privacy import derive_key

FORMAT = "claimwatch-backup"
FORMAT_VERSION = 1
MANIFEST = "manifest.json"
DOCUMENTS = "documents"
DATABASE_FILES = {"sqlite": "database.sqlite3", "postgresql": "database.pgdump"}
INCOMING = ".incoming"  # materials.storage stages uploads here; never part of a backup
_CHUNK = 1024 * 1024

# Tables whose rows name a stored file (storage_path, sha256, size_bytes, audit_seq), under documents_dir.
DOCUMENT_TABLES = ("materials_documents", "inspection_evidence", "rectification_evidence")


class BackupError(Exception):
    """A refusal: one line for the operator; nothing was changed."""


# ---------------------------------------------------------------------------------------------- helpers


def _sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as stream:
        while chunk := stream.read(_CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def _utc_now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def dialect_of(url: str | URL) -> str:
    name = make_url(url).get_backend_name()
    if name not in DATABASE_FILES:
        raise BackupError(f"database kind {name!r} is not supported (SQLite or PostgreSQL)")
    return name


def sqlite_path(url: str | URL) -> Path:
    database = make_url(url).database
    if not database or database == ":memory:" or database.startswith("file:"):
        raise BackupError(f"{make_url(url).render_as_string(hide_password=True)} is not an SQLite file")
    return Path(database)


def _pg_tool(name: str) -> str:
    """``pg_dump``/``pg_restore``: on PATH, else the newest /usr/lib/postgresql/*/bin (Debian, Ubuntu)."""
    found = shutil.which(name)
    if found:
        return found
    candidates = sorted(
        glob.glob(f"/usr/lib/postgresql/*/bin/{name}"),
        key=lambda p: [int(part) if part.isdigit() else 0 for part in Path(p).parts[-3].split(".")],
    )
    if not candidates:
        raise BackupError(f"{name} not found on PATH or in /usr/lib/postgresql/*/bin: install the PostgreSQL client")
    return candidates[-1]


def _libpq(url: str | URL) -> tuple[str, dict[str, str]]:
    """A libpq connection URI without the password, and an environment carrying it (not on a command line)."""
    parsed = make_url(url)
    env = dict(os.environ)
    if parsed.password:
        env["PGPASSWORD"] = str(parsed.password)
    conninfo = parsed.set(drivername="postgresql", password=None).render_as_string(hide_password=False)
    return conninfo, env


def _run(command: list[str], env: dict[str, str]) -> None:
    done = subprocess.run(command, env=env, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        lines = [line for line in (done.stderr or done.stdout).splitlines() if line.strip()]
        raise BackupError(f"{Path(command[0]).name} failed: {lines[-1] if lines else f'exit {done.returncode}'}")


def _pg_engine(url: str | URL) -> Engine:
    parsed = make_url(url)
    return create_engine(parsed.set(drivername="postgresql+psycopg"), poolclass=NullPool)


# --------------------------------------------------------------------------------------------- manifest


@dataclass
class Manifest:
    database: str
    alembic_revision: str | None
    created_at: str
    files: list[dict[str, Any]]
    audit_heads: list[dict[str, Any]]
    claimwatch_version: str = __version__
    format_version: int = FORMAT_VERSION
    documents: dict[str, int] = field(default_factory=dict)

    def body(self) -> dict[str, Any]:
        return {
            "format": FORMAT,
            "format_version": self.format_version,
            "claimwatch_version": self.claimwatch_version,
            "alembic_revision": self.alembic_revision,
            "database": self.database,
            "database_file": DATABASE_FILES[self.database],
            "created_at": self.created_at,
            "documents": self.documents,
            "audit_heads": self.audit_heads,
            "files": self.files,
            "key_check": key_check(),
        }


def key_check() -> str:
    """Tells whether a backup was made under the configured secret key, without revealing anything of it."""
    return hmac.new(derive_key("backup-key-check"), b"claimwatch backup", hashlib.sha256).hexdigest()


def _signature(body: dict[str, Any]) -> str:
    return hmac.new(derive_key("backup-manifest"), canonical_json(body).encode(), hashlib.sha256).hexdigest()


def write_manifest(out: Path, manifest: Manifest) -> None:
    body = manifest.body()
    body["signature"] = _signature(body)
    partial = out / f"{MANIFEST}.part"
    partial.write_text(json.dumps(body, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
    os.replace(partial, out / MANIFEST)


def read_manifest(source: Path) -> dict[str, Any]:
    """The manifest of a backup, checked against its files: every refusal names what is wrong."""
    if not source.is_dir():
        raise BackupError(f"{source} is not a backup directory")
    path = source / MANIFEST
    if not path.is_file():
        raise BackupError(f"{path} is missing: not a claimwatch backup, or an unfinished one")
    try:
        body = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise BackupError(f"{path} is not valid JSON: {exc}") from exc
    if not isinstance(body, dict) or body.get("format") != FORMAT:
        raise BackupError(f"{path} is not a claimwatch backup manifest")
    if body.get("format_version") != FORMAT_VERSION:
        raise BackupError(f"{path}: backup format {body.get('format_version')!r} is not {FORMAT_VERSION}")
    if body.get("key_check") != key_check():
        raise BackupError(
            f"{path}: the backup was made under another CLAIMWATCH_SECRET_KEY; restore it with that key "
            "(the audit seals and the encrypted fields need it)"
        )
    signature = body.pop("signature", None)
    if not isinstance(signature, str) or not hmac.compare_digest(signature, _signature(body)):
        raise BackupError(f"{path} was altered: its signature does not match its content")
    listed: dict[str, dict[str, Any]] = {}
    for entry in body.get("files", []):
        listed[entry["path"]] = entry
    database_file = body.get("database_file")
    if database_file not in listed:
        raise BackupError(f"{path} lists no database file")
    for name, entry in listed.items():
        file = source / name
        if Path(name).is_absolute() or ".." in Path(name).parts:
            raise BackupError(f"{path} names a file outside the backup: {name}")
        if not file.is_file():
            raise BackupError(f"{file} is missing from the backup")
        if file.stat().st_size != entry["size"]:
            raise BackupError(f"{file} has {file.stat().st_size} bytes, the manifest says {entry['size']}")
        if _sha256_file(file) != entry["sha256"]:
            raise BackupError(f"{file} does not match its SHA-256 in the manifest (altered or damaged)")
    for file in _files_under(source):
        name = file.relative_to(source).as_posix()
        if name != MANIFEST and name not in listed:
            raise BackupError(f"{file} is not listed in the manifest (added after the backup)")
    return body


def _files_under(root: Path) -> Iterator[Path]:
    for directory, dirnames, filenames in os.walk(root):
        dirnames.sort()
        for name in sorted(filenames):
            yield Path(directory) / name


# ----------------------------------------------------------------------------------------------- backup


def _state(conn: Connection) -> tuple[str | None, list[dict[str, Any]]]:
    """The schema revision and every tenant's audit head, read on ``conn`` (the snapshot being dumped)."""
    revision = conn.execute(text("SELECT version_num FROM alembic_version")).scalar_one_or_none()
    heads = [
        {"tenant": code, "tenant_id": tenant_id, "seq": seq, "hash": head_hash}
        for tenant_id, code, seq, head_hash in conn.execute(
            text(
                "SELECT t.id, t.code, h.seq, h.hash FROM audit_heads h JOIN tenants t ON t.id = h.tenant_id "
                "ORDER BY t.code"
            )
        )
    ]
    return revision, heads


def _backup_sqlite(url: URL, target: Path) -> tuple[str | None, list[dict[str, Any]]]:
    path = sqlite_path(url)
    if not path.is_file():
        raise BackupError(f"no SQLite database at {path}")
    source = sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=30)
    copy = sqlite3.connect(target)
    try:
        source.backup(copy)  # every page in one step: one consistent snapshot, writers are not blocked (WAL)
        copy.execute("PRAGMA journal_mode=DELETE")  # a self-contained file, no -wal beside it
    finally:
        source.close()
        copy.close()
    engine = create_engine(f"sqlite:///{target}")
    try:
        with engine.connect() as conn:
            return _state(conn)
    finally:
        engine.dispose()


def _backup_postgresql(url: URL, target: Path) -> tuple[str | None, list[dict[str, Any]]]:
    pg_dump = _pg_tool("pg_dump")
    conninfo, env = _libpq(url)
    engine = _pg_engine(url)
    try:
        with engine.connect().execution_options(isolation_level="REPEATABLE READ") as conn:
            with conn.begin():
                # The dump and the heads come from one snapshot, held while pg_dump runs.
                snapshot = conn.execute(text("SELECT pg_export_snapshot()")).scalar_one()
                state = _state(conn)
                _run(
                    [pg_dump, "--format=custom", f"--snapshot={snapshot}", f"--file={target}", f"--dbname={conninfo}"],
                    env,
                )
        return state
    finally:
        engine.dispose()


def _copy_documents(documents: Path, out: Path) -> tuple[list[dict[str, Any]], int]:
    """Copy every file of the documents directory, hashing as it goes; returns manifest entries and bytes."""
    entries: list[dict[str, Any]] = []
    total = 0
    if not documents.is_dir():
        return entries, total
    for file in _files_under(documents):
        relative = file.relative_to(documents)
        if relative.parts[0] == INCOMING or file.is_symlink():
            continue
        target = out / DOCUMENTS / relative
        target.parent.mkdir(parents=True, exist_ok=True)
        digest = hashlib.sha256()
        size = 0
        with file.open("rb") as src, target.open("xb") as dst:
            while chunk := src.read(_CHUNK):
                digest.update(chunk)
                size += len(chunk)
                dst.write(chunk)
        shutil.copystat(file, target)
        entries.append({"path": f"{DOCUMENTS}/{relative.as_posix()}", "size": size, "sha256": digest.hexdigest()})
        total += size
    return entries, total


def backup(out: Path, url: str | URL, documents: Path, *, now: dt.datetime | None = None) -> dict[str, Any]:
    """Write a backup of the database at ``url`` and of ``documents`` into ``out`` (absent or empty)."""
    kind = dialect_of(url)
    if out.exists() and (not out.is_dir() or any(out.iterdir())):
        raise BackupError(f"{out} exists and is not an empty directory: choose a new place for the backup")
    if documents.exists() and out.resolve().is_relative_to(documents.resolve()):
        raise BackupError(f"{out} is inside the documents directory {documents}")
    created = not out.exists()
    out.mkdir(parents=True, exist_ok=True)
    try:
        database_file = out / DATABASE_FILES[kind]
        parsed = make_url(url)
        revision, heads = (_backup_sqlite if kind == "sqlite" else _backup_postgresql)(parsed, database_file)
        files = [
            {"path": database_file.name, "size": database_file.stat().st_size, "sha256": _sha256_file(database_file)}
        ]
        document_files, document_bytes = _copy_documents(documents, out)
        manifest = Manifest(
            database=kind,
            alembic_revision=revision,
            created_at=(now or _utc_now()).astimezone(dt.UTC).isoformat().replace("+00:00", "Z"),
            files=files + document_files,
            audit_heads=heads,
            documents={"count": len(document_files), "bytes": document_bytes},
        )
        write_manifest(out, manifest)
    except BaseException:
        if created:
            shutil.rmtree(out, ignore_errors=True)
        else:
            for child in out.iterdir():
                if child.is_dir():
                    shutil.rmtree(child)
                else:
                    child.unlink()
        raise
    return manifest.body()


# ---------------------------------------------------------------------------------------------- restore


def _sqlite_tables(path: Path) -> list[str]:
    if not path.exists() or path.stat().st_size == 0:
        return []
    conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        return [row[0] for row in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name")]
    except sqlite3.DatabaseError as exc:
        raise BackupError(f"{path} is not an SQLite database: {exc}") from exc
    finally:
        conn.close()


def _pg_tables(url: URL) -> list[str]:
    engine = _pg_engine(url)
    try:
        with engine.connect() as conn:
            return list(
                conn.execute(
                    text(
                        "SELECT table_schema || '.' || table_name FROM information_schema.tables "
                        "WHERE table_schema NOT IN ('pg_catalog', 'information_schema') ORDER BY 1"
                    )
                ).scalars()
            )
    finally:
        engine.dispose()


def check_target_empty(url: str | URL) -> None:
    parsed = make_url(url)
    tables = _sqlite_tables(sqlite_path(parsed)) if dialect_of(parsed) == "sqlite" else _pg_tables(parsed)
    if tables:
        address = parsed.render_as_string(hide_password=True)
        raise BackupError(
            f"the database at {address} is not empty (it has table {tables[0]}): restore needs an empty database"
        )


def check_revision_known(revision: str | None) -> None:
    from alembic.script import ScriptDirectory

    from claimwatch import migrate

    if revision is None:
        return
    scripts = ScriptDirectory.from_config(migrate.alembic_config())
    if revision not in {script.revision for script in scripts.walk_revisions()}:
        raise BackupError(
            f"the backup is at schema {revision}, which this claimwatch ({__version__}) does not know: "
            "restore it with the version that made it"
        )


def _documents_in_use(documents: Path) -> bool:
    return documents.is_dir() and any(
        p.is_file() and p.relative_to(documents).parts[0] != INCOMING for p in documents.rglob("*")
    )


def _restore_sqlite(source: Path, url: URL) -> None:
    target = sqlite_path(url)
    target.parent.mkdir(parents=True, exist_ok=True)
    backup_conn = sqlite3.connect(f"file:{source}?mode=ro", uri=True)
    target_conn = sqlite3.connect(target)
    try:
        backup_conn.backup(target_conn)
        target_conn.execute("PRAGMA journal_mode=WAL")  # as claimwatch runs it (db.py)
    finally:
        backup_conn.close()
        target_conn.close()


def _restore_postgresql(source: Path, url: URL) -> None:
    pg_restore = _pg_tool("pg_restore")
    conninfo, env = _libpq(url)
    # One transaction: a failure leaves the target database as empty as it was.
    _run([pg_restore, "--no-owner", "--no-acl", "--single-transaction", f"--dbname={conninfo}", str(source)], env)


def _copy_back(source: Path, documents: Path) -> int:
    count = 0
    root = source / DOCUMENTS
    if not root.is_dir():
        documents.mkdir(parents=True, exist_ok=True)
        return 0
    for file in _files_under(root):
        target = documents / file.relative_to(root)
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(file, target)
        count += 1
    documents.mkdir(parents=True, exist_ok=True)
    return count


@dataclass
class ChainResult:
    tenant: str
    entries: int
    problem: str | None
    head_matches: bool


@dataclass
class VerifyResult:
    chains: list[ChainResult] = field(default_factory=list)
    documents_checked: int = 0
    document_problems: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return all(c.problem is None and c.head_matches for c in self.chains) and not self.document_problems


def check_documents(conn: Connection, documents: Path) -> tuple[int, list[str]]:
    """Re-hash every stored document and compare it with the SHA-256 of its record and of its audit entry."""
    present = {
        row[0]
        for row in conn.execute(
            text(
                "SELECT table_name FROM information_schema.tables"
                if conn.dialect.name != "sqlite"
                else "SELECT name FROM sqlite_master WHERE type = 'table'"
            )
        )
    }
    checked = 0
    problems: list[str] = []
    for table in DOCUMENT_TABLES:
        if table not in present:
            continue
        rows = conn.execute(
            text(
                f"SELECT d.id, d.storage_path, d.sha256, d.size_bytes, d.audit_seq, a.payload FROM {table} d "  # noqa: S608 - table from DOCUMENT_TABLES
                "LEFT JOIN audit_entries a ON a.tenant_id = d.tenant_id AND a.seq = d.audit_seq ORDER BY d.id"
            )
        )
        for row_id, storage_path, sha256, size, audit_seq, payload in rows:
            checked += 1
            name = f"{table} {row_id} ({storage_path})"
            file = documents / storage_path
            chained: str | None = None
            if payload:
                try:
                    chained = json.loads(payload).get("sha256")
                except (ValueError, AttributeError):
                    chained = None
            if not file.is_file():
                problems.append(f"{name}: the file is missing")
            elif file.stat().st_size != size or _sha256_file(file) != sha256:
                problems.append(f"{name}: the file does not match the SHA-256 of its record")
            elif audit_seq is not None and chained != sha256:
                problems.append(f"{name}: its record does not match the SHA-256 in audit entry {audit_seq}")
    return checked, problems


def verify(documents: Path, heads: list[dict[str, Any]] | None = None) -> VerifyResult:
    """The audit chains (as `claimwatch audit verify`) and the documents' fingerprints, on the configured
    database; with ``heads`` (a manifest's) each chain must also end where the backup's did."""
    import claimwatch.cases.service  # noqa: F401 - registers the case-event content source the verifier needs

    result = VerifyResult()
    expected = {head["tenant"]: head for head in heads or []}
    with unit_of_work(TenantContext.system_reader()) as session:
        tenants = session.execute(text("SELECT id, code FROM tenants ORDER BY code")).all()
        for tenant_id, code in tenants:
            report = audit_service.verify(session, tenant_id)
            head_matches = True
            if heads is not None:
                wanted = expected.get(code)
                head_matches = wanted is not None and (wanted["seq"], wanted["hash"]) == (
                    report.last_seq,
                    _head_hash(session.connection(), tenant_id),
                )
            result.chains.append(
                ChainResult(
                    code, report.entries_checked, str(report.first_problem) if report.problems else None, head_matches
                )
            )
        missing = set(expected) - {code for _, code in tenants}
        result.chains.extend(ChainResult(code, 0, "tenant missing after restore", False) for code in sorted(missing))
        result.documents_checked, result.document_problems = check_documents(session.connection(), documents)
    return result


def _head_hash(conn: Connection, tenant_id: int) -> str | None:
    return conn.execute(
        text("SELECT hash FROM audit_heads WHERE tenant_id = :t"), {"t": tenant_id}
    ).scalar_one_or_none()


@dataclass
class RestorePlan:
    manifest: dict[str, Any]
    source: Path


def prepare_restore(source: Path, url: str | URL, documents: Path, *, force_documents: bool = False) -> RestorePlan:
    """Every check of a restore, none of which writes anything: BackupError names the first failure."""
    manifest = read_manifest(source)
    kind = dialect_of(url)
    if manifest["database"] != kind:
        raise BackupError(
            f"the backup is of a {manifest['database']} database and the target is {kind}: "
            "restore into the same kind (a cross-database restore is not supported)"
        )
    check_revision_known(manifest.get("alembic_revision"))
    check_target_empty(url)
    if _documents_in_use(documents) and not force_documents:
        raise BackupError(
            f"the documents directory {documents} is not empty: empty it, point CLAIMWATCH_DOCUMENTS_DIR elsewhere "
            "or pass --force-documents"
        )
    return RestorePlan(manifest, source)


def restore(plan: RestorePlan, url: str | URL, documents: Path) -> int:
    """Write the database and the documents of a prepared restore; returns the number of documents copied."""
    parsed = make_url(url)
    database_file = plan.source / plan.manifest["database_file"]
    if plan.manifest["database"] == "sqlite":
        _restore_sqlite(database_file, parsed)
    else:
        _restore_postgresql(database_file, parsed)
    return _copy_back(plan.source, documents)
