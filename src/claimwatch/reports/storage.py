"""Report files on disk, under ``CLAIMWATCH_DOCUMENTS_DIR/reports/``: written once per version (never
overwritten by a rebuild: each version has its own names), hashed while written, read back for download.

Layout: ``reports/<t{tenant id} | regulator>/<kind>/<period or subject>/v<version>.<html|pdf>``.
No rules and no database here (:mod:`claimwatch.reports.service`)."""

from __future__ import annotations

import hashlib
import io
from dataclasses import dataclass
from pathlib import Path

from claimwatch.materials import storage as documents

ROOT = "reports"
MAX_BYTES = 512 * 1024 * 1024


@dataclass(frozen=True)
class StoredFile:
    relative: str  # under the documents directory
    sha256: str
    size: int


def relative_name(tenant_id: int | None, kind: str, period: str | None, subject_id: int | None, version: int) -> str:
    owner = "regulator" if tenant_id is None else f"t{tenant_id}"
    what = period if period else f"s{subject_id}"
    return f"{ROOT}/{owner}/{kind}/{what}/v{version}"


def write(relative: str, content: bytes) -> StoredFile:
    """Writes ``content`` durably (temporary file, fsync, rename) and returns its SHA-256."""
    staged = documents.stage(io.BytesIO(content), MAX_BYTES)
    try:
        documents.place(staged, relative)
    finally:
        staged.discard()
    return StoredFile(relative, staged.sha256, staged.size)


def path_of(relative: str) -> Path:
    root = documents.documents_root().resolve()
    path = (root / relative).resolve()
    if not path.is_relative_to(root):
        raise ValueError(f"report file outside the documents directory: {relative!r}")
    return path


def read(relative: str) -> bytes:
    return path_of(relative).read_bytes()


def sha256_of(relative: str) -> str | None:
    """The SHA-256 of the stored file now, or None when it is gone."""
    try:
        return hashlib.sha256(read(relative)).hexdigest()
    except FileNotFoundError:
        return None
