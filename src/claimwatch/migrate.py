"""Runs Alembic programmatically, so `claimwatch db upgrade` works wherever the package is installed."""

from __future__ import annotations

from alembic import command
from alembic.config import Config

from claimwatch.config import PACKAGE_DIR, get_settings


def alembic_config(url: str | None = None) -> Config:
    config = Config()
    config.set_main_option("script_location", str(PACKAGE_DIR / "migrations"))
    config.set_main_option("sqlalchemy.url", url or get_settings().database_url)
    return config


def upgrade(url: str | None = None, revision: str = "head") -> None:
    command.upgrade(alembic_config(url), revision)


def downgrade(url: str | None = None, revision: str = "base") -> None:
    command.downgrade(alembic_config(url), revision)
