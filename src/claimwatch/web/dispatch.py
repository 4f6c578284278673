"""Route dispatch on the path's literal segments: a request is matched only against the routes that can match it.

FastAPI (0.165) tries the app's ~580 routes in registration order, about 5 µs each through its included routers,
so every request paid for all the routes registered before its own. A route can only match a path whose first
segments equal the literal segments its template starts with (``/api/v1/claims/{number}`` needs ``api``, ``v1``,
``claims``); a template that starts with a parameter can match any path. So the routes are put once in a tree
of literal segments, and a request walks the tree by its own segments: the routes it can match are those whose
literal segments lie on its walk, still in registration order.

The matching itself is not rewritten. For each walk the router is copied with only those routes (an included
router as a copy with only its own candidates kept), and FastAPI's own ``APIRouter.app`` runs on that copy:
first full match wins, a method-only match answers 405 with its Allow header, the trailing-slash redirect, the
mounts, the websockets and the low-priority routes behave as before. The redirect looks at the path with or
without its trailing slash, so the copy also holds the routes that path can match. A request under a root path
(``scope["root_path"]``) takes the plain router. Routes added after the table was built (``include_router``
on the app) rebuild it on the next request.

The tree is made from the routes' path templates alone. FastAPI builds an included router's routes (each
endpoint's dependencies and models, ~2.5 ms a route) the first time a request walks past them; a copy builds only
the branches that hold a route its walk can match, so a new app's first request costs 15 ms, not 1.5 s (every
worker process, and every test that makes its own app, pays it).
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Sequence
from typing import Any

from fastapi import FastAPI
from fastapi.routing import (
    APIRouter,
    _EffectiveRouteContext,
    _FrontendRouteGroup,
    _IncludedRouter,
    _RouterIncludeContext,
)
from starlette.routing import BaseRoute, Host, Mount, Route, WebSocketRoute
from starlette.types import Receive, Scope, Send

Literal = tuple[str, ...] | None  # a route's leading literal segments; None: it can match any path
Candidate = BaseRoute | _EffectiveRouteContext


def install(app: FastAPI) -> None:
    """Dispatch the app's requests by path segments. Call after every route is added (later ones still work)."""
    router = app.router
    # The router calls its middleware_stack, which is its plain ``app`` unless router-level middleware or a
    # body limit wraps it; replacing a wrapped stack would drop that wrapper.
    if router.middleware_stack != router.app:
        raise RuntimeError("the app's router has its own middleware; segment dispatch would drop it")
    router.middleware_stack = SegmentDispatch(router)


def literal_segments(path: str) -> Literal:
    """The segments a path template starts with that have no parameter: what a matching path must start with."""
    if not path.startswith("/"):
        return None  # a host pattern
    found: list[str] = []
    for segment in path[1:].split("/"):
        if "{" in segment:
            break
        found.append(segment)
    return tuple(found) or None


def _literal(candidate: Candidate) -> Literal:
    if isinstance(candidate, _EffectiveRouteContext):
        if isinstance(candidate.original_route, _FrontendRouteGroup):
            return None
        if candidate.starlette_route is None:
            return literal_segments(candidate.path)  # a FastAPI route with its router's prefix
        candidate = candidate.starlette_route
    if isinstance(candidate, Host):
        return None
    if isinstance(candidate, Route | WebSocketRoute | Mount):
        return literal_segments(candidate.path)
    return None  # a route of a kind not known here is tried for every path


class _KeptBranch(_IncludedRouter):
    """An included router that offers only some of its candidates (the rest cannot match the request's path)."""

    def __init__(self, branch: _IncludedRouter, kept: list[Any]) -> None:
        super().__init__(original_router=branch.original_router, include_context=branch.include_context)
        self._kept = kept

    def effective_candidates(self) -> list[Any]:
        return self._kept


def _original_literal(route: BaseRoute, prefix: str) -> Literal:
    """What :func:`_literal` gives for the candidate FastAPI builds from ``route`` under ``prefix``, without
    building it: an APIRoute's candidate analyses the endpoint's dependencies and models (~2.5 ms each, 1.5 s for
    the app's routes), which only the routes a request can reach need."""
    if isinstance(route, _FrontendRouteGroup | Host):
        return None
    if isinstance(route, Mount):
        return literal_segments((prefix + route.path).rstrip("/"))
    if isinstance(route, Route | WebSocketRoute):
        return literal_segments(prefix + route.path)
    return None


