"""``asyncio.run`` for tests, in a thread of its own: once a worker has started its Chromium (tests/conftest.py
``chromium``), Playwright's event loop counts as running in the main thread, and ``asyncio.run`` there refuses."""

from __future__ import annotations

import asyncio
from collections.abc import Coroutine
from concurrent.futures import ThreadPoolExecutor
from typing import Any, TypeVar

T = TypeVar("T")


def run(coroutine: Coroutine[Any, Any, T]) -> T:
    with ThreadPoolExecutor(1) as pool:
        return pool.submit(asyncio.run, coroutine).result()
