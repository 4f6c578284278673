"""Counts applied case events per tenant and source in the ingesting transaction (for /metrics).

Subscribed to ``reactions.CASE_EVENTS``; the source is ``api`` inside an HTTP request (the request
middleware sets it), ``worker`` in the worker, and ``import`` otherwise (the CLI import and other batch
writers)."""

from __future__ import annotations

import contextvars
from typing import Any

from sqlalchemy import func
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from claimwatch import reactions
from claimwatch.db import utc_now
from claimwatch.ops.models import IngestCount

SOURCES = ("api", "import", "worker")
SHARDS = 64  # rows per tenant and source on PostgreSQL (see IngestCount)
SOURCE: contextvars.ContextVar[str] = contextvars.ContextVar("claimwatch_ingest_source", default="import")


@reactions.subscribe(reactions.CASE_EVENTS)
def count_ingested(session: Session, tenant_id: int | None, changes: list[Any]) -> int:
    if tenant_id is None or not changes:
        return 0
    postgresql = session.get_bind().dialect.name == "postgresql"
    insert = pg_insert if postgresql else sqlite_insert
    now = utc_now()
    statement = insert(IngestCount).values(
        tenant_id=tenant_id,
        source=SOURCE.get(),
        shard=func.pg_backend_pid() % SHARDS if postgresql else 0,
        events=len(changes),
        updated_at=now,
    )
    statement = statement.on_conflict_do_update(
        index_elements=["tenant_id", "source", "shard"],
        set_={"events": IngestCount.events + statement.excluded.events, "updated_at": now},
    )
    session.execute(statement)
    return len(changes)
