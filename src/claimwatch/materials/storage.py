"""Document bytes on disk, under ``documents_dir``: an upload is streamed to a temporary file while its
SHA-256 is computed, then moved into place under ``<tenant>/<claim>/<sha256>``. No rules here (which
types and items are accepted is :mod:`claimwatch.materials.service`), no database."""

from __future__ import annotations

import contextlib
import hashlib
import os
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import BinaryIO

from claimwatch.config import get_settings

HEAD_BYTES = 1024  # kept from the start of a file to check its type
_CHUNK = 1024 * 1024


class FileTooLarge(Exception):
    """The stream went past ``limit`` bytes; nothing of it is kept."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        super().__init__(f"the file is larger than the limit of {limit} bytes")


@dataclass
class StagedFile:
    """An upload written to a temporary name under the documents directory, not yet in place."""

    path: Path
    sha256: str
    size: int
    head: bytes
    moved: bool = field(default=False)

    def discard(self) -> None:
        if not self.moved:
            with contextlib.suppress(FileNotFoundError):
                self.path.unlink()


def documents_root() -> Path:
    return get_settings().documents_dir


def stage(stream: BinaryIO, max_bytes: int, root: Path | None = None) -> StagedFile:
    """Copy a stream to a temporary file while hashing it; :class:`FileTooLarge` as soon as it passes
    ``max_bytes``. An empty stream is staged too (size 0): the caller decides."""
    incoming = (root or documents_root()) / ".incoming"
    incoming.mkdir(parents=True, exist_ok=True)
    path = incoming / f"{uuid.uuid4().hex}.part"
    digest = hashlib.sha256()
    size = 0
    head = b""
    try:
        with path.open("xb") as out:
            while chunk := stream.read(_CHUNK):
                size += len(chunk)
                if size > max_bytes:
                    raise FileTooLarge(max_bytes)
                if len(head) < HEAD_BYTES:
                    head += chunk[: HEAD_BYTES - len(head)]
                digest.update(chunk)
                out.write(chunk)
            out.flush()
            os.fsync(out.fileno())
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            path.unlink()
        raise
    return StagedFile(path, digest.hexdigest(), size, head)


def place(staged: StagedFile, relative: str) -> None:
    """Move a staged file to ``relative`` under the documents directory, durably (the directory entry is
    synced too)."""
    target = documents_root() / relative
    target.parent.mkdir(parents=True, exist_ok=True)
    os.replace(staged.path, target)
    staged.moved = True
    _fsync_directory(target.parent)


def _fsync_directory(path: Path) -> None:
    if os.name != "posix":
        return
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
