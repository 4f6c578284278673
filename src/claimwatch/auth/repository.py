"""Account look-ups. Sign-in happens before a tenant is known, so these run in the system context
and filter by the unique username or key prefix; nothing here lists another tenant's users."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from claimwatch.auth.models import ApiKey, User


def user_by_username(session: Session, username: str) -> User | None:
    return session.execute(select(User).where(User.username == username)).scalar_one_or_none()


def user_by_id(session: Session, user_id: int) -> User | None:
    return session.get(User, user_id)


def api_key_by_prefix(session: Session, prefix: str) -> ApiKey | None:
    return session.execute(select(ApiKey).where(ApiKey.prefix == prefix)).scalar_one_or_none()


def user_ids_by_username(session: Session, tenant_id: int, usernames: set[str]) -> dict[str, int]:
    if not usernames:
        return {}
    rows = session.execute(
        select(User.username, User.id).where(User.tenant_id == tenant_id, User.username.in_(usernames))
    )
    return {username: user_id for username, user_id in rows}


def usernames_by_id(session: Session, user_ids: set[int]) -> dict[int, str]:
    if not user_ids:
        return {}
    rows = session.execute(select(User.id, User.display_name).where(User.id.in_(user_ids)))
    return {user_id: name for user_id, name in rows}
