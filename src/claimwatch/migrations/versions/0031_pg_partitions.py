"""monthly RANGE partitions on PostgreSQL for the big append-only tables (case events, audit entries, clock events,
outbox), the clock events' write time as their partition key, and the audit chain's archive boundaries

On PostgreSQL each of the four tables is rebuilt as a partitioned table (``PARTITION BY RANGE`` on a write-time
column set by the server side of claimwatch, never by a client), with one partition per month (``<table>_pYYYYMM``,
UTC months) from the oldest row to three months ahead, and a DEFAULT partition (``<table>_pdefault``) so that no
insert ever fails; the worker creates the months ahead from then on (``claimwatch.ops.partitions``). PostgreSQL
requires the partition key in every primary key and unique constraint of a partitioned table, so:

* the primary key becomes ``(id, <key>)``; ``id`` still comes from its sequence, so it stays unique in practice;
* each unique constraint that does not contain the key (``(tenant_id, client_event_id)``, ``(tenant_id,
  audit_seq)``, ``(tenant_id, seq)``, ``(tenant_id, idempotency_key)``) becomes a unique index on every partition
  (``uq_<partition>_<columns>``): enforced by the database within a month; across months by the writers, which
  check under the tenant's chain lock (idempotency keys, event ids) or take numbers from the chain head
  (sequence numbers), and by ``claimwatch audit verify``, which reports any repeated or missing ``seq``.

Everything else (columns, defaults, other indexes, foreign keys to other tables) is read from the catalog and put
back unchanged, so whatever an earlier migration added to these tables survives. SQLite keeps its tables as they
are; both databases get ``sla_clock_events.recorded_at`` (when the row was written; its ``at`` is when the clock
event happened, which can be months earlier for a late event) and the small ``audit_archives`` table.

Revision ID: 0031_pg_partitions
Revises: 0030_audit_blocks
"""

# SQL here names tables, partitions and columns read from the catalog or made from code constants and dates,
# never from input text.
# ruff: noqa: S608

from __future__ import annotations

import datetime as dt

import sqlalchemy as sa
from alembic import op

from claimwatch.db import UTCDateTime

revision = "0031_pg_partitions"
down_revision = "0030_audit_blocks"
branch_labels = None
depends_on = None

# table -> partition key. Frozen here: the worker reads the partitioned tables from the catalog.
PARTITIONED = {
    "case_events": "received_at",
    "audit_entries": "recorded_at",
    "sla_clock_events": "recorded_at",
    "outbox_messages": "created_at",
}
MONTHS_AHEAD = 3


def _month_start(value: dt.date) -> dt.date:
    return value.replace(day=1)


def _next_month(value: dt.date) -> dt.date:
    return (value.replace(day=28) + dt.timedelta(days=4)).replace(day=1)


def _bound(value: dt.date) -> str:
    return f"'{value.isoformat()} 00:00:00+00'"


def _local_uniques(bind: sa.Connection, partition: str, uniques: list[list[str]]) -> None:
    for columns in uniques:
        bind.exec_driver_sql(
            f'CREATE UNIQUE INDEX "uq_{partition}_{"_".join(columns)}" ON "{partition}" ({", ".join(columns)})'
        )


