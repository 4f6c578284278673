"""db.pg_cast: the type a statement on the DB-API connection casts a parameter to, from the column's model."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from claimwatch import db
from claimwatch.sla.models import SlaClock

CLOCKS = SlaClock.__table__.c


def test_the_cast_is_the_columns_own_type():
    assert db.pg_cast(CLOCKS.light) == "varchar"  # String(8): no length (below)
    assert db.pg_cast(CLOCKS.started_at) == "timestamp with time zone"  # UTCDateTime
    assert db.pg_cast(CLOCKS.consumed) == "float"
    assert db.pg_cast(CLOCKS.escalated) == "integer"
    assert db.pg_cast(sa.Column("notes", sa.Text())) == "text"


def test_a_too_long_value_is_refused_not_cut(database):
    if database.dialect != "postgresql":
        pytest.skip("SQLite keeps no length")
    import psycopg

    with db.get_engine().connect() as conn:
        conn.execute(sa.text("CREATE TEMP TABLE lights (light varchar(8))"))
        cursor = conn.connection.driver_connection.cursor()
        # An explicit cast to varchar(8) would store 'yellowis'; a cast to varchar leaves the column to refuse it.
        with pytest.raises(psycopg.errors.StringDataRightTruncation):
            cursor.execute(f"INSERT INTO lights VALUES (%s::{db.pg_cast(CLOCKS.light)})", ("yellowish-orange",))
        cursor.execute("ROLLBACK")
        cursor.execute("CREATE TEMP TABLE lights (light varchar(8))")
        cursor.execute("INSERT INTO lights VALUES (%s::varchar(8))", ("yellowish-orange",))
        cursor.execute("SELECT light FROM lights")
        assert cursor.fetchone() == ("yellowis",)  # what the compiled type's cast did
