"""The fixed CPU cost of a request, in process: what the fuzz module pays ~17 000 times and every deployment pays
on every request.

    .venv/bin/python bench/request_cost.py [--requests 300] [--repeats 3] [--client asgi|testclient|both]
                                           [--profile FILE] [--src DIR]

Setup (not measured): an SQLite file migrated to head, seeded as the fuzz module seeds it (tests/fuzz/test_openapi.py,
``fuzz_database``): two insurers, an admin's API key, a signed-in regulator, one claim reported through the API.

Measured, per kind of request, CPU seconds (``time.process_time``: every thread of the process, so the worker
threads that run sync dependencies count) over ``--requests`` requests after a warm-up, ``--repeats`` times; the
figure is the median per request in ms:

* ``claims``: a valid ``GET /api/v1/claims`` with the admin's API key (200);
* ``bad_query``: ``GET /api/v1/claims?page=x`` (422);
* ``unknown``: ``GET /api/v1/claims/NO-SUCH`` (404);
* ``bad_body``: ``POST /api/v1/events`` with a body that fails validation (422);
* ``forbidden``: the signed-in regulator on an insurer-only write (403);
* ``no_key``: ``GET /api/v1/claims`` without credentials (401);
* ``healthz``: the bare ``/healthz`` (200).

``--client asgi`` calls the ASGI app directly from one event loop (what a server does, without the HTTP parsing;
the app's lifespan has started);
``testclient`` goes through ``fastapi.testclient.TestClient`` (what the fuzz module's client does: a portal thread
per call). ``--src DIR`` imports claimwatch from another checkout's ``src`` (old and new code in the same machine
state, one after the other). ``--profile FILE`` writes a cProfile (CPU clock) of one repeat of every kind.
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import json
import logging
import os
import shutil
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]


def _parse() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--requests", type=int, default=300, help="requests per kind and repeat")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--client", choices=("asgi", "testclient", "both"), default="both")
    parser.add_argument("--profile", type=Path, help="write a cProfile of one repeat of every kind here")
    parser.add_argument("--src", type=Path, default=ROOT / "src", help="the checkout's src to import claimwatch from")
    parser.add_argument("--kinds", default="", help="comma-separated kinds to run (default: all)")
    parser.add_argument(
        "--inline-threads",
        action="store_true",
        help="run sync dependencies and endpoints on the event loop's thread (for --profile: cProfile sees one "
        "thread only); the figures then lack the thread hops",
    )
    return parser.parse_args()


ARGS = _parse()
sys.path.insert(0, str(ARGS.src))
sys.path.insert(1, str(ARGS.src.parent))  # that checkout's tests.factories
os.environ.setdefault("CLAIMWATCH_GC_FREEZE", "false")
os.environ.setdefault("CLAIMWATCH_SQLITE_SYNCHRONOUS", "OFF")

from argon2 import PasswordHasher  # noqa: E402
from fastapi.testclient import TestClient  # noqa: E402
from tests.factories import PASSWORD, World, reported  # noqa: E402

import claimwatch  # noqa: E402
from claimwatch import db, migrate  # noqa: E402
from claimwatch.app import create_app  # noqa: E402
from claimwatch.auth import service as auth_service  # noqa: E402
from claimwatch.auth.models import Role  # noqa: E402
from claimwatch.config import get_settings  # noqa: E402

if ARGS.inline_threads:
    import anyio.to_thread

    async def _inline(func: Callable[..., Any], *args: Any, **_: Any) -> Any:
        return func(*args)

    anyio.to_thread.run_sync = _inline  # type: ignore[assignment]

# The clients' own log lines (httpx logs each request at INFO) are not the app's cost; the app's access log stays.
logging.getLogger("httpx").setLevel(logging.WARNING)

# Sign-in at a test-sized argon2 cost, as the suite does (tests/conftest.py): only the sign-in uses it.
auth_service._hasher = PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)
auth_service._DUMMY_HASH = auth_service._hasher.hash("claimwatch-timing-equaliser")


def _seed(directory: Path) -> tuple[dict[str, str], dict[str, str]]:
    path = directory / "claimwatch.db"
    url = f"sqlite:///{path}"
    os.environ["CLAIMWATCH_DOCUMENTS_DIR"] = str(directory / "documents")
    os.environ["CLAIMWATCH_SNAPSHOT_DIR"] = str(directory / "snapshot")
    get_settings.cache_clear()
    migrate.upgrade(url)
    db.configure(url)
    world = World(url)
    acme = world.tenant("ACME")
    world.tenant("BBB")
    admin = {"X-API-Key": world.api_key(acme, Role.ADMIN)}
    world.user("bench.regulator", Role.REGULATOR, None)
    return admin, {}


def _sign_in(client: TestClient) -> dict[str, str]:
    import re

    token = re.search(r'name="csrf_token" value="([^"]+)"', client.get("/login").text)
    assert token
    response = client.post(
        "/login",
        data={"username": "bench.regulator", "password": PASSWORD, "csrf_token": token.group(1)},
        follow_redirects=False,
    )
    assert response.status_code == 303, response.text
    cookie = {"Cookie": "; ".join(f"{name}={value}" for name, value in client.cookies.items())}
    client.cookies.clear()
    return cookie


Request = tuple[str, str, dict[str, str], Any, int]


def _kinds(admin: dict[str, str], regulator: dict[str, str]) -> dict[str, Request]:
    bad_event = {"events": [{"event_id": "", "type": "no-such-type", "claim_number": 7}]}
    return {
        "claims": ("GET", "/api/v1/claims", admin, None, 200),
        "bad_query": ("GET", "/api/v1/claims?page=x", admin, None, 422),
        "unknown": ("GET", "/api/v1/claims/NO-SUCH-CLAIM", admin, None, 404),
        "bad_body": ("POST", "/api/v1/events", admin, bad_event, 422),
        "forbidden": (
            "POST",
            "/api/v1/events",
            {**regulator, "X-CSRF-Token": "x", "Origin": "http://testserver"},
            {"events": []},
            403,
        ),
        "no_key": ("GET", "/api/v1/claims", {}, None, 401),
        "healthz": ("GET", "/healthz", {}, None, 200),
    }


def _testclient_runner(client: TestClient, request: Request) -> Callable[[int], None]:
    method, path, headers, body, status = request

    def run(times: int) -> None:
        for _ in range(times):
            response = client.request(method, path, headers=headers, json=body)
            client.cookies.clear()
            assert response.status_code == status, (path, response.status_code, response.text[:300])

    return run


def _asgi_runner(app: Any, loop: asyncio.AbstractEventLoop, request: Request) -> Callable[[int], None]:
    """The app called as a server calls it: one HTTP scope, the body in one message, the answer collected."""
    method, target, headers, body, status = request
    path, _, query = target.partition("?")
    payload = json.dumps(body).encode() if body is not None else b""
    raw_headers = [(b"host", b"testserver"), *((k.lower().encode(), v.encode()) for k, v in headers.items())]
    if body is not None:
        raw_headers += [(b"content-type", b"application/json"), (b"content-length", str(len(payload)).encode())]

    async def one() -> int:
        scope = {
            "type": "http",
            "asgi": {"version": "3.0", "spec_version": "2.3"},
            "http_version": "1.1",
            "method": method,
            "scheme": "http",
            "path": path,
            "raw_path": path.encode(),
            "query_string": query.encode(),
            "root_path": "",
            "headers": list(raw_headers),
            "client": ("127.0.0.1", 50000),
            "server": ("testserver", 80),
            "state": {},
        }
        sent = False
        answered: list[int] = []

        async def receive() -> dict[str, Any]:
            nonlocal sent
            if sent:
                await asyncio.Event().wait()  # a disconnect never comes while the app is answering
            sent = True
            return {"type": "http.request", "body": payload, "more_body": False}

        async def send(message: dict[str, Any]) -> None:
            if message["type"] == "http.response.start":
                answered.append(message["status"])

        await app(scope, receive, send)
        return answered[0]

    async def many(times: int) -> None:
        for _ in range(times):
            got = await one()
            assert got == status, (target, got)

    def run(times: int) -> None:
        loop.run_until_complete(many(times))

    return run


def _measure(run: Callable[[int], None], times: int) -> float:
    started = time.process_time()
    run(times)
    return (time.process_time() - started) / times


def main() -> None:
    print(f"claimwatch from {claimwatch.__file__}")
    print(f"load average at start: {os.getloadavg()}")
    with tempfile.TemporaryDirectory() as scratch:
        admin, _ = _seed(Path(scratch))
        app = create_app()
        with TestClient(app) as client:
            seeded = client.post("/api/v1/events", json={"events": [reported("e-1", "CLM-B-1")]}, headers=admin)
            assert seeded.status_code < 300, seeded.text
            regulator = _sign_in(client)
            kinds = _kinds(admin, regulator)
            if ARGS.kinds:
                kinds = {name: kinds[name] for name in ARGS.kinds.split(",")}
            clients = ("asgi", "testclient") if ARGS.client == "both" else (ARGS.client,)
            loop = asyncio.new_event_loop()
            runners: dict[tuple[str, str], Callable[[int], None]] = {}
            for name, request in kinds.items():
                for via in clients:
                    runner = (
                        _testclient_runner(client, request) if via == "testclient" else _asgi_runner(app, loop, request)
                    )
                    runner(20)  # warm-up: routes built, statements compiled
                    runners[(name, via)] = runner
            figures: dict[tuple[str, str], list[float]] = {key: [] for key in runners}
            for _ in range(ARGS.repeats):
                for key, runner in runners.items():
                    figures[key].append(_measure(runner, ARGS.requests) * 1000)
            if ARGS.profile:
                profiler = cProfile.Profile(time.process_time)
                profiler.enable()
                for runner in runners.values():
                    runner(ARGS.requests)
                profiler.disable()
                profiler.dump_stats(ARGS.profile)
            loop.close()
        shutil.rmtree(Path(scratch) / "documents", ignore_errors=True)
    print(f"load average at end: {os.getloadavg()}")
    print(f"{'kind':<10} {'client':<11} {'median ms':>9}  repeats (ms CPU per request)")
    for (name, via), values in figures.items():
        spread = " ".join(f"{value:.3f}" for value in values)
        print(f"{name:<10} {via:<11} {statistics.median(values):9.3f}  {spread}")


if __name__ == "__main__":
    main()