def _partition_pg(bind: sa.Connection, table: str, key: str) -> None:
    constraints = bind.exec_driver_sql(
        "SELECT conname, contype, pg_get_constraintdef(oid) FROM pg_constraint "
        f"WHERE conrelid = '{table}'::regclass AND contype IN ('p', 'u', 'f') ORDER BY conname"
    ).all()
    constraint_names = {name for name, _, _ in constraints}
    indexes = [
        definition
        for name, definition in bind.exec_driver_sql(
            f"SELECT indexname, indexdef FROM pg_indexes WHERE schemaname = 'public' AND tablename = '{table}'"
        ).all()
        if name not in constraint_names
    ]
    uniques = [
        [column.strip() for column in definition[definition.index("(") + 1 : definition.index(")")].split(",")]
        for _, kind, definition in constraints
        if kind == "u"
    ]
    lowest = bind.exec_driver_sql(f'SELECT min("{key}") FROM "{table}"').scalar()
    first = _month_start((lowest or dt.datetime.now(dt.UTC)).astimezone(dt.UTC).date())
    last = _month_start(dt.datetime.now(dt.UTC).date())
    for _ in range(MONTHS_AHEAD):
        last = _next_month(last)

    new = f"{table}__partitioned"
    bind.exec_driver_sql(
        f'CREATE TABLE "{new}" (LIKE "{table}" INCLUDING DEFAULTS INCLUDING STORAGE) PARTITION BY RANGE ("{key}")'
    )
    # The id sequences belong to the new table (dropping the old one would drop them).
    for (sequence,) in bind.exec_driver_sql(
        "SELECT s.relname FROM pg_depend d JOIN pg_class s ON s.oid = d.objid AND s.relkind = 'S' "
        f"WHERE d.refobjid = '{table}'::regclass AND d.deptype = 'a'"
    ).all():
        column = bind.exec_driver_sql(
            "SELECT a.attname FROM pg_depend d "
            "JOIN pg_attribute a ON a.attrelid = d.refobjid AND a.attnum = d.refobjsubid "
            f"WHERE d.objid = '{sequence}'::regclass AND d.deptype = 'a'"
        ).scalar_one()
        bind.exec_driver_sql(f'ALTER SEQUENCE "{sequence}" OWNED BY "{new}"."{column}"')
    # Partitions first (empty, no indexes yet), then the rows, then the indexes: one bulk build per index.
    bind.exec_driver_sql(f'ALTER TABLE "{table}" RENAME TO "{table}__old"')
    bind.exec_driver_sql(f'ALTER TABLE "{new}" RENAME TO "{table}"')
    month = first
    while month <= last:
        bind.exec_driver_sql(
            f'CREATE TABLE "{table}_p{month:%Y%m}" PARTITION OF "{table}" '
            f"FOR VALUES FROM ({_bound(month)}) TO ({_bound(_next_month(month))})"
        )
        month = _next_month(month)
    bind.exec_driver_sql(f'CREATE TABLE "{table}_pdefault" PARTITION OF "{table}" DEFAULT')
    bind.exec_driver_sql(f'INSERT INTO "{table}" SELECT * FROM "{table}__old"')
    bind.exec_driver_sql(f'DROP TABLE "{table}__old"')

    for name, kind, definition in constraints:
        if kind == "p":
            columns = definition[definition.index("(") + 1 : definition.index(")")]
            bind.exec_driver_sql(f'ALTER TABLE "{table}" ADD CONSTRAINT "{name}" PRIMARY KEY ({columns}, "{key}")')
        elif kind == "f":
            bind.exec_driver_sql(f'ALTER TABLE "{table}" ADD CONSTRAINT "{name}" {definition}')
    for definition in indexes:
        bind.exec_driver_sql(definition)
    partitions = bind.exec_driver_sql(
        "SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid "
        f"WHERE i.inhparent = '{table}'::regclass"
    ).scalars()
    for partition in list(partitions):
        _local_uniques(bind, partition, uniques)


def _unpartition_pg(bind: sa.Connection, table: str, key: str, uniques: dict[str, list[str]]) -> None:
    constraints = bind.exec_driver_sql(
        "SELECT conname, contype, pg_get_constraintdef(oid) FROM pg_constraint "
        f"WHERE conrelid = '{table}'::regclass AND contype IN ('p', 'f') ORDER BY conname"
    ).all()
    indexes = [
        definition
        for (definition,) in bind.exec_driver_sql(
            "SELECT pg_get_indexdef(i.indexrelid) FROM pg_index i "
            f"WHERE i.indrelid = '{table}'::regclass "
            "AND NOT EXISTS (SELECT 1 FROM pg_constraint c WHERE c.conindid = i.indexrelid)"
        ).all()
    ]
    bind.exec_driver_sql(f'ALTER TABLE "{table}" RENAME TO "{table}__old"')
    bind.exec_driver_sql(f'CREATE TABLE "{table}" (LIKE "{table}__old" INCLUDING DEFAULTS INCLUDING STORAGE)')
    for (sequence,) in bind.exec_driver_sql(
        "SELECT s.relname FROM pg_depend d JOIN pg_class s ON s.oid = d.objid AND s.relkind = 'S' "
        f"WHERE d.refobjid = '{table}__old'::regclass AND d.deptype = 'a'"
    ).all():
        bind.exec_driver_sql(f'ALTER SEQUENCE "{sequence}" OWNED BY "{table}"."id"')
    bind.exec_driver_sql(f'INSERT INTO "{table}" SELECT * FROM "{table}__old"')
    bind.exec_driver_sql(f'DROP TABLE "{table}__old" CASCADE')
    for name, kind, definition in constraints:
        if kind == "p":
            bind.exec_driver_sql(f'ALTER TABLE "{table}" ADD CONSTRAINT "{name}" PRIMARY KEY (id)')
        else:
            bind.exec_driver_sql(f'ALTER TABLE "{table}" ADD CONSTRAINT "{name}" {definition}')
    for name, columns in uniques.items():
        bind.exec_driver_sql(f'ALTER TABLE "{table}" ADD CONSTRAINT "{name}" UNIQUE ({", ".join(columns)})')
    for definition in indexes:
        bind.exec_driver_sql(definition.replace(f"ON ONLY public.{table} ", f"ON public.{table} "))


