"""A provider's API key reaches its own tasks and nothing else (issue 21, "a test for every endpoint").

Every route of the app, found from the app itself (a route added later is checked too), is called with an ACME
provider's key, its path filled with real values of ANOTHER insurer or another provider where the path names a
record (BBB's claim and task numbers, BBB's provider code, a task link signed for BBB). Then:

- a route that needs a permission answers 403 (never 200, never 401: the key is valid, it is just not allowed);
- a public route (the login page, the claimant's lookup, survey and task links, public disclosures, health)
  answers the key exactly as it answers a caller with no credentials: the key opens nothing;
- the provider's own API answers 404 for another provider's or another insurer's task, and a staff key gets 403.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from fastapi import FastAPI
from fastapi.routing import APIRoute
from starlette.routing import BaseRoute, Mount, Route

from claimwatch.db import TenantContext, unit_of_work
from claimwatch.providers import portal
from claimwatch.providers.models import ProviderTask
from tests.apps import shared_app
from tests.providers.portal_world import PortalWorld

OWN_API = "/api/v1/provider/tasks"
# Public routes: no credentials needed, so a provider's key gets what anyone gets (checked: same status as
# with no credentials at all). A path not listed here whose anonymous answer is not 401 (or a redirect to the
# sign-in page) fails the test: a new public route must be added here on purpose.
PUBLIC = re.compile(
    r"^/(healthz|readyz|metrics|openapi\.json|docs|docs/oauth2-redirect|redoc|login|logout|static)(/|$)"
    r"|^/$|^/lookup(/|$)|^/api/v1/lookup(/|$)|^/survey/|^/api/v1/public/|^/provider/tasks/|^/disclosure(/|$)"
    r"|^/whitelist$|^/api/v1/evidence/keys$|^/service/new$"
)


@dataclass(frozen=True)
class Endpoint:
    method: str
    path: str  # the route's template, e.g. /api/v1/claims/{number}


def _routes(routes: list[BaseRoute]) -> Iterator[tuple[str, set[str]]]:
    """Every route's path and methods, included routers too (whichever way this FastAPI version keeps them)."""
    for route in routes:
        if isinstance(route, Mount):
            continue
        if isinstance(route, APIRoute | Route):
            yield route.path, set(route.methods or ())
        elif hasattr(route, "effective_route_contexts"):
            for context in route.effective_route_contexts():
                yield context.path, set(context.methods or ())


def endpoints(app: FastAPI) -> list[Endpoint]:
    found = {Endpoint(method, path) for path, methods in _routes(app.routes) for method in methods - {"HEAD"}}
    return sorted(found, key=lambda e: (e.path, e.method))


def _values(pw: PortalWorld) -> dict[str, str]:
    """Real values of ANOTHER insurer (BBB) for the path parameters that name a record."""
    bbb_task = pw.tasks["bbb"]
    with unit_of_work(TenantContext.for_tenant(pw.bbb.id)) as session:
        task_id = session.query(ProviderTask.id).filter(ProviderTask.number == bbb_task).scalar()
    return {
        "number": bbb_task,
        "claim_number": pw.claims["BBB"],
        "code": "APP-1",
        "provider_code": "APP-1",
        "tenant_code": "BBB",
        "token": portal.token_for(pw.bbb.id, task_id),
        "month": "2026-11",
        "period": "2026-11",
        "quarter": "2026Q3",
        "username": "bbb.admin",
        "policy": "claims_total",
        "version": "1",
        "kind": "appraisal",
        "name": "x",
        "key": "x",
        "action": "accept",
        "line": "motor",
        "year": "2026",
    }


def fill(path: str, values: dict[str, str]) -> str:
    def one(match: re.Match[str]) -> str:
        name = match[1]
        if name.endswith("id") or name == "id":
            return "1"
        return values.get(name, "1")

    return re.sub(r"\{(\w+)(?::\w+)?\}", one, path)


def _call(pw: PortalWorld, method: str, url: str, headers: dict[str, str] | None) -> int:
    pw.client.cookies.clear()
    kwargs: dict[str, Any] = {"headers": headers or {}, "follow_redirects": False}
    if method in ("POST", "PUT", "PATCH"):
        kwargs["json"] = {}
    return pw.client.request(method, url, **kwargs).status_code


def test_a_provider_key_gets_403_on_every_route_but_its_own_tasks(portal_world: PortalWorld):
    pw = portal_world
    pw.send(pw.bbb, "APP-1", "bbb")
    other = pw.send(pw.acme, "APP-2", "other-provider")
    values = _values(pw)
    key = pw.headers("ACME:APP-1")
    found = endpoints(shared_app())
    assert len(found) > 250 and Endpoint("POST", f"{OWN_API}/{{number}}/report") in found  # the discovery works
    if not pw.world.url.startswith("sqlite"):
        # The sweep once (the suite's time budget): every refusal it checks is the permission gate, answered before
        # any query and the same on both databases; what reads the database (the provider filter) runs below.
        found = [e for e in found if e.path.startswith(OWN_API)]
    wrong: list[str] = []
    for endpoint in found:
        own = endpoint.path.startswith(OWN_API)
        # Its own API names a task of another provider at its own insurer (another insurer's tasks are not even
        # in its session: tests/providers/test_provider_api.py); every other route BBB's records.
        url = fill(endpoint.path, values | {"number": other} if own else values)
        status = _call(pw, endpoint.method, url, key)
        if own:
            expected = {200} if endpoint.path == OWN_API and endpoint.method == "GET" else {404, 422}
            if status not in expected:
                wrong.append(f"{endpoint.method} {endpoint.path} → {status} (expected {sorted(expected)})")
        elif status != 403 and not (
            PUBLIC.match(endpoint.path) and status in (_call(pw, endpoint.method, url, None), 404)
        ):
            # A public route may answer the key what it answers anyone (or refuse it); any other route: 403.
            wrong.append(f"{endpoint.method} {endpoint.path} → {status} (expected 403)")
    assert not wrong, "\n".join(wrong)
    # Its own API on another provider's task at its own insurer: 404 for every action, nothing changes.
    for method, suffix in (("GET", ""), ("POST", "/accept"), ("POST", "/decline"), ("POST", "/report")):
        body: dict[str, Any] = {"json": {"reason": "x"}} if suffix == "/decline" else {}
        if suffix == "/report":
            body = {"data": {"fields": '{"conclusion": "x", "amount_assessed": "1"}'}}
        response = pw.client.request(method, f"{OWN_API}/{other}{suffix}", headers=key, **body)
        assert response.status_code == 404, (suffix, response.text)
    # A staff key on the provider API: 403.
    assert _call(pw, "GET", OWN_API, {"X-API-Key": pw.acme.api_key}) == 403
    assert _call(pw, "POST", f"{OWN_API}/{other}/accept", {"X-API-Key": pw.acme.api_key}) == 403
