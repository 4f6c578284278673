"""Segment dispatch (web/dispatch.py) answers every request as FastAPI's plain router does: for every route of the
app, a concrete path of it is sent with each of its methods, a method it does not take (405 and its Allow header),
and with and without a trailing slash (the redirect), and both routers' answers are compared. The endpoints do not
run: each route's ``handle`` is replaced by one that answers which route was chosen with which path parameters,
so a wrong choice (another route, another order, a lost 405 or redirect) shows as a different answer."""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from fastapi import APIRouter, FastAPI, WebSocket
from fastapi.routing import APIRoute, _IncludedRouter, iter_route_contexts
from starlette.responses import PlainTextResponse
from starlette.routing import Host, Mount, Route, WebSocketRoute
from starlette.types import Receive, Scope, Send

from claimwatch.app import create_app
from claimwatch.web import dispatch
from claimwatch.web.dispatch import SegmentDispatch, literal_segments
from tests.apps import shared_app
from tests.loops import run as run_loop

Answer = tuple[Any, ...]
SAMPLE = {"int": "7", "float": "1.5", "path": "a/b", "uuid": str(uuid.UUID(int=5)), "str": "x9"}
PARAMETER = re.compile(r"{([a-zA-Z_][a-zA-Z0-9_]*)(?::([a-zA-Z_]*))?}")


@pytest.fixture
def chosen_route_answers(monkeypatch: pytest.MonkeyPatch) -> None:
    """Each kind of route answers with what was chosen instead of running its endpoint."""

    async def answer(route: Any, scope: Scope, receive: Receive, send: Send) -> None:
        endpoint = getattr(route, "endpoint", None) or getattr(route, "app", None)
        name = f"{getattr(endpoint, '__module__', '')}.{getattr(endpoint, '__qualname__', type(endpoint).__name__)}"
        methods = getattr(route, "methods", None)
        if scope["type"] == "websocket":
            await send({"type": "websocket.close", "code": 4000 + len(name) % 100, "reason": name})
            return
        if methods and scope["method"] not in methods:
            status, headers = 405, {"Allow": ", ".join(sorted(methods))}
        else:
            status, headers = 200, {}
        params = sorted((key, str(value)) for key, value in scope.get("path_params", {}).items())
        body = f"{name} {getattr(route, 'path', '')} {params}"
        await PlainTextResponse(body, status_code=status, headers=headers)(scope, receive, send)

    for kind in (APIRoute, Route, Mount, WebSocketRoute, Host):
        monkeypatch.setattr(kind, "handle", answer)


def _scope(path: str, method: str = "GET", kind: str = "http") -> Scope:
    return {
        "type": kind,
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": method,
        "scheme": "http" if kind == "http" else "ws",
        "path": path,
        "raw_path": path.encode(),
        "root_path": "",
        "query_string": b"",
        "headers": [(b"host", b"testserver")],
        "client": ("127.0.0.1", 1),
        "server": ("testserver", 80),
    }


async def _answer(app: Any, scope: Scope) -> Answer:
    messages: list[dict[str, Any]] = []

    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message: dict[str, Any]) -> None:
        messages.append(message)

    await app(scope, receive, send)
    start = messages[0]
    if start["type"] == "websocket.close":
        return ("closed", start.get("code"), start.get("reason"))
    headers = {k.decode().lower(): v.decode() for k, v in start.get("headers", [])}
    body = b"".join(m.get("body", b"") for m in messages[1:])
    return (start["status"], headers.get("allow"), headers.get("location"), body.decode())


def _both_for_each(app: FastAPI, scopes: list[Scope]) -> list[tuple[Answer, Answer]]:
    """(plain router's answer, segment dispatch's answer) for each request."""
    router = app.router
    dispatcher = router.middleware_stack
    assert isinstance(dispatcher, SegmentDispatch)

    async def plain(scope: Scope, receive: Receive, send: Send) -> None:
        await APIRouter.app(router, scope, receive, send)

    async def each() -> list[tuple[Answer, Answer]]:
        return [(await _answer(plain, dict(scope)), await _answer(dispatcher, dict(scope))) for scope in scopes]

    return run_loop(each())


def _both(app: FastAPI, scope: Scope) -> tuple[Answer, Answer]:
    return _both_for_each(app, [scope])[0]


def concrete_path(template: str) -> str:
    return PARAMETER.sub(lambda m: SAMPLE[m.group(2) or "str"], template)


def _requests_for(paths_and_methods: list[tuple[str, set[str]]]) -> Iterator[Scope]:
    for path, methods in paths_and_methods:
        variants = {path, path + "/", path.rstrip("/") or "/"}
        for variant in sorted(variants):
            for method in sorted(methods | {"GET", "PATCH"}):
                yield _scope(variant, method)


def _templates(app: FastAPI) -> list[tuple[str, set[str]]]:
    found = []
    for context in iter_route_contexts(app.routes):
        path = context.path
        if path is None:
            continue
        if isinstance(context.original_route, Mount):
            path += "/css/app.css"
        found.append((concrete_path(path), set(context.methods or {"GET"})))
    return found


def test_literal_segments_stop_at_the_first_parameter():
    assert literal_segments("/api/v1/claims/{number}/events") == ("api", "v1", "claims")
    assert literal_segments("/files/report-{day}.csv") == ("files",)
    assert literal_segments("/{code}") is None and literal_segments("{tenant}.example.com") is None
    assert literal_segments("/") == ("",) and literal_segments("/kb/") == ("kb", "")


