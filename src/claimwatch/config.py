"""Settings from environment variables (prefix CLAIMWATCH_), with defaults that run out of the box."""

from functools import lru_cache
from pathlib import Path
from typing import Literal, Self

from pydantic import Field, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

PACKAGE_DIR = Path(__file__).resolve().parent


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="CLAIMWATCH_", env_file=".env", extra="ignore")

    database_url: str = "sqlite:///./claimwatch.db"
    # SQLite's PRAGMA synchronous. FULL: a commit is on disk before it is acknowledged, across a power cut too.
    # OFF suits only a throwaway database (the test suite's, like its PostgreSQL cluster's fsync=off): a killed
    # process still loses no commit, a power cut may.
    sqlite_synchronous: Literal["FULL", "NORMAL", "OFF"] = "FULL"
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
    # Claimant self-service lookup (/lookup): failures per claim number and per client address within
    # the window before a lock, the lock, the signed session's lifetime, and the SMS one-time codes.
    lookup_max_failures: int = Field(default=5, ge=1)
    lookup_ip_max_failures: int = Field(default=20, ge=1)
    lookup_failure_window_seconds: int = Field(default=900, ge=1)
    lookup_lockout_seconds: int = Field(default=900, ge=1)
    lookup_session_seconds: int = Field(default=900, ge=30)
    lookup_otp_ttl_seconds: int = Field(default=600, ge=60)
    lookup_otp_max_attempts: int = Field(default=5, ge=1)
    lookup_otp_max_sends: int = Field(default=3, ge=1)  # per claim number per window
    lookup_otp_ip_max_sends: int = Field(default=10, ge=1)  # per client address per window
    # Virus scan of claimant uploads before they are stored: a command run with the file's path as its
    # last argument (exit 0 = clean, anything else = refused, e.g. "clamdscan --no-summary --fdpass"),
    # and/or a plug-in "package.module:function" called with the path that raises UploadRejected.
    upload_scan_command: str | None = None
    upload_scan_hook: str | None = None
    upload_scan_timeout_seconds: float = Field(default=60.0, gt=0)
    audit_checkpoint_every: int = Field(default=1000, ge=1)
    # PostgreSQL: the monthly partitions of the big append-only tables are made this many months ahead
    # (claimwatch.ops.partitions).
    partition_months_ahead: int = Field(default=3, ge=1, le=24)
    # How far back ingestion looks for an event id already used (None: ever). On PostgreSQL a window keeps the
    # look-up on the recent monthly partitions; an id first used before it is then taken as new.
    event_id_window_days: int | None = Field(default=None, ge=1)
    # PostgreSQL: case-event batches of one tenant are written concurrently (sequence blocks, linked later);
    # false: every batch takes the chain head FOR UPDATE, one at a time (SQLite always does).
    audit_concurrent_ingest: bool = True
    default_timezone: str = "Asia/Shanghai"
    default_locale: str = "zh"
    session_cookie_secure: bool = False
    # Claimant notifications (the outbox). Email over SMTP; an empty host leaves email messages failing.
    smtp_host: str = ""
    smtp_port: int = Field(default=25, ge=1, le=65535)
    smtp_user: str | None = None
    smtp_password: str | None = None
    smtp_starttls: bool = False
    smtp_from: str = "claimwatch <noreply@claimwatch.invalid>"
    smtp_timeout_seconds: float = Field(default=10.0, gt=0)
    # Signed webhooks (HMAC-SHA256 over "timestamp.body"): the insurer's own app or message hub.
    notify_webhook_url: str | None = None
    notify_webhook_secret: str = ""
    # SMS and WeChat template messages: provider "log" (default: log line, phone masked) or "http"
    # (POST JSON to the gateway URL with a bearer token).
    sms_provider: str = "log"
    sms_gateway_url: str | None = None
    sms_gateway_token: str | None = None
    wechat_provider: str = "log"
    wechat_gateway_url: str | None = None
    wechat_gateway_token: str | None = None
    notify_timeout_seconds: float = Field(default=10.0, gt=0)
    # Retries: attempt n failing waits backoff_base * 2**(n-1) seconds (capped); after the last, dead.
    notify_max_attempts: int = Field(default=6, ge=1)
    notify_backoff_base_seconds: float = Field(default=60.0, ge=0)
    notify_backoff_max_seconds: float = Field(default=6 * 3600.0, ge=0)
    # A claimed message is invisible to other workers this long; a worker that dies mid-send lets
    # it reappear after the lease (and the redelivery carries the same idempotency key).
    notify_lease_seconds: float = Field(default=120.0, gt=0)
    notify_batch_size: int = Field(default=200, ge=1)
    # Staff notices (escalations, complaint and quality alerts): the delivery pass routes up to this many
    # queued notices per transaction to their users' inboxes, e-mail and group robots, and sends each
    # user who chose the daily digest one e-mail per local day at or after this local hour (0-23).
    staff_route_batch: int = Field(default=500, ge=1)
    staff_digest_hour: int = Field(default=8, ge=0, le=23)
    # Where claimants look their claim up (acknowledgement messages link to <url>/lookup).
    public_base_url: str = "http://127.0.0.1:8000"
    # KPIs (指标) and statistical alerts: the catalogue, the Parquet snapshot DuckDB reads (refreshed by the
    # worker every kpi_refresh_seconds; 0 turns that pass off), and the p-chart limits (minimum count,
    # sigmas, months evaluated back from the current one).
    kpi_catalogue: Path = PACKAGE_DIR / "defaults" / "kpis.yaml"
    snapshot_dir: Path = Path("var/snapshot")
    kpi_refresh_seconds: float = Field(default=900.0, ge=0)
    alert_min_count: int = Field(default=30, ge=1)
    alert_sigma: float = Field(default=3.0, gt=0)
    alert_lookback_months: int = Field(default=2, ge=1, le=24)
    # Complaints: an earlier complaint of the same customer (or on the same claim) in the same category
    # received within this many days makes a new one a repeat (重复投诉), linked to the most recent.
    complaints_repeat_window_days: int = Field(default=90, ge=1, le=3650)
    # Satisfaction surveys (回访): sent this many hours after a claim or complaint closes (a closure
    # undone within the delay, e.g. reopened at once, gets none), answerable for survey_valid_days.
    # Rejected claims get one too unless turned off: their service (timeliness, transparency of the
    # reasons, attitude) is rated like any other, and leaving them out would hide unfair denials.
    survey_delay_hours: float = Field(default=2.0, ge=0)
    survey_valid_days: int = Field(default=30, ge=1, le=365)
    survey_rejected_claims: bool = True
    # The worker looks for closed claims and complaints to survey at most this often (a scan of the
    # lookback window, so not on every 30-second pass).
    survey_issue_interval_seconds: float = Field(default=600.0, ge=0)
    log_level: str = "INFO"
    # Security (sign-in, sessions, docs). Failed sign-ins per account and per client address within the
    # window before a lock; the lock. A session ends after session_idle_seconds without a request and
    # session_max_seconds after sign-in, whichever comes first; signing out or a password change ends it
    # at once. public_docs=false serves /docs and /openapi.json to signed-in users and API keys only.
    login_max_failures: int = Field(default=5, ge=1)
    login_ip_max_failures: int = Field(default=20, ge=1)
    login_failure_window_seconds: int = Field(default=900, ge=1)
    login_lockout_seconds: int = Field(default=900, ge=1)
    session_idle_seconds: int = Field(default=8 * 3600, ge=60)
    session_max_seconds: int = Field(default=24 * 3600, ge=60)
    public_docs: bool = True
    # Reverse proxies whose X-Forwarded-For and X-Forwarded-Proto are believed (comma-separated addresses or
    # networks, "*" any): a request from one of them counts, in the sign-in and lookup rate limits and the
    # login record, as coming from the address the proxy saw. Any other peer is taken at its own address.
    trusted_proxies: str = "127.0.0.1"

    @model_validator(mode="after")
    def _secure_cookies_behind_https(self) -> Self:
        """Cookies are Secure whenever the public address is https (security)."""
        if self.public_base_url.lower().startswith("https://"):
            self.session_cookie_secure = True
        return self


@lru_cache
def get_settings() -> Settings:
    return Settings()


def tenant_override(subdir: str | Path, tenant_code: str | None) -> Path | None:
    """An insurer's own policy file, ``<policy_overrides_dir>/<subdir>/<TENANT_CODE>.yaml``, when that directory is
    set, the insurer is known and the file is there; else None, and the bundled defaults apply."""
    directory = get_settings().policy_overrides_dir
    if directory is None or not tenant_code:
        return None
    path = Path(directory) / subdir / f"{tenant_code}.yaml"
    return path if path.is_file() else None
