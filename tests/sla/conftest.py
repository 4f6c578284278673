import pytest
from fastapi.testclient import TestClient

from claimwatch.app import create_app


@pytest.fixture
def client(database) -> TestClient:
    return TestClient(create_app())