def test_every_route_of_the_app_is_chosen_as_by_the_plain_router(chosen_route_answers):
    app = shared_app()
    templates = _templates(app)
    assert len(templates) > 300
    unknown = ["/", "//", "/nope", "/api", "/api/v1", "/api/v1/nope/7", "/static", "/healthz/x", "/kb/x9/y/z"]
    requests = list(_requests_for(templates + [(path, {"GET", "POST"}) for path in unknown]))
    statuses: dict[int, int] = {}
    for scope, (plain, segmented) in zip(requests, _both_for_each(app, requests), strict=True):
        assert segmented == plain, (scope["method"], scope["path"])
        statuses[int(plain[0])] = statuses.get(int(plain[0]), 0) + 1
    # The comparison covered chosen routes, 405s, redirects and 404s, not only one kind of answer.
    assert {200, 405, 307, 404} <= set(statuses), statuses
    plain, segmented = _both(app, _scope("/healthz", kind="websocket"))
    assert segmented == plain


def test_a_request_is_matched_against_only_the_routes_its_path_can_match():
    app = shared_app()
    dispatcher = app.router.middleware_stack
    assert isinstance(dispatcher, SegmentDispatch)
    table = dispatcher.table()
    everything = sum(1 for _ in iter_route_contexts(app.routes))
    node = table.deepest("/api/v1/lookup")
    candidates = sum(1 for _ in iter_route_contexts(table.router_for(node, node).routes))
    assert everything > 300 and 0 < candidates < 20


def _small_app() -> FastAPI:
    """Orders that only registration order decides: a parameter first segment before fixed paths, a nested router,
    a method-only match before a full one, a mount, a host and a websocket."""
    app = FastAPI()
    inner = APIRouter(prefix="/inner")

    @inner.get("/{item_id:int}")
    def inner_item(item_id: int) -> int:
        return item_id

    @inner.post("/fixed")
    def inner_fixed_post() -> str:
        return "post"

    outer = APIRouter(prefix="/outer")
    outer.include_router(inner)

    @outer.get("/x/")
    def outer_slash() -> str:
        return "slash"

    @app.put("/things/{name}")
    def things_put(name: str) -> str:
        return name

    @app.get("/{code}")
    def any_code(code: str) -> str:
        return code

    @app.get("/things/{name}")
    def things_get(name: str) -> str:
        return name

    app.include_router(outer)

    @app.get("/outer/inner/fixed")
    def outer_fixed_get() -> str:
        return "get"

    @app.websocket("/ws/{room}")
    async def room(websocket: WebSocket, room: str) -> None:
        await websocket.close()

    app.router.routes.append(Host("api.example.com", app=PlainTextResponse("host")))
    app.mount("/files", PlainTextResponse("files"))
    dispatch.install(app)
    return app


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("GET", "/x9"),
        ("GET", "/things"),  # /{code} first, though /things/{name} exists
        ("GET", "/things/a"),  # PUT /things/{name} is only a method match: the later GET wins
        ("DELETE", "/things/a"),  # 405 with PUT, GET
        ("GET", "/outer/inner/7"),
        ("GET", "/outer/inner/7/"),  # redirect without the slash
        ("GET", "/outer/x"),  # redirect to /outer/x/
        ("GET", "/outer/inner/fixed"),  # the nested POST matches the path first; the later GET wins
        ("PUT", "/outer/inner/fixed"),  # 405 from the first method-only match (the nested POST)
        ("GET", "/files/a.txt"),
        ("GET", "/files"),
        ("GET", "/outer/nothing/here"),
        ("GET", "/"),
    ],
)
def test_a_small_app_with_tricky_orders_answers_as_the_plain_router(chosen_route_answers, method, path):
    plain, segmented = _both(_small_app(), _scope(path, method))
    assert segmented == plain


def test_websocket_routes_are_dispatched_too(chosen_route_answers):
    plain, segmented = _both(_small_app(), _scope("/ws/r1", kind="websocket"))
    assert segmented == plain and plain[0] == "closed" and "room" in str(plain[2])


def test_routes_included_after_the_first_request_are_found(chosen_route_answers):
    app = _small_app()
    assert _both(app, _scope("/later/one"))[1][0] == 404  # /{code} takes one segment only
    later = APIRouter()

    @later.get("/later/one")
    def later_one() -> str:
        return "later"

    app.include_router(later)
    plain, segmented = _both(app, _scope("/later/one"))
    assert segmented == plain and "later_one" in str(plain[3])


def test_a_new_apps_first_request_builds_only_the_branches_its_path_can_reach(chosen_route_answers):
    """FastAPI builds an included router's routes (dependencies, models: ~2.5 ms a route) on first use; the
    dispatch table is made from the routes' paths alone, so a request builds the branches it may match only."""
    app = create_app()
    branches = [route for route in app.router.routes if isinstance(route, _IncludedRouter)]
    assert len(branches) > 20
    walk = ("api", "v1", "claims")
    run_loop(_answer(app.router.middleware_stack, _scope("/" + "/".join(walk))))
    built = [branch for branch in branches if branch._effective_candidates_version is not None]
    reachable = [
        branch
        for branch in branches
        if any(literal is None or walk[: len(literal)] == literal for literal in dispatch._branch_literals(branch))
    ]
    assert built and built == reachable and len(reachable) < len(branches) / 4
