from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

from claimwatch.config import get_settings
from tests.apps import shared_app
from tests.notify.receivers import SmtpReceiver, WebhookReceiver

WEBHOOK_SECRET = "test-webhook-secret"


# One SMTP and one webhook receiver per worker, emptied before each test. A receiver per test had its own port,
# so the settings (and with them tests.apps.shared_app's key) changed every test: each test built a new app and
# paid for FastAPI's route build (about 1 s of CPU) on its first request.
@pytest.fixture(scope="session")
def _smtp_server() -> Iterator[SmtpReceiver]:
    server = SmtpReceiver().start()
    yield server
    server.stop()


@pytest.fixture(scope="session")
def _webhook_server() -> Iterator[WebhookReceiver]:
    server = WebhookReceiver(WEBHOOK_SECRET).start()
    yield server
    server.stop()


@pytest.fixture
def smtp(_smtp_server: SmtpReceiver) -> SmtpReceiver:
    return _smtp_server.reset()


@pytest.fixture
def webhook(_webhook_server: WebhookReceiver) -> WebhookReceiver:
    return _webhook_server.reset()


@pytest.fixture(autouse=True)
def notify_settings(monkeypatch: pytest.MonkeyPatch, smtp: SmtpReceiver, webhook: WebhookReceiver) -> Iterator[None]:
    monkeypatch.setenv("CLAIMWATCH_SMTP_HOST", "127.0.0.1")
    monkeypatch.setenv("CLAIMWATCH_SMTP_PORT", str(smtp.port))
    monkeypatch.setenv("CLAIMWATCH_SMTP_FROM", "理赔服务 <claims@insurer.example>")
    monkeypatch.setenv("CLAIMWATCH_NOTIFY_WEBHOOK_URL", webhook.url)
    monkeypatch.setenv("CLAIMWATCH_NOTIFY_WEBHOOK_SECRET", WEBHOOK_SECRET)
    monkeypatch.setenv("CLAIMWATCH_NOTIFY_BACKOFF_BASE_SECONDS", "60")
    monkeypatch.setenv("CLAIMWATCH_NOTIFY_MAX_ATTEMPTS", "3")
    monkeypatch.setenv("CLAIMWATCH_PUBLIC_BASE_URL", "https://claims.example.cn")
    get_settings.cache_clear()
    yield
    get_settings.cache_clear()


@pytest.fixture
def client(database) -> TestClient:  # type: ignore[no-untyped-def]
    return TestClient(shared_app())
