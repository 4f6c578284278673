from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from claimwatch.app import create_app
from tests.complaints.helpers import Desk


@pytest.fixture
def client(database) -> TestClient:
    return TestClient(create_app())


@pytest.fixture
def desk(world) -> Desk:
    """A tenant with a complaint handler, a supervisor, an adjuster and a quality manager."""
    return Desk.create(world, "ACME")
