"""FastAPI dependencies: who is calling (session cookie or API key) and a tenant-scoped session."""

from __future__ import annotations

import contextlib
import functools
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Annotated

import anyio
import anyio.to_thread
from fastapi import Depends, HTTPException, Request
from sqlalchemy.orm import Session

from claimwatch.auth import service as auth_service
from claimwatch.auth.principal import AccessDenied, Permission, PermissionSuspended, Principal
from claimwatch.db import TenantContext, end_unit_of_work, new_session, unit_of_work, untouched

# The signed session cookie carries the id of a server-side session (auth.models.UserSession), never the
# user's id: signing out or a password change ends the session, and every copy of the cookie with it.
SESSION_TOKEN_KEY = "sid"
# A provider's API key (role provider, claimwatch.providers) reaches its own tasks under this prefix and nothing
# else: every other route refuses it here, so that no route (one added later included) can forget to.
PROVIDER_API_PREFIX = "/api/v1/provider/"


def presented_api_key(request: Request) -> str | None:
    """The API key of the request (``X-API-Key`` or ``Authorization: Bearer``); it wins over a cookie."""
    presented = request.headers.get("x-api-key")
    authorization = request.headers.get("authorization", "")
    if not presented and authorization.lower().startswith("bearer "):
        presented = authorization[7:].strip()
    return presented or None


def client_address(request: Request) -> str:
    """The caller's address. Behind a reverse proxy listed in
    CLAIMWATCH_TRUSTED_PROXIES this is the client's address, not the proxy's."""
    return request.client.host if request.client else "unknown"


def session_token(request: Request) -> str | None:
    token = request.session.get(SESSION_TOKEN_KEY) if "session" in request.scope else None
    return token if isinstance(token, str) and token else None


def _resolve(request: Request) -> Principal | None:
    presented = presented_api_key(request)
    token = None if presented else session_token(request)
    if not presented and token is None:
        return None
    # Resolved in its own short read-only transaction, before the tenant is known: on SQLite a read-only
    # transaction does not queue for the write lock, so requests are not serialised behind writers.
    with unit_of_work(TenantContext.system_reader()) as session:
        if presented:
            return auth_service.principal_for_api_key(session, presented)
        assert token is not None
        found = auth_service.open_session(session, token)
    if found is None:
        return None
    principal, touch_due = found
    if touch_due:
        # The last use, written at most once a minute, in a write transaction of its own.
        with unit_of_work(TenantContext.system_context()) as session:
            auth_service.touch_session(session, token)
    return principal


def current_principal(request: Request) -> Principal:
    principal = _resolve(request)
    if principal is None:
        raise HTTPException(status_code=401, detail="sign in or send a valid API key (X-API-Key)")
    if principal.provider_id is not None and not request.url.path.startswith(PROVIDER_API_PREFIX):
        raise HTTPException(status_code=403, detail="a provider's key reaches its own tasks only")
    request.state.principal = principal
    return principal


def require(permission: Permission) -> Callable[..., Awaitable[Principal]]:
    # Async: it reads nothing but the principal, so it runs on the event loop; a sync dependency is a hop to a
    # worker thread and back (~0.1 ms of CPU) on every request of the ~320 routes that take it.
    async def dependency(request: Request, principal: Principal = Depends(current_principal)) -> Principal:
        try:
            principal.require(permission)
        except PermissionSuspended as exc:
            # A sanction suspends it: say until when and which sanction, in the caller's language.
            message = exc.message(request_locale(request))
            body = {"detail": message, "problems": [{"field": "permission", "message": message}]}
            raise HTTPException(status_code=403, detail=body) from exc
        except AccessDenied as exc:
            raise HTTPException(status_code=403, detail=str(exc)) from exc
        return principal

    return dependency


async def tenant_session(principal: Principal = Depends(current_principal)) -> AsyncIterator[Session]:
    """A session scoped to the caller's tenant; the request owns its commit or rollback."""
    async with request_unit_of_work(principal.context()) as session:
        yield session


@contextlib.asynccontextmanager
async def request_unit_of_work(context: TenantContext) -> AsyncIterator[Session]:
    """``db.unit_of_work`` for an async request dependency. Making the session does no I/O, so it costs no hop to a
    worker thread (a sync generator dependency costs two, ~0.1 ms of CPU each); its end, which may talk to the
    database, runs in one, and only when the session began a transaction or holds changes: a request refused
    before its route touched the database (validation, permission) ends without any hop."""
    session = new_session(context)
    try:
        yield session
    except BaseException:
        await _end_off_the_loop(session, context, failed=True)
        raise
    await _end_off_the_loop(session, context, failed=False)


async def _end_off_the_loop(session: Session, context: TenantContext, *, failed: bool) -> None:
    if untouched(session):
        session.close()
        return
    # As FastAPI ends a sync generator dependency: shielded from the request's cancellation (the connection goes
    # back to the pool), and on a limiter of its own, so that it never waits for a worker thread that may itself be
    # waiting for a pooled connection.
    with anyio.CancelScope(shield=True):
        await anyio.to_thread.run_sync(
            functools.partial(end_unit_of_work, session, context, failed=failed), limiter=anyio.CapacityLimiter(1)
        )


def request_locale(request: Request) -> str:
    chosen = request.query_params.get("lang") or request.cookies.get("lang")
    if chosen in ("zh", "en"):
        return chosen
    accept = request.headers.get("accept-language", "")
    return "en" if accept.lower().startswith("en") else "zh"


# scope="function": the unit of work commits (or rolls back on a raised Problem) when the route returns,
# before the response is sent, so an acknowledgement is never sent for a write that did not commit.
TenantSession = Annotated[Session, Depends(tenant_session, scope="function")]
