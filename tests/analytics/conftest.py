import os

import pytest
from fastapi.testclient import TestClient

from tests.apps import shared_app

os.environ.setdefault("PM4PY_SHOW_PROGRESS_BAR", "False")


@pytest.fixture
def client(database) -> TestClient:
    return TestClient(shared_app())
