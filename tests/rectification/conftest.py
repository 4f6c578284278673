from __future__ import annotations

import pytest

from tests.rectification.helpers import Office


@pytest.fixture
def office(world) -> Office:
    return Office.create(world)
