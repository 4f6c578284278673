"""Passwords (argon2), sign-in (throttled, recorded), server-side sessions, API keys (SHA-256 of a random
secret) and user administration."""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import secrets
from dataclasses import dataclass

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import select
from sqlalchemy.orm import Session

from claimwatch.audit import service as audit_service
from claimwatch.auth import repository
from claimwatch.auth.models import ApiKey, LoginOutcome, LoginRecord, PermissionSuspension, Role, User, UserSession
from claimwatch.auth.principal import PERMISSION_GROUPS, Permission, Principal, Suspension
from claimwatch.config import get_settings
from claimwatch.db import utc_now
from claimwatch.errors import Invalid
from claimwatch.privacy import derive_key

_hasher = PasswordHasher()
# Verifying against this keeps the response time the same whether or not the user exists. It is
# _hasher.hash("claimwatch-timing-equaliser") written out: hashing it on import cost every process (the web app, the
# worker, each CLI command) 0.1-0.6 s of CPU. tests/auth/test_login_security.py checks it has _hasher's parameters.
_DUMMY_HASH = "$argon2id$v=19$m=65536,t=3,p=4$nczF5EkVOlJlzl0TpcItYw$XSyj56vAaOc6lmGGBH5LacqqmjaKCQlezH/oriZ8FxU"

API_KEY_PREFIX = "cw"
MIN_PASSWORD_LENGTH = 8
MAX_USERNAME = 64
MAX_ADDRESS = 64

# What a sign-in came to (SignIn.status).
SIGNED_IN = "signed_in"
FAILED = "failed"
LOCKED = "locked"
# Throttle scopes: the account name as typed, and the client address.
ACCOUNT = "account"
ADDRESS = "address"
# A session's last use is written at most this often (a write per request would cost more than the read).
SESSION_TOUCH_SECONDS = 60


class AuthError(Invalid):
    """An account or API key the rules refuse (422): ``field`` names the input at fault."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(field, message)


def hash_password(password: str) -> str:
    if len(password) < MIN_PASSWORD_LENGTH:
        raise AuthError("password", f"password must have at least {MIN_PASSWORD_LENGTH} characters")
    return _hasher.hash(password)


def _password_matches(password_hash: str, password: str) -> bool:
    try:
        return _hasher.verify(password_hash, password)
    except (VerificationError, InvalidHashError):
        return False


def principal_for_user(user: User, session: Session | None = None, now: dt.datetime | None = None) -> Principal:
    """The user's principal; given a ``session``, with the suspensions in force at ``now`` (one indexed read)."""
    return Principal(
        role=user.role,
        tenant_id=user.tenant_id,
        actor=f"user:{user.username}",
        user_id=user.id,
        display_name=user.display_name,
        suspensions=(_suspensions(session, user.tenant_id, user.id, now or utc_now()) if session is not None else ()),
    )


def _suspensions(session: Session, tenant_id: int | None, user_id: int, now: dt.datetime) -> tuple[Suspension, ...]:
    if tenant_id is None:
        return ()
    return tuple(
        Suspension(group=row.permission_group, ends_at=row.ends_at, until=row.until_date, reference=row.sanction_ref)
        for row in repository.active_suspensions(session, tenant_id, user_id, now)
        if row.permission_group in PERMISSION_GROUPS
    )


def authenticate(session: Session, username: str, password: str) -> Principal | None:
    user = repository.user_by_username(session, username)
    if user is None or not user.active:
        _password_matches(_DUMMY_HASH, password)
        return None
    if not _password_matches(user.password_hash, password):
        return None
    return principal_for_user(user, session)


@dataclass(frozen=True)
class SignIn:
    """What a sign-in came to: ``SIGNED_IN`` (with the principal and the new session's token, which goes
    into the signed cookie and is stored nowhere else), ``FAILED`` or ``LOCKED`` (with the seconds to wait)."""

    status: str
    principal: Principal | None = None
    session_token: str | None = None
    retry_after: int = 0


