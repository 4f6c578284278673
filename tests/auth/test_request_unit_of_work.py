"""The request's unit of work (``auth.deps.request_unit_of_work``, behind ``tenant_session``): it ends as
``db.unit_of_work`` does (success commits, a failure rolls back), ends a session that talked to the database in a
worker thread, never on the event loop, and ends one that never did without a connection."""

from __future__ import annotations

import threading
from collections.abc import Awaitable, Callable
from typing import Any

import anyio
import pytest
from sqlalchemy import event

from claimwatch import db
from claimwatch.auth import service as auth_service
from claimwatch.auth.deps import request_unit_of_work
from claimwatch.auth.models import Role
from claimwatch.db import TenantContext, unit_of_work
from claimwatch.errors import Invalid


def _on_a_loop(request: Callable[[], Awaitable[Any]]) -> int:
    """Runs ``request`` on an event loop of its own thread (the worker's own thread may already run one: a browser
    test's Playwright leaves it there) and returns that thread's id; what the request raised is raised here."""
    outcome: dict[str, Any] = {}

    def run() -> None:
        outcome["thread"] = threading.get_ident()
        try:
            anyio.run(request)
        except BaseException as exc:  # noqa: BLE001 - handed to the test's thread
            outcome["error"] = exc

    thread = threading.Thread(target=run)
    thread.start()
    thread.join()
    if "error" in outcome:
        raise outcome["error"]
    return int(outcome["thread"])


def _key_resolves(key: str) -> bool:
    with unit_of_work(TenantContext.system_reader()) as session:
        return auth_service.principal_for_api_key(session, key) is not None


class _Watch:
    """The engine's connection check-outs, and the threads its transactions end in."""

    def __init__(self) -> None:
        self.checkouts = 0
        self.commits = 0
        self.ended_in: list[int] = []

        def checkout(*_: Any) -> None:
            self.checkouts += 1

        def commit(*_: Any) -> None:
            self.commits += 1
            self.ended_in.append(threading.get_ident())

        def rollback(*_: Any) -> None:
            self.ended_in.append(threading.get_ident())

        self._listeners = {"checkout": checkout, "commit": commit, "rollback": rollback}

    def __enter__(self) -> _Watch:
        for name, listener in self._listeners.items():
            event.listen(db.get_engine(), name, listener)
        return self

    def __exit__(self, *_: Any) -> None:
        for name, listener in self._listeners.items():
            event.remove(db.get_engine(), name, listener)


def test_a_request_that_succeeds_commits_off_the_event_loop(world):
    tenant = world.tenant()
    made: list[str] = []

    async def request() -> None:
        async with request_unit_of_work(TenantContext.for_tenant(tenant.id)) as session:
            _, key = auth_service.create_api_key(session, tenant_id=tenant.id, name="uow-ok", role=Role.ADMIN)
            made.append(key)

    with _Watch() as watch:
        loop_thread = _on_a_loop(request)

    assert _key_resolves(made[0])
    assert watch.commits == 1 and loop_thread not in watch.ended_in


def test_a_request_that_fails_rolls_back_off_the_event_loop(world):
    tenant = world.tenant()
    made: list[str] = []

    async def request() -> None:
        async with request_unit_of_work(TenantContext.for_tenant(tenant.id)) as session:
            _, key = auth_service.create_api_key(session, tenant_id=tenant.id, name="uow-refused", role=Role.ADMIN)
            session.flush()
            made.append(key)
            raise Invalid("name", "refused after the write")

    loop_threads: list[int] = []

    async def recorded() -> None:
        loop_threads.append(threading.get_ident())
        await request()

    with _Watch() as watch, pytest.raises(Invalid):
        _on_a_loop(recorded)
    (loop_thread,) = loop_threads

    assert made and not _key_resolves(made[0])
    assert watch.commits == 0 and watch.ended_in and loop_thread not in watch.ended_in


def test_a_request_that_never_touched_its_session_ends_without_a_connection(world):
    tenant = world.tenant()

    async def refused() -> None:
        async with request_unit_of_work(TenantContext.for_tenant(tenant.id)):
            raise Invalid("query", "refused before the route read anything")

    async def untouched() -> None:
        async with request_unit_of_work(TenantContext.regulator()):
            pass

    with _Watch() as watch:
        with pytest.raises(Invalid):
            _on_a_loop(refused)
        _on_a_loop(untouched)

    assert watch.checkouts == 0 and watch.ended_in == []


def test_a_read_only_request_is_rolled_back_not_committed(world):
    tenant = world.tenant()

    async def request() -> None:
        async with request_unit_of_work(TenantContext.regulator_of(tenant.id)) as session:
            assert auth_service.principal_for_api_key(session, tenant.api_key) is not None

    with _Watch() as watch:
        _on_a_loop(request)

    assert watch.commits == 0 and len(watch.ended_in) == 1
