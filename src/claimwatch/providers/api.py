"""Register API (thin): providers (list, register, read, change, suspend or reinstate), contracts with their
service levels, provider keys (shown once), the task kinds, and the CSV import of providers and contracts (all
or nothing: 422 naming each reject). Another insurer's provider is unknown (404); a regulator reads every
insurer's register and names the insurer (``?tenant=CODE``) where a code is at several."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Query, Request
from fastapi.encoders import jsonable_encoder
from fastapi.responses import JSONResponse
from sqlalchemy.orm import Session

from claimwatch.auth.deps import TenantSession, request_locale, require
from claimwatch.auth.principal import Permission, Principal
from claimwatch.cases.schemas import IDENTIFIER_PATTERN
from claimwatch.complaints.api import _posted_csv  # the complaint import's reader: text/csv or multipart 'file'
from claimwatch.errors import NotFound, Problem
from claimwatch.providers import importer, loader, register_queries, service
from claimwatch.providers.models import Provider
from claimwatch.providers.schemas import ContractIn, ImportOut, KeyIn, KeyOut, ProviderIn, ProviderUpdate, StatusIn
from claimwatch.tenancy import repository as tenancy_repository

router = APIRouter(prefix="/api/v1", tags=["providers"])

VIEW = Depends(require(Permission.VIEW_PROVIDERS))
MANAGE = Depends(require(Permission.MANAGE_PROVIDERS))
CodePath = Annotated[str, Path(min_length=1, max_length=64, pattern=IDENTIFIER_PATTERN)]
TenantQuery = Annotated[str | None, Query(max_length=32, description="insurer code (regulators)")]
_ERRORS: dict[int | str, dict[str, Any]] = {
    403: {"description": "the role may not do this"},
    404: {"description": "unknown provider (another insurer's provider is unknown)"},
    409: {"description": "already registered / recorded, or already in that status"},
    422: {"description": "invalid field (named in 'problems')"},
}


def read_tenant(session: Session, principal: Principal, tenant: str | None) -> int | None:
    """The insurer whose register is read: the caller's own; a regulator may name one."""
    if not principal.is_regulator:
        return service.tenant_of(principal)
    if tenant is None:
        return None
    found = tenancy_repository.tenant_by_code(session, tenant)
    if found is None:
        raise NotFound("tenant", f"no insurer {tenant!r}")
    return found.id


def _view(session: Session, provider: Provider, request: Request, principal: Principal) -> Any:
    view = register_queries.provider_view(session, provider, request_locale(request), regulator=principal.is_regulator)
    return jsonable_encoder(view)


@router.get("/provider-task-kinds", summary="The task kinds: standard documents, required report fields, levels")
def get_task_kinds(request: Request, session: TenantSession, principal: Principal = VIEW) -> list[dict[str, Any]]:
    tenant_id = service.tenant_of(principal) if not principal.is_regulator else None
    catalogue = loader.task_kinds(session, tenant_id) if tenant_id is not None else loader.base_catalogue().kinds
    return [kind.as_dict(request_locale(request)) for kind in catalogue.values()]


@router.get(
    "/providers", responses=_ERRORS, summary="The register, filtered (kind, task_kind, region, line, status, q)"
)
def list_providers(request: Request, session: TenantSession, principal: Principal = VIEW) -> Any:
    query = register_queries.ListFilter.of(request.query_params)
    return jsonable_encoder(register_queries.provider_rows(session, principal, query, request_locale(request)))


@router.post("/providers", status_code=201, responses=_ERRORS, summary="Register a provider (audited)")
def post_provider(body: ProviderIn, request: Request, session: TenantSession, principal: Principal = MANAGE) -> Any:
    provider = service.register(session, principal, body)
    return _view(session, provider, request, principal)


@router.get("/providers/{code}", responses=_ERRORS, summary="One provider: details, contracts, levels, status")
def get_provider(
    code: CodePath, request: Request, session: TenantSession, tenant: TenantQuery = None, principal: Principal = VIEW
) -> Any:
    provider = service.get_provider(session, code, read_tenant(session, principal, tenant))
    return _view(session, provider, request, principal)


@router.patch("/providers/{code}", responses=_ERRORS, summary="Change a provider's details (audited)")
def patch_provider(
    code: CodePath, body: ProviderUpdate, request: Request, session: TenantSession, principal: Principal = MANAGE
) -> Any:
    provider = service.update(session, principal, code, body)
    return _view(session, provider, request, principal)


@router.post("/providers/{code}/status", responses=_ERRORS, summary="Suspend or reinstate, with a reason (audited)")
def post_status(
    code: CodePath,
    body: StatusIn,
    request: Request,
    session: TenantSession,
    principal: Principal = Depends(require(Permission.VIEW_PROVIDERS)),
) -> Any:
    """Whoever manages the register or reviews scorecards (the service checks which)."""
    provider = service.set_status(session, principal, code, body.status, body.reason)
    return _view(session, provider, request, principal)


@router.post("/providers/{code}/contracts", status_code=201, responses=_ERRORS, summary="Record a contract")
def post_contract(
    code: CodePath, body: ContractIn, request: Request, session: TenantSession, principal: Principal = MANAGE
) -> Any:
    """A contract with a service level per task kind (an unknown kind: 422 naming ``task_kind``)."""
    service.add_contract_from(session, principal, code, body)
    return _view(session, service.get_provider(session, code, principal.tenant_id), request, principal)


@router.post(
    "/providers/{code}/keys", status_code=201, response_model=KeyOut, responses=_ERRORS, summary="A provider key"
)
def post_key(code: CodePath, body: KeyIn, session: TenantSession, principal: Principal = MANAGE) -> Any:
    """A new API key for the provider: it reaches the provider's own tasks and nothing else. Shown once."""
    key = service.issue_key(session, principal, code, body.name)
    provider = service.get_provider(session, code, principal.tenant_id)
    return KeyOut(provider=provider.code, name=body.name or f"provider:{provider.code}", key=key)


@router.post(
    "/provider-imports/{what}",
    status_code=201,
    response_model=ImportOut,
    responses={**_ERRORS, 422: {"description": "rejected rows: nothing imported; 'problems' names each"}},
    summary="Import providers or contracts from CSV, all or nothing",
)
def post_import(
    what: Annotated[str, Path(pattern=r"^(providers|contracts)$")],
    dry_run: bool = Query(False, description="check every row, import nothing"),
    *,
    session: TenantSession,
    principal: Principal = MANAGE,
    # After the principal: a stranger's upload is not read.
    content: Annotated[bytes, Depends(_posted_csv)],
) -> Any:
    """Providers: code, name, kind, credit_code, regions, lines, licence_number, licence_expires_on, contact_*.
    Contracts: one row per contract × task kind: provider_code, reference, starts_on, ends_on,
    fee_schedule_ref, task_kind, days, unit. English or Chinese headers; UTF-8 or GB18030."""
    if len(content) > importer.MAX_IMPORT_BYTES:
        raise Problem(413, "file", f"file larger than {importer.MAX_IMPORT_BYTES} bytes")
    result = importer.import_csv(session, principal, what, content, dry_run=dry_run)
    return JSONResponse(status_code=200 if dry_run else 201, content=result.as_dict())
