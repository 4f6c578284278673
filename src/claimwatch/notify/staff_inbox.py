"""A staff member's own notifications: the inbox, read marks, and the preferences (e-mail per kind, language,
address) the delivery pass follows. No HTTP here, no commits."""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from claimwatch.audit import service as audit_service
from claimwatch.auth.models import User
from claimwatch.db import utc_now
from claimwatch.notify import repository
from claimwatch.notify.models import (
    StaffInboxItem,
    StaffNotifyPreference,
    StaffNotifyProfile,
)
from claimwatch.notify.service import NotifyError
from claimwatch.notify.staff_notices import (
    DEFAULT_EMAIL,
    EMAIL_MODES,
    EMAIL_RE,
    KIND_LABELS,
    STAFF_LOCALES,
    kind_label,
    notice_link,
)
from claimwatch.privacy import scrub_text

# -- a user's own inbox ---------------------------------------------------------------------------------


def _own_user(principal_user_id: int | None) -> int:
    if principal_user_id is None:
        raise NotifyError(403, "user", "only a signed-in staff member has notifications")
    return principal_user_id


def inbox(
    session: Session,
    user_id: int | None,
    locale: str,
    unread_only: bool = False,
    limit: int = 50,
    offset: int = 0,
    item_id: int | None = None,
) -> list[dict[str, Any]]:
    """The user's notices (or the one ``item_id``), newest first, as the bell's page shows them."""
    own = _own_user(user_id)
    return [
        {
            "id": item.id,
            "kind": notice.kind,
            "kind_label": kind_label(notice.kind, locale),
            "subject": scrub_text(notice.subject),
            "body": scrub_text(notice.body),
            "claim_number": number,
            "link": notice_link(notice, number),
            "created_at": item.created_at,
            "read_at": item.read_at,
            "unread": item.read_at is None,
        }
        for item, notice, number in repository.inbox_page(session, own, unread_only, limit, offset, item_id)
    ]


def unread_count(session: Session, user_id: int | None) -> int:
    return repository.inbox_count(session, _own_user(user_id), unread_only=True)


def inbox_total(session: Session, user_id: int | None, unread_only: bool = False) -> int:
    return repository.inbox_count(session, _own_user(user_id), unread_only=unread_only)


def mark_read(session: Session, user_id: int | None, item_id: int, read: bool = True) -> StaffInboxItem:
    """Mark one of the user's own notices read (or unread again). Another user's (or tenant's) is 404."""
    own = _own_user(user_id)
    item = repository.inbox_item(session, item_id)  # tenant-scoped by the session
    if item is None or item.user_id != own:
        raise NotifyError(404, "id", f"no notification {item_id}")
    item.read_at = (item.read_at or utc_now()) if read else None
    session.flush()
    return item


def mark_all_read(session: Session, user_id: int | None) -> int:
    return repository.mark_all_read(session, _own_user(user_id), utc_now())


# -- preferences ----------------------------------------------------------------------------------------


def preferences_view(session: Session, user_id: int | None, tenant_id: int) -> dict[str, Any]:
    """Each kind with the user's e-mail mode (``default`` marks the ones not chosen), their language and
    their e-mail address (masked)."""
    own = _own_user(user_id)
    chosen = {(p.kind, p.channel): p.mode for p in repository.preference_rows(session, own)}
    profile = repository.profile(session, own)
    user = next((u for u in repository.staff_users(session, tenant_id) if u.id == own), None)
    return {
        "kinds": [
            {
                "kind": kind,
                "label": label,
                "email": chosen.get((kind, "email"), DEFAULT_EMAIL.get(kind, "off")),
                "default": (kind, "email") not in chosen,
            }
            for kind, label in KIND_LABELS.items()
        ],
        "locale": profile.locale if profile is not None else "zh",
        "email": _masked_email(user.email) if user is not None else None,
    }


def _masked_email(address: str | None) -> str | None:
    if not address:
        return None
    local, _, domain = address.partition("@")
    return f"{local[:1]}***@{domain}"


def set_preferences(
    session: Session,
    user_id: int | None,
    tenant_id: int,
    email_modes: dict[str, str],
    locale: str | None,
    actor: str,
) -> dict[str, Any]:
    """Set the user's e-mail mode per kind (instant, digest, off) and their notices' language."""
    own = _own_user(user_id)
    for kind, mode in email_modes.items():
        if kind not in KIND_LABELS:
            raise NotifyError(422, f"email.{kind}", f"unknown kind of notice {kind!r}")
        if mode not in EMAIL_MODES:
            raise NotifyError(422, f"email.{kind}", f"mode must be one of {', '.join(EMAIL_MODES)}")
    if locale is not None and locale not in STAFF_LOCALES:
        raise NotifyError(422, "locale", f"locale must be one of {', '.join(STAFF_LOCALES)}")
    now = utc_now()
    existing = {(p.kind, p.channel): p for p in repository.preference_rows(session, own)}
    for kind, mode in email_modes.items():
        row = existing.get((kind, "email"))
        if row is None:
            session.add(
                StaffNotifyPreference(
                    tenant_id=tenant_id, user_id=own, kind=kind, channel="email", mode=mode, updated_at=now
                )
            )
        elif row.mode != mode:
            row.mode = mode
            row.updated_at = now
    if locale is not None:
        profile = repository.profile(session, own)
        if profile is None:
            session.add(StaffNotifyProfile(tenant_id=tenant_id, user_id=own, locale=locale, updated_at=now))
        else:
            profile.locale = locale
            profile.updated_at = now
    session.flush()
    audit_service.record(
        session,
        tenant_id,
        "config.notify_preferences",
        str(own),
        actor,
        {"email": dict(sorted(email_modes.items())), "locale": locale},
    )
    return preferences_view(session, own, tenant_id)


def set_user_email(session: Session, tenant_id: int, username: str, email: str | None, actor: str) -> User:
    """An admin sets (or clears, with None/"") where a staff member's notices are e-mailed."""
    user = repository.user_in_tenant(session, tenant_id, username)
    if user is None:
        raise NotifyError(404, "username", f"no user {username!r} in this tenant")
    address = (email or "").strip()
    if address and (len(address) > 254 or not EMAIL_RE.match(address)):
        raise NotifyError(422, "email", "not an e-mail address")
    user.email = address or None
    session.flush()
    audit_service.record(
        session, tenant_id, "config.user", username, actor, {"action": "set_email", "email": _masked_email(user.email)}
    )
    return user
