"""Fixtures for the access-log and masking tests: the complaint screens' office (two insurers, a claim
with a claimant's phone and ID number, complaints), quality managers to read the log."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from claimwatch.access import api as access_api
from claimwatch.app import create_app
from claimwatch.auth.models import Role
from tests.complaints_web.conftest import Office, office  # noqa: F401 - the fixture, shared
from tests.factories import World
from tests.web.conftest import sign_in


def make_app() -> FastAPI:
    """The app, with the access-log route (app.py includes it; added here if it does not yet)."""
    app = create_app()
    if not any(getattr(route, "path", None) == "/api/v1/access-log" for route in app.routes):
        app.include_router(access_api.router)
    return app


@pytest.fixture
def client(database) -> TestClient:
    return TestClient(make_app())


@pytest.fixture
def quality(world: World, office: Office) -> str:  # noqa: F811
    return world.user("qian.quality", Role.QUALITY_MANAGER, office.acme)


@pytest.fixture
def bbb_quality(world: World, office: Office) -> str:  # noqa: F811
    return world.user("zhao.quality", Role.QUALITY_MANAGER, office.bbb)


@pytest.fixture
def as_user(database) -> Iterator[Callable[[str], TestClient]]:
    """A fresh signed-in client per user: ``as_user(username)``. Over https, so the session cookie is sent
    when it is ``Secure`` (an https public address)."""

    def make(username: str) -> TestClient:
        client = TestClient(make_app(), base_url="https://testserver")
        sign_in(client, username)
        return client

    yield make