# The unique constraints the models declare that become per-partition unique indexes (for the downgrade).
MODEL_UNIQUES = {
    "case_events": {
        "uq_case_events_tenant_id_client_event_id": ["tenant_id", "client_event_id"],
        "uq_case_events_tenant_id_audit_seq": ["tenant_id", "audit_seq"],
    },
    "audit_entries": {"uq_audit_entries_tenant_id_seq": ["tenant_id", "seq"]},
    "sla_clock_events": {},
    "outbox_messages": {"uq_outbox_messages_tenant_id_idempotency_key": ["tenant_id", "idempotency_key"]},
}


def upgrade() -> None:
    bind = op.get_bind()
    op.create_table(
        "audit_archives",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("tenant_id", sa.Integer(), nullable=False),
        sa.Column("month", sa.String(length=7), nullable=False),
        sa.Column("first_seq", sa.BigInteger(), nullable=False),
        sa.Column("last_seq", sa.BigInteger(), nullable=False),
        sa.Column("last_hash", sa.String(length=64), nullable=False),
        sa.Column("entries", sa.BigInteger(), nullable=False),
        sa.Column("archive", sa.String(length=500), nullable=False),
        sa.Column("manifest_sha256", sa.String(length=64), nullable=False),
        sa.Column("tree_size", sa.BigInteger(), nullable=True),
        sa.Column("tree_root", sa.String(length=64), nullable=True),
        sa.Column("archived_at", UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(["tenant_id"], ["tenants.id"], name=op.f("fk_audit_archives_tenant_id_tenants")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_audit_archives")),
    )
    op.create_index("ix_audit_archives_tenant_seq", "audit_archives", ["tenant_id", "last_seq"])
    if bind.dialect.name != "postgresql":
        with op.batch_alter_table("sla_clock_events") as batch:
            batch.add_column(sa.Column("recorded_at", UTCDateTime(), nullable=True))
        op.execute(
            "UPDATE sla_clock_events SET recorded_at = max(at, coalesce((SELECT c.created_at FROM sla_clocks k "
            "JOIN claims c ON c.id = k.claim_id WHERE k.id = sla_clock_events.clock_id), at))"
        )
        with op.batch_alter_table("sla_clock_events") as batch:
            batch.alter_column("recorded_at", existing_type=UTCDateTime(), nullable=False)
        return
    # Rows written before this migration: their event time, but never before their claim was created (the claim
    # page reads a claim's clock events from the claim's creation on).
    op.add_column("sla_clock_events", sa.Column("recorded_at", UTCDateTime(), nullable=True))
    op.execute(
        "UPDATE sla_clock_events e SET recorded_at = greatest(e.at, c.created_at) "
        "FROM sla_clocks k JOIN claims c ON c.id = k.claim_id WHERE k.id = e.clock_id"
    )
    op.execute("UPDATE sla_clock_events SET recorded_at = at WHERE recorded_at IS NULL")
    op.alter_column("sla_clock_events", "recorded_at", nullable=False)
    for table, key in PARTITIONED.items():
        _partition_pg(bind, table, key)


def downgrade() -> None:
    bind = op.get_bind()
    if bind.dialect.name == "postgresql":
        for table, key in PARTITIONED.items():
            _unpartition_pg(bind, table, key, MODEL_UNIQUES[table])
        op.drop_column("sla_clock_events", "recorded_at")
    else:
        with op.batch_alter_table("sla_clock_events") as batch:
            batch.drop_column("recorded_at")
    op.drop_index("ix_audit_archives_tenant_seq", table_name="audit_archives")
    op.drop_table("audit_archives")
