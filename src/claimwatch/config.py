"""Settings from environment variables (prefix CLAIMWATCH_), with defaults that run out of the box."""

from functools import lru_cache
from pathlib import Path

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

PACKAGE_DIR = Path(__file__).resolve().parent


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="CLAIMWATCH_", env_file=".env", extra="ignore")

    database_url: str = "sqlite:///./claimwatch.db"
    # Derives the keys for field encryption, session cookies and audit seals. Set a long random
    # value in production; the default only suits the demo.
    secret_key: str = "claimwatch-demo-secret-change-me"
    workflows_dir: Path = PACKAGE_DIR / "defaults" / "workflows"
    extra_workflows_dir: Path | None = None
    max_batch_events: int = Field(default=1000, ge=1)
    audit_checkpoint_every: int = Field(default=1000, ge=1)
    default_timezone: str = "Asia/Shanghai"
    default_locale: str = "zh"
    session_cookie_secure: bool = False
    log_level: str = "INFO"


@lru_cache
def get_settings() -> Settings:
    return Settings()
