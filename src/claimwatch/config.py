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
    checklists_dir: Path = PACKAGE_DIR / "defaults" / "checklists"
    extra_checklists_dir: Path | None = None
    documents_dir: Path = Path("documents")
    max_document_bytes: int = Field(default=20 * 1024 * 1024, ge=1)
    # The national working-day calendar is shared by every insurer: only admins of this tenant
    # (the platform operator) may load a year through the API. Unset: the CLI only.
    platform_tenant: str | None = None
    policies_dir: Path = PACKAGE_DIR / "defaults" / "policies"
    # Per-tenant SLA overrides: <dir>/<TENANT_CODE>.yaml
    policy_overrides_dir: Path | None = None
    # The SLA sweep: seconds between passes of `claimwatch worker`, and clocks handled per transaction.
    sweep_interval_seconds: float = Field(default=30.0, gt=0)
    sweep_batch_size: int = Field(default=5000, ge=1)
    max_batch_events: int = Field(default=1000, ge=1)
    audit_checkpoint_every: int = Field(default=1000, ge=1)
    default_timezone: str = "Asia/Shanghai"
    default_locale: str = "zh"
    session_cookie_secure: bool = False
    log_level: str = "INFO"


@lru_cache
def get_settings() -> Settings:
    return Settings()
