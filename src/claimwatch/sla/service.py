"""SLA clock actions (being written; the signature of ``signal`` is the contract other domains use)."""

from __future__ import annotations

import datetime as dt

from sqlalchemy.orm import Session

# Signals other domains send about a claim; policies name them in pause/resume/stop.
SIGNALS = frozenset({"materials_requested", "materials_received"})


def signal(
    session: Session, tenant_id: int, claim_id: int, name: str, at: dt.datetime, actor: str, reason: str | None = None
) -> None:
    """Tell the claim's clocks that something happened outside the workflow (e.g. the one-time
    missing-materials notice went out, or the awaited documents arrived)."""
    if name not in SIGNALS:
        raise ValueError(f"unknown SLA signal {name!r}")