def _branch_literals(branch: _IncludedRouter) -> list[Literal]:
    """The literals of every route an included router offers, nested ones included, from the routes' paths."""
    return _routes_literals(branch.original_router.routes, branch.include_context)


def _routes_literals(routes: Sequence[BaseRoute], context: _RouterIncludeContext) -> list[Literal]:
    found: list[Literal] = []
    for route in routes:
        if isinstance(route, _IncludedRouter):
            found.extend(_routes_literals(route.original_router.routes, context.combine(route.include_context)))
        else:
            found.append(_original_literal(route, context.prefix))
    return found


def _kept_routes(routes: Sequence[Any], keep: Callable[[Literal], bool]) -> list[Any]:
    kept: list[Any] = []
    for route in routes:
        if isinstance(route, _IncludedRouter):
            # A branch none of whose routes can match is left unbuilt (FastAPI builds a branch's candidates
            # all at once, on first use).
            if not any(keep(literal) for literal in _branch_literals(route)):
                continue
            inner = _kept_routes(route.effective_candidates(), keep)
            if inner:
                kept.append(_KeptBranch(route, inner))
        elif keep(_literal(route)):
            kept.append(route)
    return kept


def _leaf_literals(routes: Sequence[Any]) -> list[Literal]:
    found: list[Literal] = []
    for route in routes:
        if isinstance(route, _IncludedRouter):
            found.extend(_branch_literals(route))
        else:
            found.append(_literal(route))
    return found


class _Node:
    __slots__ = ("children", "number", "segments")

    def __init__(self, segments: tuple[str, ...], number: int) -> None:
        self.segments = segments
        self.number = number
        self.children: dict[str, _Node] = {}


class _Table:
    """The tree of the routes' literal segments and, per pair of tree nodes reached, the router copy to run."""

    def __init__(self, router: APIRouter) -> None:
        self.router = router
        self.root = _Node((), 0)
        nodes = 1
        for literal in _leaf_literals(router.routes):
            node = self.root
            for segment in literal or ():
                child = node.children.get(segment)
                if child is None:
                    child = node.children[segment] = _Node((*node.segments, segment), nodes)
                    nodes += 1
                node = child
        self.copies: dict[tuple[int, int], APIRouter] = {}

    def deepest(self, route_path: str) -> _Node:
        node = self.root
        for segment in route_path[1:].split("/"):
            child = node.children.get(segment)
            if child is None:
                break
            node = child
        return node

    def router_for(self, path_node: _Node, redirect_node: _Node) -> APIRouter:
        key = (path_node.number, redirect_node.number)
        found = self.copies.get(key)
        if found is None:
            found = self.copies[key] = self._copy(path_node.segments, redirect_node.segments)
        return found

    def _copy(self, *walks: tuple[str, ...]) -> APIRouter:
        def keep(literal: Literal) -> bool:
            return literal is None or any(walk[: len(literal)] == literal for walk in walks)

        kept = copy.copy(self.router)
        kept.routes = _kept_routes(self.router.routes, keep)
        # Frontend routes are tried when nothing else matched, over all of the router's branches.
        kept._match_low_priority = self.router._match_low_priority  # type: ignore[method-assign]
        return kept


class SegmentDispatch:
    """The router's entry point: finds the routes the path can match, then runs FastAPI's matching on them."""

    def __init__(self, router: APIRouter) -> None:
        self.router = router
        self._table: _Table | None = None
        self._built_for: tuple[int, int] = (-1, -1)

    def table(self) -> _Table:
        router = self.router
        # include_router and the route decorators on the app bump the version; mount() only grows the list.
        state = (router._routes_version, len(router.routes))
        if self._table is None or state != self._built_for:
            self._table = _Table(router)
            self._built_for = state
        return self._table

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        router = self.router
        path = scope.get("path", "")
        if scope["type"] == "lifespan" or scope.get("root_path") or not path.startswith("/"):
            await router.app(scope, receive, send)
            return
        table = self.table()
        path_node = table.deepest(path)
        redirect_node = path_node
        if scope["type"] == "http" and router.redirect_slashes and path != "/":
            redirect_node = table.deepest(path.rstrip("/") if path.endswith("/") else path + "/")
        if "router" not in scope:
            scope["router"] = router  # url_for must see every route, not the copy's
        await APIRouter.app(table.router_for(path_node, redirect_node), scope, receive, send)
