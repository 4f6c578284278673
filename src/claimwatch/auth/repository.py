"""Account look-ups. Sign-in happens before a tenant is known, so these run in the system context
and filter by the unique username or key prefix; nothing here lists another tenant's users."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Any

from sqlalchemy import bindparam, delete, exists, func, or_, select, update
from sqlalchemy.orm import Session

from claimwatch import throttle
from claimwatch.auth.models import (
    ApiKey,
    LoginOutcome,
    LoginRecord,
    LoginThrottle,
    PermissionSuspension,
    User,
    UserSession,
)
from claimwatch.db import UTCDateTime


def user_by_username(session: Session, username: str) -> User | None:
    return session.execute(select(User).where(User.username == username)).scalar_one_or_none()


def user_by_id(session: Session, user_id: int) -> User | None:
    return session.get(User, user_id)


def api_key_by_prefix(session: Session, prefix: str) -> ApiKey | None:
    return session.execute(select(ApiKey).where(ApiKey.prefix == prefix)).scalar_one_or_none()


# Verifying a presented key is on every API-key request: one statement on the unique prefix, built once and run as
# Core (the ORM query built its statement, ran the session's events and made an ApiKey object each time: about
# 0.35 ms of the request's CPU). Read afresh every time, so a revoked key is refused on the next request.
_api_keys = ApiKey.__table__
_KEY_BY_PREFIX = select(
    _api_keys.c.id,
    _api_keys.c.tenant_id,
    _api_keys.c.name,
    _api_keys.c.secret_hash,
    _api_keys.c.role,
    _api_keys.c.provider_id,
    _api_keys.c.revoked_at,
).where(_api_keys.c.prefix == bindparam("prefix"))


def api_key_credentials(session: Session, prefix: str) -> Any | None:
    """The key's id, tenant_id, name, secret_hash, role, provider_id and revoked_at; None for an unknown prefix."""
    return session.connection().execute(_KEY_BY_PREFIX, {"prefix": prefix}).one_or_none()


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


# --- sessions -------------------------------------------------------------------------------------------
# Resolving a session is on every signed-in request: one statement, built once, on the unique token hash.
_sessions = UserSession.__table__
_users = User.__table__
_suspensions = PermissionSuspension.__table__
_NOW = bindparam("now", type_=UTCDateTime())
# Whether the user has a suspension in force (claimwatch.sanctions): an EXISTS on the (tenant, user, ends_at)
# index inside the one session statement, so an unsuspended user costs no further query.
_SUSPENDED = (
    exists()
    .where(
        _suspensions.c.tenant_id == _users.c.tenant_id,
        _suspensions.c.user_id == _users.c.id,
        _suspensions.c.ends_at > _NOW,
        _suspensions.c.starts_at <= _NOW,
        _suspensions.c.lifted_at.is_(None),
    )
    .label("suspended")
)
_SESSION_AND_USER = (
    select(
        _sessions.c.id,
        _sessions.c.created_at,
        _sessions.c.last_seen_at,
        _sessions.c.revoked_at,
        _users.c.id.label("user_id"),
        _users.c.tenant_id,
        _users.c.username,
        _users.c.display_name,
        _users.c.role,
        _users.c.active,
        _SUSPENDED,
    )
    .join(_users, _users.c.id == _sessions.c.user_id)
    .where(_sessions.c.token_hash == bindparam("token_hash"))
)
_TOUCH_SESSION = (
    update(UserSession).where(UserSession.id == bindparam("session_id")).values(last_seen_at=bindparam("seen"))
)


def session_and_user(session: Session, token_hash: str, now: dt.datetime) -> Any | None:
    """The session's id, created_at, last_seen_at and revoked_at with its user's user_id, tenant_id,
    username, display_name, role and active, and whether a suspension is in force at ``now``; None for an
    unknown token."""
    return session.connection().execute(_SESSION_AND_USER, {"token_hash": token_hash, "now": now}).one_or_none()


_ACTIVE_SUSPENSIONS = select(
    _suspensions.c.permission_group,
    _suspensions.c.ends_at,
    _suspensions.c.until_date,
    _suspensions.c.sanction_ref,
).where(
    _suspensions.c.tenant_id == bindparam("tenant_id"),
    _suspensions.c.user_id == bindparam("user_id"),
    _suspensions.c.ends_at > _NOW,
    _suspensions.c.starts_at <= _NOW,
    _suspensions.c.lifted_at.is_(None),
)


