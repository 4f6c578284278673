"""The lookup's worker pass: forget throttle rows nobody has used for a day."""

from __future__ import annotations

import datetime as dt

from claimwatch.db import TenantContext, unit_of_work
from claimwatch.lookup import service


def purge_throttles(now: dt.datetime | None = None) -> int:
    """One transaction across tenants (throttle rows belong to none: an unknown claim number is throttled
    exactly like a known one). Returns the rows deleted."""
    with unit_of_work(TenantContext.system_context()) as session:
        return service.purge(session, now)