def _throttle_key(kind: str, value: str) -> str:
    return hmac.new(derive_key("login-throttle"), f"{kind}:{value}".encode(), hashlib.sha256).hexdigest()


def _token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def _record(session: Session, user: User | None, address: str, outcome: LoginOutcome, now: dt.datetime) -> None:
    repository.add_login_record(
        session,
        LoginRecord(
            at=now,
            tenant_id=user.tenant_id if user else None,
            user_id=user.id if user else None,
            username=user.username if user else None,
            address=address,
            outcome=outcome,
        ),
    )


def sign_in(session: Session, username: str, password: str, address: str, now: dt.datetime | None = None) -> SignIn:
    """Check a password sign-in and, if it is right, open a session.

    A locked account name or client address is refused before the password is looked at (the right
    password too); a failure counts against both. Names that are no account are counted and locked the
    same way, and their password is checked against a dummy hash, so neither the answer, the lock nor the
    time says whether an account exists. Every attempt is recorded (:class:`LoginRecord`).

    Returns (never raises) a failure: its counts and record must commit with the caller's session."""
    now = now or utc_now()
    settings = get_settings()
    username = username.strip()[:MAX_USERNAME]
    address = (address or "unknown")[:MAX_ADDRESS]
    keys = [(ACCOUNT, _throttle_key(ACCOUNT, username)), (ADDRESS, _throttle_key(ADDRESS, address))]
    rows = repository.throttles(session, keys)
    user = repository.user_by_username(session, username) if username else None
    locks = [row.locked_until for row in rows if row.locked_until is not None and row.locked_until > now]
    if locks:
        _record(session, user, address, LoginOutcome.LOCKED, now)
        return SignIn(LOCKED, retry_after=max(1, int((max(locks) - now).total_seconds()) + 1))
    usable = user is not None and user.active
    matches = _password_matches(user.password_hash if user is not None and usable else _DUMMY_HASH, password)
    if user is None or not usable or not matches:
        window, lockout = settings.login_failure_window_seconds, settings.login_lockout_seconds
        repository.count_failure(session, ACCOUNT, keys[0][1], now, window, settings.login_max_failures, lockout)
        repository.count_failure(session, ADDRESS, keys[1][1], now, window, settings.login_ip_max_failures, lockout)
        _record(session, user, address, LoginOutcome.FAILURE, now)
        return SignIn(FAILED)
    if any(row.scope == ACCOUNT and row.failures for row in rows):
        repository.clear_failures(session, ACCOUNT, keys[0][1])
    token = secrets.token_urlsafe(32)
    repository.add_session(
        session,
        UserSession(token_hash=_token_hash(token), user_id=user.id, created_at=now, last_seen_at=now, address=address),
    )
    _record(session, user, address, LoginOutcome.SUCCESS, now)
    return SignIn(SIGNED_IN, principal_for_user(user, session, now), token)


def principal_for_session(
    session: Session, token: str, now: dt.datetime | None = None, *, touch: bool = True
) -> Principal | None:
    """The signed-in user of an open session; None for an unknown, revoked, idle or too old one, or an
    account that was deactivated. With ``touch`` the last use is written, at most once a minute."""
    found = open_session(session, token, now)
    if found is None:
        return None
    principal, touch_due = found
    if touch and touch_due:
        touch_session(session, token, now)
    return principal


def open_session(session: Session, token: str, now: dt.datetime | None = None) -> tuple[Principal, bool] | None:
    """One indexed read (no write): the session's user and whether its last use is due to be written
    again (once a minute), for a caller that reads in a read-only transaction and writes separately."""
    now = now or utc_now()
    row = repository.session_and_user(session, _token_hash(token), now)
    if row is None or row.revoked_at is not None or not row.active:
        return None
    settings = get_settings()
    if now - row.last_seen_at >= dt.timedelta(seconds=settings.session_idle_seconds):
        return None
    if now - row.created_at >= dt.timedelta(seconds=settings.session_max_seconds):
        return None
    principal = Principal(
        role=row.role,
        tenant_id=row.tenant_id,
        actor=f"user:{row.username}",
        user_id=row.user_id,
        display_name=row.display_name,
        # Loaded only when the session statement found one in force (its EXISTS column).
        suspensions=_suspensions(session, row.tenant_id, row.user_id, now) if row.suspended else (),
    )
    return principal, now - row.last_seen_at >= dt.timedelta(seconds=SESSION_TOUCH_SECONDS)


