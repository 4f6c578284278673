"""A bounded schemathesis run over the whole OpenAPI document: no request may get a 5xx.

Every operation gets schemathesis's coverage cases (boundary and just-invalid values of each parameter and
body field), then a fixed number of generated requests, valid and invalid by the schema, derandomised so a
run is reproducible. Bad input must be refused with a 4xx; a 5xx, or an exception escaping the application,
fails the operation's subtest. Runs on SQLite only: it fuzzes the HTTP layer's validation, which does not
depend on the database (the PostgreSQL half of the suite covers the queries).
"""

from __future__ import annotations

import datetime as dt
import re
import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, cast

import pytest
import schemathesis
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from schemathesis import GenerationMode
from schemathesis.generation.case import Case
from schemathesis.python import asgi

from claimwatch import config, db
from claimwatch.auth.models import Role
from claimwatch.config import Settings, get_settings
from claimwatch.kpi import snapshot
from tests.apps import shared_app
from tests.factories import PASSWORD, World, reported
from tests.fuzz import coverage_on_run

# Each operation's coverage cases are made when its test runs, not in every xdist worker's collection.
coverage_on_run.install()

# Generated requests per operation, after the coverage phase's boundary cases. Bounded by the suite's time budget
# (about 300 operations); the coverage phase already tries every parameter's boundary and just-invalid values.
EXAMPLES = {GenerationMode.POSITIVE: 4, GenerationMode.NEGATIVE: 3}


@dataclass(frozen=True)
class Callers:
    admin: dict[str, str]  # an insurer's admin: every operation
    regulator: dict[str, str]  # the cross-insurer view: its reads take other paths (every tenant, ?tenant=)


def _sign_in(client: TestClient, username: str) -> dict[str, str]:
    """A signed-in user's session cookie (a regulator has no API key: it signs in as a user)."""
    token = re.search(r'name="csrf_token" value="([^"]+)"', client.get("/login").text)
    assert token
    response = client.post(
        "/login",
        data={"username": username, "password": PASSWORD, "csrf_token": token.group(1)},
        follow_redirects=False,
    )
    assert response.status_code == 303, response.text
    return {"Cookie": "; ".join(f"{name}={value}" for name, value in client.cookies.items())}


# Dates and instants at the ends of the calendar (and an offset that carries them past it in UTC) are where
# date arithmetic overflows; the default generators reach them too rarely for a bounded run.
EDGE_DATES = ("0001-01-01", "0001-01-02", "9999-12-31", "9999-12-30", "1900-01-01")
EDGE_INSTANTS = (
    "0001-01-01T00:00:00+14:00",
    "0001-01-01T00:00:00Z",
    "9999-12-31T23:59:59-12:00",
    "9999-12-31T23:59:59.999999Z",
    "1900-01-01T00:00:00+08:00",
)
# Integers just past what a 64-bit column holds: unbounded integer parameters reach them only by luck.
EDGE_INTEGERS = (2**63, -(2**63) - 1)
schemathesis.openapi.format("date", st.sampled_from(EDGE_DATES) | st.dates().map(str))
schemathesis.openapi.format(
    "date-time",
    st.sampled_from(EDGE_INSTANTS)
    | st.datetimes(timezones=st.sampled_from([dt.UTC, dt.timezone(dt.timedelta(hours=8))])).map(dt.datetime.isoformat),
)

APP = shared_app()


def _replace_integers(value: Any, edge: int) -> Any:
    if type(value) is int:
        return edge
    if isinstance(value, dict):
        return {name: _replace_integers(item, edge) for name, item in value.items()}
    if isinstance(value, list):
        return [_replace_integers(item, edge) for item in value]
    return value


def _has_integers(value: Any) -> bool:
    if type(value) is int:
        return True
    if isinstance(value, dict):
        return any(_has_integers(item) for item in value.values())
    if isinstance(value, list):
        return any(_has_integers(item) for item in value)
    return False


