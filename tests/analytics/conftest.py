import os

import pytest
from fastapi.testclient import TestClient

from claimwatch.app import create_app

os.environ.setdefault("PM4PY_SHOW_PROGRESS_BAR", "False")


@pytest.fixture
def client(database) -> TestClient:
    return TestClient(create_app())
