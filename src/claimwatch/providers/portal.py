"""The provider's signed task link (no account): ``/provider/tasks/{token}`` opens one task for its provider to
accept, decline or report on, like the survey and lookup links a claimant gets.

The token is stateless: ``pt1.<tenant id>.<task id>.<HMAC-SHA256>`` signed with a key derived from the app's
secret for this purpose only (``privacy.derive_key("provider-task-link")``), so no column holds it and a forged
or altered token matches no task. It names the insurer, so the page acts on that insurer's data only
(``TenantContext.anonymous``). It works until the task ends (closed, cancelled or declined) and for
:data:`LINK_DAYS` days after, so that the provider can still read what it sent; then it answers "expired".

No HTTP here: the pages are :mod:`claimwatch.providers.portal_pages`.
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import hmac
import re
from dataclasses import dataclass
from functools import lru_cache

from sqlalchemy import select
from sqlalchemy.orm import Session

from claimwatch.auth.models import Role
from claimwatch.auth.principal import Principal
from claimwatch.config import get_settings
from claimwatch.db import utc_now
from claimwatch.privacy import derive_key
from claimwatch.providers.models import Provider, ProviderTask

TOKEN_PREFIX = "pt1"
LINK_DAYS = 30  # after the task's end
_TOKEN_RE = re.compile(r"^pt1\.([1-9][0-9]{0,17})\.([1-9][0-9]{0,18})\.([A-Za-z0-9_-]{43})$")

# What a link is in: open (the task can be answered or read), expired, unknown (malformed, forged or no such task).
OPEN = "open"
EXPIRED = "expired"
UNKNOWN = "unknown"


@lru_cache
def _key() -> bytes:
    return derive_key("provider-task-link")


def _signature(payload: str) -> str:
    raw = hmac.new(_key(), payload.encode(), hashlib.sha256).digest()
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def token_for(tenant_id: int, task_id: int) -> str:
    payload = f"{TOKEN_PREFIX}.{tenant_id}.{task_id}"
    return f"{payload}.{_signature(payload)}"


def task_link(task: ProviderTask) -> str:
    """The link the provider's e-mail carries (the task must be flushed: it needs the task's id)."""
    if task.id is None:
        raise ValueError("task_link needs a flushed task (its id)")
    return f"{get_settings().public_base_url.rstrip('/')}/provider/tasks/{token_for(task.tenant_id, task.id)}"


@dataclass(frozen=True)
class LinkRef:
    """What a well-formed, correctly signed token names. Nothing is known about the task yet."""

    tenant_id: int
    task_id: int


def read_token(token: str) -> LinkRef | None:
    """The tenant and task a token names, or None when it is malformed or its signature is wrong."""
    found = _TOKEN_RE.match(token or "")
    if found is None:
        return None
    payload = f"{TOKEN_PREFIX}.{found[1]}.{found[2]}"
    if not hmac.compare_digest(_signature(payload).encode(), found[3].encode()):
        return None
    return LinkRef(int(found[1]), int(found[2]))


def ended_at(task: ProviderTask) -> dt.datetime | None:
    """When the task ended for its provider: closed, cancelled or declined (the first of them)."""
    ends = [when for when in (task.closed_at, task.cancelled_at, task.declined_at) if when is not None]
    return min(ends) if ends else None


def expires_at(task: ProviderTask) -> dt.datetime | None:
    """The link's end: :data:`LINK_DAYS` after the task's end; None while the task runs."""
    end = ended_at(task)
    return end + dt.timedelta(days=LINK_DAYS) if end is not None else None


def link_task(session: Session, ref: LinkRef, now: dt.datetime | None = None) -> tuple[str, ProviderTask | None]:
    """The link's state and its task (``session`` is the token's insurer's): unknown when no such task,
    expired past :func:`expires_at`."""
    task = session.execute(select(ProviderTask).where(ProviderTask.id == ref.task_id)).scalar_one_or_none()
    if task is None or task.tenant_id != ref.tenant_id:
        return UNKNOWN, None
    expires = expires_at(task)
    if expires is not None and expires <= (now or utc_now()):
        return EXPIRED, task
    return OPEN, task


def link_principal(session: Session, task: ProviderTask) -> Principal:
    """Who acts through the link: the task's provider, as its own API key would (the token is the credential)."""
    code = session.execute(select(Provider.code).where(Provider.id == task.provider_id)).scalar_one()
    return Principal(
        role=Role.PROVIDER,
        tenant_id=task.tenant_id,
        actor=f"provider_link:{code}",
        provider_id=task.provider_id,
        display_name=code,
    )