def touch_session(session: Session, token: str, now: dt.datetime | None = None) -> None:
    """Write the session's last use (what the idle limit counts from)."""
    now = now or utc_now()
    row = repository.session_and_user(session, _token_hash(token), now)
    if row is not None:
        repository.touch_session(session, row.id, now)


def sign_out(session: Session, token: str, address: str, now: dt.datetime | None = None) -> None:
    """End a session (a copy of its cookie is refused from now on) and record the sign-out."""
    now = now or utc_now()
    user_id = repository.revoke_session(session, _token_hash(token), now)
    if user_id is not None:
        user = repository.user_by_id(session, user_id)
        _record(session, user, (address or "unknown")[:MAX_ADDRESS], LoginOutcome.LOGOUT, now)


def change_password(session: Session, user_id: int, new_password: str, *, actor: str) -> None:
    """Set a new password and end every session of the account (a stolen cookie dies with the old password)."""
    user = repository.user_by_id(session, user_id)
    if user is None:
        raise AuthError("user_id", f"no user with id {user_id}")
    user.password_hash = hash_password(new_password)
    ended = repository.revoke_user_sessions(session, user.id, utc_now())
    if user.tenant_id is not None:
        audit_service.record(
            session,
            user.tenant_id,
            "config.user",
            user.username,
            actor,
            {"action": "change_password", "sessions_ended": ended},
        )


def purge(session: Session, now: dt.datetime | None = None) -> int:
    """Forget throttle keys idle for a day whose lock is over, and sessions that ended or went idle more
    than a day ago (a worker pass; the sign-in record is kept). ``session`` is the system context's."""
    now = now or utc_now()
    settings = get_settings()
    before = now - dt.timedelta(days=1)
    idle_before = now - dt.timedelta(seconds=settings.session_idle_seconds) - dt.timedelta(days=1)
    return repository.purge_throttles(session, before) + repository.purge_sessions(session, min(before, idle_before))


def create_user(
    session: Session,
    *,
    username: str,
    password: str,
    role: Role,
    tenant_id: int | None,
    display_name: str | None = None,
    org_unit_id: int | None = None,
    actor: str = "system",
) -> User:
    # The account's role and tenant must fit together (data validation, not a permission check).
    if role is Role.REGULATOR and tenant_id is not None:
        raise AuthError("tenant_id", "a regulator account belongs to no tenant")
    if role is not Role.REGULATOR and tenant_id is None:
        raise AuthError("tenant_id", f"a {role.value} account needs a tenant")
    if repository.user_by_username(session, username) is not None:
        raise AuthError("username", f"username {username!r} is taken")
    user = User(
        username=username,
        display_name=display_name or username,
        role=role,
        tenant_id=tenant_id,
        org_unit_id=org_unit_id,
        password_hash=hash_password(password),
    )
    session.add(user)
    session.flush()
    if tenant_id is not None:
        audit_service.record(
            session, tenant_id, "config.user", username, actor, {"action": "create", "role": role.value}
        )
    return user


