"""The app's lifespan freezes the heap it starts with, so full garbage collections while serving skip the
hundreds of thousands of objects that live as long as the process (the claimant lookup's p99 pauses), and
unfreezes it at shutdown."""

from __future__ import annotations

import gc

from claimwatch.ops.settings import ops_settings
from tests import loops
from tests.apps import shared_app


def test_the_app_serves_with_its_startup_heap_frozen_and_unfreezes_it_at_shutdown(monkeypatch) -> None:
    monkeypatch.setenv("CLAIMWATCH_GC_FREEZE", "true")  # the suite turns it off (tests/conftest.py)
    ops_settings.cache_clear()
    app = shared_app()

    async def serve() -> int:
        async with app.router.lifespan_context(app):
            return gc.get_freeze_count()

    assert gc.get_freeze_count() == 0
    frozen = loops.run(serve())
    assert frozen > 10_000  # every module, route and model of the app
    assert gc.get_freeze_count() == 0
    monkeypatch.setenv("CLAIMWATCH_GC_FREEZE", "false")
    ops_settings.cache_clear()
    assert loops.run(serve()) == 0  # off: nothing frozen
