"""The sign-in worker pass: forget throttle rows nobody has used for a day and sessions long over."""

from __future__ import annotations

import datetime as dt

from claimwatch.auth import service
from claimwatch.db import TenantContext, unit_of_work


def purge(now: dt.datetime | None = None) -> int:
    """One transaction across tenants (throttle rows and sessions are looked up before a tenant is known).
    The record of sign-ins is kept. Returns the rows deleted."""
    with unit_of_work(TenantContext.system_context()) as session:
        return service.purge(session, now)