def _secret_hash(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def create_api_key(
    session: Session,
    *,
    tenant_id: int,
    name: str,
    role: Role = Role.INTEGRATION,
    actor: str = "system",
    provider_id: int | None = None,
) -> tuple[ApiKey, str]:
    """Returns the key row and the full key, which is shown once and never stored. A provider's key
    (``role=provider``) must name its provider; no other key may."""
    if role is Role.REGULATOR:
        raise AuthError("role", "API keys are per tenant; a regulator signs in as a user")
    if (role is Role.PROVIDER) != (provider_id is not None):
        raise AuthError("provider_id", "a provider key names its provider, and only a provider key does")
    prefix = secrets.token_hex(4)
    secret = secrets.token_urlsafe(32)
    key = ApiKey(
        tenant_id=tenant_id,
        name=name,
        prefix=prefix,
        secret_hash=_secret_hash(secret),
        role=role,
        provider_id=provider_id,
    )
    session.add(key)
    session.flush()
    audit_service.record(session, tenant_id, "config.api_key", name, actor, {"action": "create", "prefix": prefix})
    return key, f"{API_KEY_PREFIX}_{prefix}_{secret}"


def principal_for_api_key(session: Session, presented: str) -> Principal | None:
    parts = presented.split("_", 2)
    if len(parts) != 3 or parts[0] != API_KEY_PREFIX:
        return None
    key = repository.api_key_credentials(session, parts[1])
    if key is None or key.revoked_at is not None:
        return None
    if not hmac.compare_digest(key.secret_hash, _secret_hash(parts[2])):
        return None
    return Principal(
        role=key.role,
        tenant_id=key.tenant_id,
        actor=f"api_key:{key.name}",
        api_key_id=key.id,
        provider_id=key.provider_id,
    )


def revoke_api_key(session: Session, *, tenant_id: int, prefix: str, actor: str) -> None:
    key = repository.api_key_by_prefix(session, prefix)
    if key is None or key.tenant_id != tenant_id:
        raise AuthError("prefix", f"no API key with prefix {prefix!r}")
    key.revoked_at = utc_now()
    audit_service.record(session, tenant_id, "config.api_key", key.name, actor, {"action": "revoke", "prefix": prefix})


# --- permission suspensions (written by claimwatch.sanctions when a suspension is approved) ------------------
def suspend_permission(
    session: Session,
    *,
    tenant_id: int,
    user_id: int,
    group: str,
    starts_at: dt.datetime,
    ends_at: dt.datetime,
    until: dt.date,
    reason: str,
    sanction_ref: str,
    actor: str,
) -> PermissionSuspension:
    """Refuse ``group``'s permissions to the user from ``starts_at`` to ``ends_at``. The caller (the sanction
    service) writes the audit event that approves it, in the same transaction."""
    if group not in PERMISSION_GROUPS:
        known = ", ".join(PERMISSION_GROUPS)
        raise AuthError("permission_group", f"unknown permission group {group!r} (known: {known})")
    user = repository.user_by_id(session, user_id)
    if user is None or user.tenant_id != tenant_id:
        raise AuthError("user_id", f"no user with id {user_id}")
    if ends_at <= starts_at:
        raise AuthError("ends_at", "a suspension ends after it starts")
    row = PermissionSuspension(
        tenant_id=tenant_id,
        user_id=user_id,
        permission_group=group,
        starts_at=starts_at,
        ends_at=ends_at,
        until_date=until,
        reason=reason[:500],
        sanction_ref=sanction_ref,
        created_by=actor,
        created_at=utc_now(),
    )
    session.add(row)
    session.flush()
    return row


def lift_suspensions(session: Session, sanction_ref: str, *, actor: str, at: dt.datetime | None = None) -> int:
    """End now the suspensions a sanction imposed (it was revoked); returns how many were in force."""
    at = at or utc_now()
    rows = session.execute(
        select(PermissionSuspension).where(
            PermissionSuspension.sanction_ref == sanction_ref, PermissionSuspension.lifted_at.is_(None)
        )
    ).scalars()
    lifted = 0
    for row in rows:
        row.lifted_at, row.lifted_by = at, actor
        lifted += 1
    session.flush()
    return lifted


def suspended_user_ids(session: Session, permission: Permission, at: dt.datetime | None = None) -> set[int]:
    """Users of the session's tenant whose ``permission`` is suspended at ``at`` (e.g. BE_ASSIGNED for the
    assignment rules, which choose among handler profiles rather than principals)."""
    groups = [name for name, permissions in PERMISSION_GROUPS.items() if permission in permissions]
    return repository.suspended_user_ids(session, groups, at or utc_now()) if groups else set()