def active_suspensions(session: Session, tenant_id: int, user_id: int, now: dt.datetime) -> list[Any]:
    """(permission_group, ends_at, until_date, sanction_ref) of the user's suspensions in force at ``now``."""
    params = {"tenant_id": tenant_id, "user_id": user_id, "now": now}
    return list(session.connection().execute(_ACTIVE_SUSPENSIONS, params))


def suspended_user_ids(session: Session, groups: Sequence[str], now: dt.datetime) -> set[int]:
    """Users of the session's tenant with a suspension of one of ``groups`` in force at ``now``."""
    rows = session.execute(
        select(PermissionSuspension.user_id).where(
            PermissionSuspension.permission_group.in_(list(groups)),
            PermissionSuspension.ends_at > now,
            PermissionSuspension.starts_at <= now,
            PermissionSuspension.lifted_at.is_(None),
        )
    )
    return {int(user_id) for (user_id,) in rows}


def touch_session(session: Session, session_id: int, seen: dt.datetime) -> None:
    session.connection().execute(_TOUCH_SESSION, {"session_id": session_id, "seen": seen})


def add_session(session: Session, row: UserSession) -> UserSession:
    session.add(row)
    session.flush()
    return row


def revoke_session(session: Session, token_hash: str, at: dt.datetime) -> int | None:
    """Ends one session; returns its user's id (None when there was no such open session)."""
    row = session.execute(
        update(UserSession)
        .where(UserSession.token_hash == token_hash, UserSession.revoked_at.is_(None))
        .values(revoked_at=at)
        .returning(UserSession.user_id)
        .execution_options(synchronize_session=False)
    ).one_or_none()
    return None if row is None else int(row[0])


def revoke_user_sessions(session: Session, user_id: int, at: dt.datetime) -> int:
    result = session.execute(
        update(UserSession)
        .where(UserSession.user_id == user_id, UserSession.revoked_at.is_(None))
        .values(revoked_at=at)
        .execution_options(synchronize_session=False)
    )
    return int(getattr(result, "rowcount", 0) or 0)


def purge_sessions(session: Session, before: dt.datetime) -> int:
    """Forget sessions that ended (or were last used) before ``before``."""
    result = session.execute(
        delete(UserSession)
        .where(or_(UserSession.last_seen_at < before, UserSession.revoked_at < before))
        .execution_options(synchronize_session=False)
    )
    return int(getattr(result, "rowcount", 0) or 0)


# --- sign-in throttles (claimwatch.throttle, as the lookup's) -----------------------------------------------
def throttles(session: Session, keys: Sequence[tuple[str, str]]) -> list[Any]:
    """(scope, failures, locked_until) of the throttle rows of these (scope, key_hash) pairs."""
    return throttle.rows(session, LoginThrottle, keys)


def count_failure(
    session: Session, scope: str, key_hash: str, now: dt.datetime, window: int, limit: int, lockout: int
) -> tuple[int, dt.datetime | None]:
    return throttle.count_failure(session, LoginThrottle, scope, key_hash, now, window, limit, lockout)


def clear_failures(session: Session, scope: str, key_hash: str) -> None:
    throttle.clear_failures(session, LoginThrottle, scope, key_hash)


def purge_throttles(session: Session, before: dt.datetime) -> int:
    return throttle.purge(session, LoginThrottle, before)


# --- the record of sign-ins --------------------------------------------------------------------------------
def add_login_record(session: Session, record: LoginRecord) -> None:
    session.add(record)


def login_records(
    session: Session,
    tenant_id: int,
    *,
    since: dt.datetime | None = None,
    until: dt.datetime | None = None,
    outcome: LoginOutcome | None = None,
    username: str | None = None,
    limit: int = 100,
    offset: int = 0,
) -> tuple[int, list[LoginRecord]]:
    """One tenant's sign-in records, newest first, and how many match."""
    query = select(LoginRecord).where(LoginRecord.tenant_id == tenant_id)
    if since is not None:
        query = query.where(LoginRecord.at >= since)
    if until is not None:
        query = query.where(LoginRecord.at < until)
    if outcome is not None:
        query = query.where(LoginRecord.outcome == outcome)
    if username:
        query = query.where(LoginRecord.username == username)
    total = session.execute(select(func.count()).select_from(query.subquery())).scalar_one()
    rows = session.execute(query.order_by(LoginRecord.at.desc(), LoginRecord.id.desc()).limit(limit).offset(offset))
    return int(total), list(rows.scalars())
