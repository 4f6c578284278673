"""A KPI snapshot belongs to the database it was read from: two instances started from the same folder
(same CLAIMWATCH_SNAPSHOT_DIR) on different databases never show each other's numbers."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import pytest

from claimwatch import db
from claimwatch.kpi import service, snapshot
from tests.factories import World
from tests.snapshots import Database


@pytest.fixture
def other_database(tmp_path: Path, sqlite_template: Path) -> str:
    """A second, empty (migrated) database beside the one under test."""
    path = tmp_path / "other.db"
    shutil.copyfile(sqlite_template, path)
    return f"sqlite:///{path}"


def test_a_snapshot_of_one_database_is_not_read_on_another(database: Database, other_database: str):
    World(database.url).tenant("ACME")
    taken = snapshot.take_snapshot()
    assert taken.rows["tenants"] == 1

    db.configure(other_database)
    assert snapshot.current() is None  # not A's numbers
    with pytest.raises(service.NoSnapshot), service.opened():
        pass

    mine = snapshot.take_snapshot()
    assert mine.rows["tenants"] == 0 and mine.directory != taken.directory

    db.configure(database.url)  # each database still reads its own snapshot
    assert snapshot.current() == taken
    db.configure(other_database)
    assert snapshot.current() == mine


def test_a_snapshot_recording_another_database_is_refused(database: Database, other_database: str):
    taken = snapshot.take_snapshot()
    assert json.loads((taken.directory / snapshot.META).read_text())["database"] == snapshot.database_identity()

    # A's snapshot folder copied to where B's belongs (e.g. a copied var/): B does not read it.
    db.configure(other_database)
    target = snapshot.snapshot_root()
    shutil.copytree(taken.directory.parent, target, symlinks=True)
    assert (target / snapshot.CURRENT).exists()
    assert snapshot.current() is None


def test_the_identity_is_the_database_not_how_its_url_is_written(tmp_path: Path, monkeypatch):
    path = tmp_path / "same.db"
    monkeypatch.chdir(tmp_path)
    absolute = snapshot.identity_of(f"sqlite:///{path}")
    assert snapshot.identity_of("sqlite:///same.db") == absolute
    assert snapshot.identity_of(f"sqlite:///{tmp_path / 'other.db'}") != absolute
    pg = "postgresql://claimwatch:secret@db.example:5432/claims"
    assert snapshot.identity_of(pg) == snapshot.identity_of("postgresql+psycopg://claimwatch:other@db.example/claims")
    assert snapshot.identity_of(pg) != snapshot.identity_of("postgresql://claimwatch:secret@db.example/claims_b")
    assert "secret" not in snapshot.identity_of(pg) and len(snapshot.identity_of(pg)) == 16
    assert os.sep not in snapshot.identity_of(pg)