def _with_edge_integers(context: schemathesis.HookContext, values: Any) -> st.SearchStrategy:
    """The generated values, or (often: the coverage phase has the ordinary ones) with their integers replaced
    by a 64-bit edge."""
    if not _has_integers(values):
        return st.just(values)
    return st.sampled_from((EDGE_INTEGERS[0], None, EDGE_INTEGERS[1], None)).map(
        lambda edge: values if edge is None else _replace_integers(values, edge)
    )


def _schema(mode: GenerationMode) -> schemathesis.BaseSchema:
    """The app's OpenAPI document, generating in one mode: valid requests and invalid ones each get their own
    budget (mixed, an operation with a large body got few valid ones)."""
    loaded = schemathesis.openapi.from_asgi("/openapi.json", APP)
    loaded.config.generation.update(modes=[mode], max_examples=EXAMPLES[mode], deterministic=True)
    for part in ("path_parameters", "query", "body"):
        loaded.hook(f"flatmap_{part}")(_with_edge_integers)
    return loaded


valid = _schema(GenerationMode.POSITIVE)
invalid = _schema(GenerationMode.NEGATIVE)


@dataclass(frozen=True)
class FuzzDatabase:
    url: str
    settings: dict[str, str]
    read_settings: Settings  # what get_settings() reads with those variables set
    callers: Callers


def _cache_settings(read: Settings) -> None:
    """Put settings already read into get_settings()'s cache, as if it had just read them: reading the environment
    anew costs 3-4 ms, and each test read it twice (its own settings, then the ones it started with), about 5 % of
    the module's CPU (py-spy, 2026-12-07)."""
    get_settings.cache_clear()
    with pytest.MonkeyPatch.context() as monkeypatch:
        monkeypatch.setattr(config, "Settings", lambda: read)
        assert get_settings() is read


def _configure(monkeypatch: pytest.MonkeyPatch, fuzz: FuzzDatabase) -> None:
    for name, value in fuzz.settings.items():
        monkeypatch.setenv(name, value)
    _cache_settings(fuzz.read_settings)
    db.configure(fuzz.url)


