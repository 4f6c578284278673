"""Settings of the operations layer (prefix CLAIMWATCH_, the same .env file as every other setting)."""

from __future__ import annotations

from functools import lru_cache

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class OpsSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="CLAIMWATCH_", env_file=".env", extra="ignore")

    # /metrics: with a token, only requests with "Authorization: Bearer <token>" get it; without one it
    # answers 404 unless metrics_public is true (a scraper on a private network). metrics_port: serve the
    # metrics, without a token, on this port of their own (`claimwatch run --metrics-port` sets it).
    metrics_token: str | None = None
    metrics_public: bool = False
    metrics_port: int | None = Field(default=None, ge=1, le=65535)
    metrics_host: str = "127.0.0.1"
    # Log lines: "json" (one JSON object a line, the default) or "console" (readable, for a terminal).
    log_format: str = Field(default="json", pattern="^(json|console)$")
    # The web app freezes the heap it starts with out of the garbage collector's sight (claimwatch.ops.web.lifespan):
    # a serving process's full collections then skip it. False for processes that start the app's lifespan again and
    # again (the test suite: each start collects the whole heap first).
    gc_freeze: bool = True


@lru_cache
def ops_settings() -> OpsSettings:
    return OpsSettings()
