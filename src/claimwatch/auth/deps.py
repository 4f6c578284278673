"""FastAPI dependencies: who is calling (session cookie or API key) and a tenant-scoped session."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Annotated

from fastapi import Depends, HTTPException, Request
from sqlalchemy.orm import Session

from claimwatch.auth import service as auth_service
from claimwatch.auth.principal import AccessDenied, Permission, Principal
from claimwatch.db import TenantContext, unit_of_work

SESSION_USER_KEY = "uid"


def _resolve(request: Request) -> Principal | None:
    presented = request.headers.get("x-api-key")
    authorization = request.headers.get("authorization", "")
    if not presented and authorization.lower().startswith("bearer "):
        presented = authorization[7:].strip()
    # Sign-in is resolved in its own short transaction, before the tenant is known.
    with unit_of_work(TenantContext.system_context()) as session:
        if presented:
            return auth_service.principal_for_api_key(session, presented)
        user_id = request.session.get(SESSION_USER_KEY) if "session" in request.scope else None
        if user_id is None:
            return None
        return auth_service.principal_for_user_id(session, int(user_id))


def current_principal(request: Request) -> Principal:
    principal = _resolve(request)
    if principal is None:
        raise HTTPException(status_code=401, detail="sign in or send a valid API key (X-API-Key)")
    request.state.principal = principal
    return principal


def require(permission: Permission) -> Callable[..., Principal]:
    def dependency(principal: Principal = Depends(current_principal)) -> Principal:
        try:
            principal.require(permission)
        except AccessDenied as exc:
            raise HTTPException(status_code=403, detail=str(exc)) from exc
        return principal

    return dependency


def tenant_session(principal: Principal = Depends(current_principal)) -> Iterator[Session]:
    """A session scoped to the caller's tenant; the request owns its commit or rollback."""
    with unit_of_work(principal.context()) as session:
        yield session


def request_locale(request: Request) -> str:
    chosen = request.query_params.get("lang") or request.cookies.get("lang")
    if chosen in ("zh", "en"):
        return chosen
    accept = request.headers.get("accept-language", "")
    return "en" if accept.lower().startswith("en") else "zh"


# scope="function": the unit of work commits (or rolls back on a raised Problem) when the route returns,
# before the response is sent, so an acknowledgement is never sent for a write that did not commit.
TenantSession = Annotated[Session, Depends(tenant_session, scope="function")]
