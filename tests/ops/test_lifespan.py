"""The app's lifespan freezes the heap it starts with, so full garbage collections while serving skip the
hundreds of thousands of objects that live as long as the process (the claimant lookup's p99 pauses), and
unfreezes it at shutdown."""

from __future__ import annotations

import gc

from tests import loops
from tests.apps import shared_app


def test_the_app_serves_with_its_startup_heap_frozen_and_unfreezes_it_at_shutdown() -> None:
    app = shared_app()

    async def serve() -> int:
        async with app.router.lifespan_context(app):
            return gc.get_freeze_count()

    assert gc.get_freeze_count() == 0
    frozen = loops.run(serve())
    assert frozen > 10_000  # every module, route and model of the app
    assert gc.get_freeze_count() == 0