@pytest.fixture(scope="module")
def fuzz_database(sqlite_template: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[FuzzDatabase]:
    """One database for every operation of the module (seeding one per operation would cost more than
    the fuzzing): two insurers, an admin's API key, a signed-in regulator, a claim and a KPI snapshot
    (without one the KPI routes answer 503, by design)."""
    directory = tmp_path_factory.mktemp("fuzz")
    path = directory / "claimwatch.db"
    shutil.copyfile(sqlite_template, path)
    settings = {
        "CLAIMWATCH_DOCUMENTS_DIR": str(directory / "documents"),
        "CLAIMWATCH_SNAPSHOT_DIR": str(directory / "snapshot"),
    }
    with pytest.MonkeyPatch.context() as monkeypatch:
        for name, value in settings.items():
            monkeypatch.setenv(name, value)
        get_settings.cache_clear()
        url = f"sqlite:///{path}"
        db.configure(url)
        world = World(url)
        acme = world.tenant("ACME")
        world.tenant("BBB")
        admin = {"X-API-Key": world.api_key(acme, Role.ADMIN)}
        world.user("fuzz.regulator", Role.REGULATOR, None)
        client = TestClient(APP)
        seeded = client.post("/api/v1/events", json={"events": [reported("e-1", "CLM-FUZZ-1")]}, headers=admin)
        assert seeded.status_code < 300, seeded.text
        snapshot.take_snapshot()
        callers = Callers(admin=admin, regulator=_sign_in(client, "fuzz.regulator"))
        read_settings = get_settings()
    get_settings.cache_clear()
    yield FuzzDatabase(url, settings, read_settings, callers)
    db.get_engine().dispose()


@pytest.fixture
def callers(fuzz_database: FuzzDatabase, monkeypatch: pytest.MonkeyPatch) -> Iterator[Callers]:
    """The module's database and settings for one test (tests of other modules may run in between); after it,
    the settings it started with (its variables are put back too, by ``monkeypatch``)."""
    started_with = get_settings()
    _configure(monkeypatch, fuzz_database)
    yield fuzz_database.callers
    _cache_settings(started_with)
    db.get_engine().dispose()


_SETTINGS: dict[str, Any] = {
    "derandomize": True,
    "database": None,
    "deadline": None,
    "suppress_health_check": list(HealthCheck),
}


@pytest.fixture(scope="module")
def asgi_client() -> Iterator[asgi.ASGIClient]:
    """The in-process client schemathesis makes for each request when given none, made once for the module.

    Made per request, it was a new ``requests`` session (its adapters and connection pools) and a scan of the
    environment for proxies and ``.netrc`` credentials, about a tenth of each request's cost in the test's own
    thread (profile of 2026-12-07); an app called in-process has no use for either (``trust_env`` off). The
    cookies a response sets are dropped after each call (``_no_server_error``), as they went with the session."""
    with asgi.get_client(cast(asgi.ASGIApp, APP)) as made:
        made.trust_env = False
        yield made


def _no_server_error(case: Case, callers: Callers, client: asgi.ASGIClient) -> None:
    """The admin's request, and for a read the regulator's too, gets no 5xx (an exception escaping the app
    propagates out of ``call``: a failure too)."""
    for headers in (callers.admin, callers.regulator) if case.method.upper() == "GET" else (callers.admin,):
        try:
            response = case.call(headers=headers, session=client)
        finally:
            client.cookies.clear()
        assert response.status_code < 500, f"{response.status_code} {response.text[:500]}\n{case.as_curl_command()}"


# The parametrisation names the database in the test id; it also gives each operation's item its own node id
# (without one, schemathesis 4.32 under pytest 9 gives every item the function's id, which xdist cannot
# distribute).
@pytest.mark.parametrize("dialect", ["sqlite"])
@valid.parametrize()
@settings(**_SETTINGS, max_examples=EXAMPLES[GenerationMode.POSITIVE])
def test_no_valid_request_gets_a_server_error(
    case: Case, callers: Callers, asgi_client: asgi.ASGIClient, dialect: str
) -> None:
    _no_server_error(case, callers, asgi_client)


@pytest.mark.parametrize("dialect", ["sqlite"])
@invalid.parametrize()
@settings(**_SETTINGS, max_examples=EXAMPLES[GenerationMode.NEGATIVE])
def test_no_invalid_request_gets_a_server_error(
    case: Case, callers: Callers, asgi_client: asgi.ASGIClient, dialect: str
) -> None:
    _no_server_error(case, callers, asgi_client)


def test_no_cookie_is_carried_from_one_request_to_the_next(callers: Callers, asgi_client: asgi.ASGIClient) -> None:
    """The module's one client keeps no cookie past a fuzz request: the next one must arrive with only its own
    caller's credentials."""
    asgi_client.get("/login")  # the sign-in page sets a session cookie, as a web route may in a fuzz request
    assert asgi_client.cookies, "the sign-in page set no cookie: nothing is checked"

    _no_server_error(valid["/api/v1/claims"]["GET"].Case(query={}), callers, asgi_client)

    assert not asgi_client.cookies


def test_each_test_has_the_modules_settings_and_leaves_those_it_started_with(
    fuzz_database: FuzzDatabase, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The settings put in the cache are those the environment gives: the module's while its test runs, the ones
    before it afterwards."""
    fixture = callers.__wrapped__  # type: ignore[attr-defined]
    started_with = get_settings()
    during = fixture(fuzz_database, monkeypatch)
    next(during)

    assert get_settings() == Settings()
    assert str(get_settings().snapshot_dir) == fuzz_database.settings["CLAIMWATCH_SNAPSHOT_DIR"]

    next(during, None)
    monkeypatch.undo()
    assert get_settings() is started_with
    assert get_settings() == Settings()
