from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from tests.apps import shared_app
from tests.complaints.helpers import Desk


@pytest.fixture
def client(database) -> TestClient:
    return TestClient(shared_app())


@pytest.fixture
def desk(world) -> Desk:
    """A tenant with a complaint handler, a supervisor, an adjuster and a quality manager."""
    return Desk.create(world, "ACME")
