"""Canonical serialisation and the chain hash. Changing anything here invalidates every chain."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from collections.abc import Sequence
from typing import Any

GENESIS_HASH = "0" * 64


def format_timestamp(value: dt.datetime) -> str:
    return value.astimezone(dt.UTC).isoformat(timespec="microseconds")


def _default(value: Any) -> Any:
    if isinstance(value, dt.datetime):
        return format_timestamp(value)
    if isinstance(value, dt.date):
        return value.isoformat()
    raise TypeError(f"cannot serialise {type(value).__name__} for hashing")


def canonical_json(value: Any) -> str:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=_default)


def sha256_hex(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def chain_hash(prev_hash: str, seq: int, kind: str, content_hash: str) -> str:
    return hashlib.sha256(f"{prev_hash}|{seq}|{kind}|{content_hash}".encode()).hexdigest()


def block_anchor(first_seq: int) -> str:
    """The ``prev_hash`` of a block's first entry: blocks are chained inside before they are linked."""
    return hashlib.sha256(f"block|{first_seq}".encode()).hexdigest()


def link_hash(prev_hash: str, first_seq: int, last_seq: int, last_hash: str) -> str:
    """The chain's hash after a block is linked: the previous one, the block's range and its last entry's hash."""
    return hashlib.sha256(f"{prev_hash}|{first_seq}-{last_seq}|{last_hash}".encode()).hexdigest()


def row_content_hash(values: Sequence[Any]) -> str:
    """Hash of a stored row's values in a fixed order, so an edit of any of them is detected."""
    parts = []
    for value in values:
        if isinstance(value, dt.datetime):
            value = format_timestamp(value)
        parts.append("" if value is None else str(value))
    return hashlib.sha256("\x1f".join(parts).encode()).hexdigest()
