"""Which third party a complaint is about (``complaints.provider_id``): complaints sit below the providers
domain and never import it, so the providers domain registers how a provider code is resolved
(``claimwatch.providers.complaint_link``, wired by one line in :mod:`claimwatch.subject_sources`, loaded by name
here on first use). Without a resolver no code is known.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable

from sqlalchemy.orm import Session

WIRING = "claimwatch.subject_sources"
# (session, provider code) -> the provider's id at the session's insurer, or None when it has none by that code.
Resolver = Callable[[Session, str], int | None]
_resolvers: list[Resolver] = []


def register(resolver: Resolver) -> None:
    _resolvers[:] = [resolver]


def resolve(session: Session, code: str) -> int | None:
    if not _resolvers:
        importlib.import_module(WIRING)
    return _resolvers[0](session, code) if _resolvers else None
