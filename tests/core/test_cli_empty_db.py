"""A command run before `claimwatch db upgrade` says so in one line (exit 2), not with a traceback."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import text
from sqlalchemy.engine import make_url
from typer.testing import CliRunner

from claimwatch import db
from claimwatch.cli import app
from tests.snapshots import pg_admin_engine

COMMANDS = [
    ["tenant", "create", "ACME", "示例保险"],
    ["sla", "sweep"],
    ["surveys", "issue"],
    ["audit", "verify"],
    ["notify", "deliver"],
]


@pytest.fixture(params=["sqlite", "postgresql"])
def empty_database(request: pytest.FixtureRequest, tmp_path: Path, pg_admin_url: str | None) -> Iterator[str]:
    """A database that exists but has no tables at all."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'empty.db'}"
        db.get_engine().dispose()
        return
    if not pg_admin_url:
        pytest.skip("PostgreSQL half: set CLAIMWATCH_TEST_PG_URL (scripts/test.sh does)")
    name = f"cw_empty_{uuid.uuid4().hex[:12]}"
    admin = pg_admin_engine(pg_admin_url)
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    yield make_url(pg_admin_url).set(database=name).render_as_string(hide_password=False)
    db.get_engine().dispose()
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


@pytest.mark.parametrize("command", COMMANDS, ids=lambda c: " ".join(c[:2]))
def test_a_command_on_an_empty_database_asks_for_db_upgrade(empty_database: str, command: list[str]):
    result = CliRunner().invoke(app, ["--database", empty_database, *command])
    assert result.exit_code == 2, result.output
    assert result.exception is None or isinstance(result.exception, SystemExit)
    lines = [line for line in result.output.splitlines() if line.strip()]
    assert len(lines) == 1, result.output
    assert "has no schema: run `claimwatch db upgrade` first" in lines[0]
    url = make_url(empty_database)
    assert f"{url.host or ''}{':' + str(url.port) if url.port else ''}/{url.database}" in lines[0]  # which database
    assert not url.password or f":{url.password}@" not in lines[0]


def test_after_db_upgrade_the_same_command_works(empty_database: str):
    runner = CliRunner()
    assert runner.invoke(app, ["--database", empty_database, "db", "upgrade"]).exit_code == 0
    result = runner.invoke(app, ["--database", empty_database, "tenant", "create", "ACME", "示例保险"])
    assert result.exit_code == 0, result.output
