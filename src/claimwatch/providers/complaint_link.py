"""Resolves the provider a complaint names (``provider_code`` on the complaint intake API, form and CSV) for
the complaints domain, which cannot import this one: registered with :mod:`claimwatch.complaints.provider_link`
at import, wired in :mod:`claimwatch.subject_sources`. The scorecards count these complaints per month."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from claimwatch.complaints import provider_link
from claimwatch.providers.models import Provider


def provider_id_of(session: Session, code: str) -> int | None:
    """The provider with this code at the session's insurer (tenant scoping adds the insurer)."""
    return session.scalars(select(Provider.id).where(Provider.code == code.strip()).limit(2)).first()


provider_link.register(provider_id_of)
