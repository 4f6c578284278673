"""Sales API (thin): the sales (list, record, read, cancel, link a complaint), the flags (list, clear or confirm
with a reason), the summary by agent, the cooling-off evaluation of a month, and the CSV import (all or nothing:
422 naming each reject). Another insurer's sale is unknown (404)."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Query, Request
from fastapi.encoders import jsonable_encoder
from fastapi.responses import JSONResponse

from claimwatch.auth.deps import TenantSession, request_locale, require
from claimwatch.auth.principal import Permission, Principal
from claimwatch.cases.schemas import IDENTIFIER_PATTERN
from claimwatch.complaints.api import _posted_csv  # the complaint import's reader: text/csv or multipart 'file'
from claimwatch.errors import Problem
from claimwatch.params import RowId
from claimwatch.policies import sales, sales_import, sales_queries
from claimwatch.policies.sales_schemas import CancelIn, ComplaintLinkIn, FlagDecisionIn, SaleIn
from claimwatch.tenancy import service as tenancy_service

router = APIRouter(prefix="/api/v1", tags=["sales"])

VIEW = Depends(require(Permission.VIEW_SALES))
MANAGE = Depends(require(Permission.MANAGE_SALES))
NumberPath = Annotated[str, Path(min_length=1, max_length=64, pattern=IDENTIFIER_PATTERN)]
PeriodQuery = Annotated[str | None, Query(max_length=8, description="a month (2026-11) or quarter (2026-Q4)")]
_ERRORS: dict[int | str, dict[str, Any]] = {
    403: {"description": "the role may not do this"},
    404: {"description": "unknown sale or flag (another insurer's is unknown)"},
    409: {"description": "already recorded, cancelled, linked or decided"},
    422: {"description": "invalid field (named in 'problems')"},
}


def _sale_view(request: Request, session: TenantSession, principal: Principal, number: str) -> Any:
    tenant_id = sales.tenant_of(principal)
    sale = sales.get_sale(session, tenant_id, number)
    view = sales_queries.sale_view(session, sale, sales.rules_of(session, tenant_id), request_locale(request))
    return jsonable_encoder(view)


@router.get("/sales", responses=_ERRORS, summary="Sales, filtered (agent, channel, line, flagged, rule, period, q)")
def list_sales(request: Request, session: TenantSession, principal: Principal = VIEW) -> Any:
    where = sales_queries.SaleFilter.of(request.query_params)
    return sales_queries.sale_rows(session, sales.tenant_of(principal), where, request_locale(request))


@router.post("/sales", status_code=201, responses=_ERRORS, summary="Record a sale (rules evaluated, audited)")
def post_sale(body: SaleIn, request: Request, session: TenantSession, principal: Principal = MANAGE) -> Any:
    sale = sales.record_sale(session, principal, body, source="api")
    return _sale_view(request, session, principal, sale.policy_number)


@router.get("/sales/flags", responses=_ERRORS, summary="Sales flags, open first (status: open|cleared|confirmed)")
def list_flags(
    request: Request,
    session: TenantSession,
    status: Annotated[str | None, Query(max_length=16)] = None,
    principal: Principal = VIEW,
) -> Any:
    rows = sales_queries.flag_rows(session, sales.tenant_of(principal), request_locale(request), status)
    return jsonable_encoder(rows)


@router.post("/sales/flags/{flag_id}/decision", responses=_ERRORS, summary="Clear or confirm a flag, with a reason")
def post_flag_decision(
    flag_id: RowId, body: FlagDecisionIn, request: Request, session: TenantSession, principal: Principal = MANAGE
) -> Any:
    flag = sales.decide_flag(session, principal, flag_id, body.decision, body.reason, finding_id=body.finding_id)
    return jsonable_encoder(sales_queries.flag_view(flag, request_locale(request)))


@router.get("/sales/agents", responses=_ERRORS, summary="Sales quality by agent (in a period, or ever)")
def list_agents(session: TenantSession, period: PeriodQuery = None, principal: Principal = VIEW) -> Any:
    tenant_id = sales.tenant_of(principal)
    today = dt.datetime.now(tenancy_service.tenant_zone(session, tenant_id)).date()
    if period:
        sales_queries.SaleFilter.of({"period": period})
    licence_kind = sales.rules_of(session, tenant_id).licence_kind
    return sales_queries.agent_summary(session, tenant_id, period, today, licence_kind)


@router.post("/sales/cooling-off/{month}", responses=_ERRORS, summary="Evaluate a month's cooling-off rate per agent")
def post_cooling_off(
    month: Annotated[str, Path(pattern=r"^\d{4}-\d{2}$")],
    request: Request,
    session: TenantSession,
    principal: Principal = MANAGE,
) -> Any:
    flags = sales.evaluate_cooling_off(session, sales.tenant_of(principal), month, actor=principal.actor)
    return jsonable_encoder([sales_queries.flag_view(f, request_locale(request)) for f in flags])


@router.post(
    "/sales/import",
    status_code=201,
    responses={**_ERRORS, 422: {"description": "rejected rows: nothing imported; 'problems' names each"}},
    summary="Import sales from CSV, all or nothing",
)
def post_import(
    dry_run: bool = Query(False, description="check every row, import nothing"),
    *,
    session: TenantSession,
    principal: Principal = MANAGE,
    # After the principal: a stranger's upload is not read.
    content: Annotated[bytes, Depends(_posted_csv)],
) -> Any:
    """Columns: policy_number, product_code, product_name, line, long_term, channel, agent, org_unit,
    region_code, customer_id_number, customer_name, customer_phone, premium, signed_on, effective_on,
    cooling_off_days, disclosure_signed_on, recording_ref, recording_sha256. English or Chinese headers; UTF-8 or
    GB18030."""
    if len(content) > sales_import.MAX_IMPORT_BYTES:
        raise Problem(413, "file", f"file larger than {sales_import.MAX_IMPORT_BYTES} bytes")
    result, flagged = sales_import.import_csv(session, principal, content, dry_run=dry_run)
    return JSONResponse(status_code=200 if dry_run else 201, content=result.as_dict() | {"flagged": flagged})


@router.get("/sales/{policy_number}", responses=_ERRORS, summary="One sale: facts, flags, complaints, revisit")
def get_sale(policy_number: NumberPath, request: Request, session: TenantSession, principal: Principal = VIEW) -> Any:
    return _sale_view(request, session, principal, policy_number)


@router.post("/sales/{policy_number}/cancel", responses=_ERRORS, summary="Record a cancellation (犹豫期 or later)")
def post_cancel(
    policy_number: NumberPath, body: CancelIn, request: Request, session: TenantSession, principal: Principal = MANAGE
) -> Any:
    sales.cancel_sale(session, principal, policy_number, body.cancelled_on)
    return _sale_view(request, session, principal, policy_number)


@router.post(
    "/sales/{policy_number}/complaints", status_code=201, responses=_ERRORS, summary="Link a mis-selling complaint"
)
def post_complaint_link(
    policy_number: NumberPath,
    body: ComplaintLinkIn,
    request: Request,
    session: TenantSession,
    principal: Principal = MANAGE,
) -> Any:
    sales.link_complaint(session, principal, policy_number, body.complaint_number)
    return _sale_view(request, session, principal, policy_number)
