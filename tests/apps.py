"""One app per worker and configuration, shared by the tests.

FastAPI builds an included router's routes (their dependants and models) lazily, per app, on the requests that
first walk past them: about 0.1 s of CPU for each new app, some 7 % of the suite's CPU when every test made its
own. The app holds no state of its own (the database is configured globally by ``claimwatch.db.configure``;
sessions live in cookies and tables), so tests share it as long as the settings it was built from are unchanged.
A test that adds routes or middleware to an app builds its own with ``create_app()``.
"""

from __future__ import annotations

from functools import cache

from fastapi import FastAPI

from claimwatch.app import create_app
from claimwatch.config import get_settings
from claimwatch.heartbeat.settings import heartbeat_settings
from claimwatch.ops.settings import ops_settings


def shared_app() -> FastAPI:
    """The app for the current settings (built on first use)."""
    key = (
        get_settings().model_dump_json(),
        ops_settings().model_dump_json(),
        heartbeat_settings().model_dump_json(),
    )
    return _app_for(key)


@cache
def _app_for(settings_key: tuple[str, ...]) -> FastAPI:
    return create_app()
