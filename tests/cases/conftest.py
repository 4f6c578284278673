import pytest
from fastapi.testclient import TestClient

from tests.apps import shared_app


@pytest.fixture
def client(database) -> TestClient:
    return TestClient(shared_app())


@pytest.fixture
def world_tenant(world) -> int:
    return world.tenant().id
