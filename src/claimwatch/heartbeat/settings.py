"""The heartbeat's one setting, read like every other (prefix CLAIMWATCH_, the same .env file)."""

from __future__ import annotations

from functools import lru_cache

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class HeartbeatSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="CLAIMWATCH_", env_file=".env", extra="ignore")

    # A pass kind is stale when its last successful pass is older than this, or than three times the pass's
    # own interval when that is longer (the KPI snapshot every 15 minutes: 45 minutes).
    heartbeat_stale_seconds: float = Field(default=300.0, gt=0)


@lru_cache
def heartbeat_settings() -> HeartbeatSettings:
    return HeartbeatSettings()
