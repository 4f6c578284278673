"""Every test that takes ``database`` runs twice: on an SQLite file and on a real PostgreSQL server.

``scripts/test.sh`` starts PostgreSQL and sets CLAIMWATCH_TEST_PG_URL. Without it the PostgreSQL
half is skipped locally, and fails under CI=true: a skipped PostgreSQL run is not a pass.
"""

from __future__ import annotations

import gc
import os
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from argon2 import PasswordHasher
from sqlalchemy import text
from sqlalchemy.engine import make_url

import claimwatch.cases.service  # noqa: F401 - registers the case-event audit source
from claimwatch import db, migrate
from claimwatch.auth import service as auth_service
from claimwatch.config import get_settings
from tests.factories import World
from tests.snapshots import Database, PgScratch, Snapshot, SnapshotStore, pg_admin_engine, store_for

PG_URL_ENV = "CLAIMWATCH_TEST_PG_URL"
# Every TestClient and schemathesis run starts the app's lifespan, and its heap freeze collects the whole (large)
# test process first: ~1 s each. tests/ops/test_lifespan.py turns it on.
os.environ.setdefault("CLAIMWATCH_GC_FREEZE", "false")
# The suite's SQLite files are thrown away after each test, like its PostgreSQL cluster (fsync=off): their commits need
# not wait for the disk (a killed process still loses nothing; tests/core/test_sqlite_writers.py checks the default).
os.environ.setdefault("CLAIMWATCH_SQLITE_SYNCHRONOUS", "OFF")
PG_TEMPLATE = "claimwatch_test_template"

# A worker holds the whole collected suite and the shared apps (~500 000 tracked objects), and a full collection walks
# them all: with the default thresholds one ran every ~2 s of tests, 13 % of a worker's CPU over tests/complaints
# (7.3 s of 46.5 s, 2026-12-07). Ten times fewer full collections took 2.4 s of GC instead, the same peak memory
# (~690 MB). Young objects are collected as before; cycles that reach the oldest generation wait longer.
_young, _middle, _oldest = gc.get_threshold()
gc.set_threshold(_young, _middle, _oldest * 10)

# Passwords: the same argon2id hashing and checking, at a test-sized cost. The production parameters (64 MiB, three
# passes, four lanes) cost 0.1-0.6 s per hash or sign-in on two shared cores, and the suite makes and signs in
# hundreds of users (a demo alone has 43): most of the fixtures' time. What the tests check - an argon2id hash is
# stored, the right password gets in, a wrong one does not, unknown names are checked against a dummy hash - holds at
# any cost. The test that times the dummy check takes `production_password_hashing`.
_PRODUCTION_HASHER = auth_service._hasher
_PRODUCTION_DUMMY_HASH = auth_service._DUMMY_HASH
auth_service._hasher = PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)
auth_service._DUMMY_HASH = auth_service._hasher.hash("claimwatch-timing-equaliser")


