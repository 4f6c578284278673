"""``/readyz``: is this installation doing its work? 200 when the database answers, its schema is at the
migrations' head and every worker pass kind has a fresh heartbeat; otherwise 503. The JSON body names
each check and lists what fails in ``failing``. (``/healthz`` stays the cheap liveness probe: the process
answers.)"""

from __future__ import annotations

import datetime as dt
from functools import lru_cache
from typing import Any

import structlog
from alembic.script import ScriptDirectory
from fastapi.responses import JSONResponse
from sqlalchemy import Connection, inspect, text

from claimwatch import db, migrate
from claimwatch.db import TenantContext, unit_of_work, utc_now
from claimwatch.heartbeat import service as heartbeat_service
from claimwatch.ops import watch

log = structlog.get_logger("claimwatch.ops")


@lru_cache
def head_revision() -> str | None:
    return ScriptDirectory.from_config(migrate.alembic_config()).get_current_head()


def schema_revision(conn: Connection) -> str | None:
    """The schema's Alembic revision (None: no schema), read without Alembic's migration context, which logs
    a line each time it is set up (a probe every few seconds would fill the log)."""
    if not inspect(conn).has_table("alembic_version"):
        return None
    versions = sorted(conn.execute(text("SELECT version_num FROM alembic_version")).scalars())
    return ",".join(versions) or None


def readiness(now: dt.datetime | None = None) -> tuple[bool, dict[str, Any]]:
    now = now or utc_now()
    failing: list[str] = []
    body: dict[str, Any] = {}
    try:
        with db.get_engine().connect() as conn:
            conn.execute(text("SELECT 1"))
            revision = schema_revision(conn)
    except Exception as exc:  # noqa: BLE001 - any failure to reach the database is the answer
        body["database"] = {"ok": False, "error": type(exc).__name__}
        return False, {"status": "unavailable", "failing": ["database"], **body}
    body["database"] = {"ok": True}
    head = head_revision()
    at_head = revision == head
    body["migrations"] = {"ok": at_head, "current": revision, "head": head}
    if not at_head:  # the heartbeat table may not be there yet: nothing more to read
        return False, {"status": "unavailable", "failing": ["migrations"], **body}
    with unit_of_work(TenantContext.system_reader()) as session:
        ages = heartbeat_service.ages(session, now)
    body["heartbeats"] = {
        kind: {
            "ok": not age.stale,
            "age_seconds": round(age.age_seconds, 1),
            "threshold_seconds": age.threshold_seconds,
            "last_pass_ok": age.last_ok,
            "workers": age.workers,
        }
        for kind, age in ages.items()
    }
    if not ages:
        failing.append("heartbeats")  # no worker has ever run a pass against this database
    failing.extend(f"heartbeat:{kind}" for kind, age in ages.items() if age.stale)
    stale = [age for age in ages.values() if age.stale]
    if stale:
        try:
            watch.alert(stale, now)  # once per episode: a no-op while the episode is open
        except Exception:  # noqa: BLE001 - telling the admins must not change what the probe answers
            log.exception("stale-worker notice failed")
    ok = not failing
    return ok, {"status": "ready" if ok else "unavailable", "failing": failing, **body}


def readyz_response() -> JSONResponse:
    ok, body = readiness()
    return JSONResponse(status_code=200 if ok else 503, content=body, headers={"Cache-Control": "no-store"})
