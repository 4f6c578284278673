"""The routes a request is matched against first: the probes, then the claimant lookup (app.py says why)."""

from __future__ import annotations

from starlette.routing import Route

from tests.apps import shared_app


def _paths(routes: list[object]) -> list[str]:
    found: list[str] = []
    for route in routes:
        path = getattr(route, "path", None)
        # FastAPI keeps an included router whole (its routes carry their full paths).
        inner = getattr(route, "routes", None) or getattr(getattr(route, "original_router", None), "routes", None)
        if isinstance(route, Route) and path is not None:
            found.append(path)
        elif inner is not None:
            found.extend(_paths(list(inner)))
    return found


def test_probes_then_the_lookup_are_matched_first():
    paths = _paths(list(shared_app().routes))
    # Only FastAPI's own documents and /metrics (added when the app is made) come before the probes.
    assert {"/healthz", "/readyz"} <= set(paths[:8])
    assert paths.index("/readyz") == paths.index("/healthz") + 1
    assert paths.index("/readyz") < min(i for i, path in enumerate(paths) if path.startswith("/api/"))
    lookup = [i for i, path in enumerate(paths) if path.startswith("/api/v1/lookup")]
    others = [i for i, path in enumerate(paths) if path.startswith("/api/") and not path.startswith("/api/v1/lookup")]
    assert lookup and others and max(lookup) < min(others)
    assert len(paths) > 300  # what makes the order matter: every earlier route is tried first