@pytest.fixture
def production_password_hashing(monkeypatch: pytest.MonkeyPatch) -> None:
    """The production argon2 parameters, for a test that measures what they cost."""
    monkeypatch.setattr(auth_service, "_hasher", _PRODUCTION_HASHER)
    monkeypatch.setattr(auth_service, "_DUMMY_HASH", _PRODUCTION_DUMMY_HASH)


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Browser tests, and modules marked ``sqlite_only`` (pages rendered over queries the API and service tests
    run on both databases; input refused before any query), run on SQLite only: what they add is the browser, the
    HTML and the refusals, not the database. The domains' service, API, clock, import and security tests run on
    both. This keeps `make test` within its ten minutes on two cores. CLAIMWATCH_BROWSER_TESTS_ON_BOTH=1 runs
    every test on both."""
    if os.environ.get("CLAIMWATCH_BROWSER_TESTS_ON_BOTH"):
        return
    kept: list[pytest.Item] = []
    dropped: list[pytest.Item] = []
    for item in items:
        sqlite_only = "browser" in item.path.name or item.get_closest_marker("sqlite_only") is not None
        (dropped if sqlite_only and "[postgresql" in item.nodeid else kept).append(item)
    if dropped:
        config.hook.pytest_deselected(items=dropped)
        items[:] = kept


@pytest.fixture(scope="session")
def pg_admin_url() -> str | None:
    url = os.environ.get(PG_URL_ENV)
    if not url and os.environ.get("CI"):
        pytest.fail(f"{PG_URL_ENV} is not set under CI: the PostgreSQL half of the suite must run")
    return url


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("template") / "template.db"
    migrate.upgrade(f"sqlite:///{path}")
    return path


@pytest.fixture(scope="session")
def pg_template(pg_admin_url: str | None) -> Iterator[str | None]:
    if not pg_admin_url:
        yield None
        return
    admin = pg_admin_engine(pg_admin_url)
    worker = os.environ.get("PYTEST_XDIST_WORKER", "main")
    name = f"{PG_TEMPLATE}_{worker}"
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    url = make_url(pg_admin_url).set(drivername="postgresql+psycopg", database=name)
    migrate.upgrade(url.render_as_string(hide_password=False))
    yield name
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


@pytest.fixture(params=["sqlite", "postgresql"])
def database(request: pytest.FixtureRequest, sqlite_template: Path, pg_admin_url: str | None) -> Iterator[Database]:
    if request.param == "sqlite":
        # The same file for every test of the worker, so the process keeps one engine (db.configure) and its
        # compiled statements; the previous test's engine is disposed, its log and index files go with it.
        path = sqlite_template.parent / "claimwatch.db"
        for suffix in ("-wal", "-shm"):
            Path(f"{path}{suffix}").unlink(missing_ok=True)
        shutil.copyfile(sqlite_template, path)
        url = f"sqlite:///{path}"
        db.configure(url)
        db.database_replaced()
        yield Database(url, "sqlite", path=path)
        db.get_engine().dispose()
        return
    if not pg_admin_url:
        pytest.skip(f"PostgreSQL half: set {PG_URL_ENV} (scripts/test.sh does)")
    scratch: PgScratch = request.getfixturevalue("pg_scratch")
    if not scratch.check_schema():
        db.get_engine().dispose()  # the database was made again: the pooled connections went with the old one
    url = scratch.url.render_as_string(hide_password=False)
    database = Database(url, "postgresql", name=scratch.name, admin_url=pg_admin_url, scratch=scratch, pending=True)
    if "db_snapshot" not in request.fixturenames:
        database.create_pending()
    db.configure(url)
    db.database_replaced()
    yield database  # the pooled connections stay open for the next test (tests/snapshots.py POOLED)


@pytest.fixture(scope="session")
def pg_scratch(pg_admin_url: str | None, pg_template: str | None) -> Iterator[PgScratch | None]:
    """The worker's one PostgreSQL test database, put back into a saved state before each test (tests/snapshots.py)."""
    if not pg_admin_url or not pg_template:
        yield None
        return
    scratch = PgScratch(pg_admin_url, pg_template, os.environ.get("PYTEST_XDIST_WORKER", "main"))
    yield scratch
    scratch.dispose()


@pytest.fixture
def world(database: Database) -> World:
    """Tenants, users and API keys made through the real services."""
    return World(database.url)


@pytest.fixture(scope="session")
def snapshot_store(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SnapshotStore]:
    yield from store_for(tmp_path_factory.mktemp("snapshots"))


@pytest.fixture
def db_snapshot(snapshot_store: SnapshotStore, database: Database) -> Snapshot:
    """Build a module's world once per worker and database kind, then copy it for each test (tests/snapshots.py)."""
    return Snapshot(snapshot_store, database)


@pytest.fixture(scope="session")
def _documents_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("documents")


@pytest.fixture
def worker_documents_dir(_documents_root: Path) -> Path:
    """An empty documents directory at the same path for every test of a worker. A fresh path per test (tmp_path)
    changed the settings, and with them tests.apps.shared_app's key: every test built a new app and paid for
    FastAPI's route build (about 1 s of CPU) on its first request."""
    path = _documents_root / "documents"
    shutil.rmtree(path, ignore_errors=True)
    return path


@pytest.fixture(scope="session")
def chromium() -> Iterator[Any]:  # a playwright Browser (imported only where a browser test runs)
    """One headless Chromium per worker for every browser test: a launch (Playwright's driver and the browser)
    costs about a second, and thirty modules use one. Each module closes the contexts it left open."""
    from playwright.sync_api import sync_playwright

    from tests.browsers import CHROMIUM, CHROMIUM_ARGS

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@pytest.fixture(autouse=True)
def _settings_read_afresh() -> Iterator[None]:
    """A test that set a variable and read the settings anew (cleared the cache) would leave its value cached for
    the tests after it: when the cached settings are not the ones the test started with, they are dropped after it
    (this fixture is set up first, so torn down last: after monkeypatch has put the environment back). Settings a
    module's fixture patched in place stay."""
    before = get_settings()
    yield
    if get_settings() is not before:
        get_settings.cache_clear()
