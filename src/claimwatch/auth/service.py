"""Passwords (argon2), API keys (SHA-256 of a random secret) and user administration."""

from __future__ import annotations

import hashlib
import hmac
import secrets

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy.orm import Session

from claimwatch.audit import service as audit_service
from claimwatch.auth import repository
from claimwatch.auth.models import ApiKey, Role, User
from claimwatch.auth.principal import Principal
from claimwatch.db import utc_now
from claimwatch.errors import Invalid

_hasher = PasswordHasher()
# Verifying against this keeps the response time the same whether or not the user exists.
_DUMMY_HASH = _hasher.hash("claimwatch-timing-equaliser")

API_KEY_PREFIX = "cw"
MIN_PASSWORD_LENGTH = 8


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


def principal_for_user(user: User) -> Principal:
    return Principal(
        role=user.role,
        tenant_id=user.tenant_id,
        actor=f"user:{user.username}",
        user_id=user.id,
        display_name=user.display_name,
    )


def authenticate(session: Session, username: str, password: str) -> Principal | None:
    user = repository.user_by_username(session, username)
    if user is None or not user.active:
        _password_matches(_DUMMY_HASH, password)
        return None
    if not _password_matches(user.password_hash, password):
        return None
    return principal_for_user(user)


def principal_for_user_id(session: Session, user_id: int) -> Principal | None:
    user = repository.user_by_id(session, user_id)
    if user is None or not user.active:
        return None
    return principal_for_user(user)


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
    session: Session, *, tenant_id: int, name: str, role: Role = Role.INTEGRATION, actor: str = "system"
) -> tuple[ApiKey, str]:
    """Returns the key row and the full key, which is shown once and never stored."""
    if role is Role.REGULATOR:
        raise AuthError("role", "API keys are per tenant; a regulator signs in as a user")
    prefix = secrets.token_hex(4)
    secret = secrets.token_urlsafe(32)
    key = ApiKey(tenant_id=tenant_id, name=name, prefix=prefix, secret_hash=_secret_hash(secret), role=role)
    session.add(key)
    session.flush()
    audit_service.record(session, tenant_id, "config.api_key", name, actor, {"action": "create", "prefix": prefix})
    return key, f"{API_KEY_PREFIX}_{prefix}_{secret}"


def principal_for_api_key(session: Session, presented: str) -> Principal | None:
    parts = presented.split("_", 2)
    if len(parts) != 3 or parts[0] != API_KEY_PREFIX:
        return None
    key = repository.api_key_by_prefix(session, parts[1])
    if key is None or key.revoked_at is not None:
        return None
    if not hmac.compare_digest(key.secret_hash, _secret_hash(parts[2])):
        return None
    return Principal(role=key.role, tenant_id=key.tenant_id, actor=f"api_key:{key.name}", api_key_id=key.id)


def revoke_api_key(session: Session, *, tenant_id: int, prefix: str, actor: str) -> None:
    key = repository.api_key_by_prefix(session, prefix)
    if key is None or key.tenant_id != tenant_id:
        raise AuthError("prefix", f"no API key with prefix {prefix!r}")
    key.revoked_at = utc_now()
    audit_service.record(session, tenant_id, "config.api_key", key.name, actor, {"action": "revoke", "prefix": prefix})
