"""Appraisal API (thin): a month's scorecards (whom the caller may see), one person's card with its trend, my
own card, the manager's comment, computing a month and loading a scheme version. A person the caller may not
see: 403; another insurer's: unknown (404)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Query, Request
from fastapi.encoders import jsonable_encoder
from pydantic import BaseModel, ConfigDict, Field

from claimwatch.auth.deps import TenantSession, request_locale, require
from claimwatch.auth.principal import Permission, Principal
from claimwatch.cases.schemas import IDENTIFIER_PATTERN
from claimwatch.errors import NotFound
from claimwatch.params import RowId
from claimwatch.people import appraisal, appraisal_queries, appraisal_scheme
from claimwatch.people import service as people_service

router = APIRouter(prefix="/api/v1", tags=["people"])

VIEW = Depends(require(Permission.VIEW_APPRAISALS))
OWN = Depends(require(Permission.VIEW_OWN_APPRAISAL))
COMMENT = Depends(require(Permission.COMMENT_APPRAISALS))
MANAGE = Depends(require(Permission.MANAGE_APPRAISALS))
CodePath = Annotated[str, Path(min_length=1, max_length=64, pattern=IDENTIFIER_PATTERN)]
MonthQuery = Annotated[str | None, Query(max_length=7, pattern=r"^\d{4}-\d{2}$", description="YYYY-MM")]
_ERRORS: dict[int | str, dict[str, Any]] = {
    403: {"description": "the role may not do this, or the person is not the caller's to see"},
    404: {"description": "unknown staff member or scorecard"},
    422: {"description": "invalid field (named in 'problems')"},
}


class CommentIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    comment: str = Field(min_length=1, max_length=appraisal.MAX_COMMENT)


class ComputeIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    month: str = Field(pattern=r"^\d{4}-\d{2}$", description="YYYY-MM")


class SchemeIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    content: str = Field(min_length=1, max_length=appraisal.MAX_SCHEME_FILE, description="the scheme YAML")
    source: str | None = Field(default=None, max_length=200)


def _month(raw: str | None) -> Any:
    return None if raw is None else appraisal_scheme.parse_month(raw)


@router.get("/people/appraisals", responses=_ERRORS, summary="A month's scorecards of the people I may see")
def list_appraisals(
    request: Request,
    session: TenantSession,
    month: MonthQuery = None,
    kind: Annotated[str | None, Query(pattern=r"^(employee|agent)$")] = None,
    job_title: Annotated[str | None, Query(max_length=100)] = None,
    min_stars: Annotated[int | None, Query(ge=1, le=5)] = None,
    principal: Principal = VIEW,
) -> Any:
    tenant_id = people_service.tenant_of(principal)
    months = appraisal_queries.computed_months(session, tenant_id, 1)
    chosen = _month(month) or (appraisal_scheme.parse_month(months[0]) if months else None)
    if chosen is None:
        return {"month": None, "rows": [], "distribution": appraisal_scheme.distribution([]), "count": 0}
    filters = appraisal_queries.Filters(kind=kind, job_title=job_title, min_stars=min_stars)
    visible = appraisal.viewable_staff(session, principal)
    found = appraisal_queries.month_list(session, tenant_id, chosen, visible, filters, request_locale(request))
    return jsonable_encoder({"month": f"{chosen:%Y-%m}", **found})


def _person(request: Request, session: Any, principal: Principal, code: str, month: str | None) -> Any:
    staff = appraisal.staff_for_view(session, principal, code)
    view = appraisal_queries.person_view(session, staff, _month(month), request_locale(request))
    view = {k: v for k, v in view.items() if k != "staff"}
    return jsonable_encoder({"staff_code": staff.code, "name": staff.name, "kind": staff.kind, **view})


@router.get("/people/appraisals/{code}", responses=_ERRORS, summary="One person's scorecard, trend and peers")
def get_appraisal(
    code: CodePath, request: Request, session: TenantSession, month: MonthQuery = None, principal: Principal = OWN
) -> Any:
    """The person, their managers and the quality department; anyone else 403."""
    return _person(request, session, principal, code, month)


@router.get("/me/appraisal", responses=_ERRORS, summary="My own scorecard")
def get_my_appraisal(
    request: Request, session: TenantSession, month: MonthQuery = None, principal: Principal = OWN
) -> Any:
    tenant_id = people_service.tenant_of(principal)
    me = people_service.staff_for_user(session, tenant_id, principal.user_id or 0) if principal.user_id else None
    if me is None:
        raise NotFound("staff", "this account is not linked to a staff member")
    return _person(request, session, principal, me.code, month)


@router.post(
    "/people/appraisals/scorecards/{scorecard_id}/comment", responses=_ERRORS, summary="The manager's comment (audited)"
)
def post_comment(
    scorecard_id: RowId, body: CommentIn, request: Request, session: TenantSession, principal: Principal = COMMENT
) -> Any:
    card = appraisal.comment(session, principal, scorecard_id, body.comment)
    return {"id": card.id, "manager_comment": card.manager_comment, "commented_by": card.commented_by}


@router.post("/people/appraisals/compute", responses=_ERRORS, summary="Compute (or recompute) a month (audited)")
def post_compute(body: ComputeIn, session: TenantSession, principal: Principal = MANAGE) -> Any:
    tenant_id = people_service.tenant_of(principal)
    result = appraisal.compute_month(session, tenant_id, appraisal_scheme.parse_month(body.month), principal)
    return {
        "month": f"{result.month:%Y-%m}",
        "scheme_version": result.scheme_version,
        "cards": result.cards,
        "scored": result.scored,
        "missing_sources": result.missing_sources,
    }


@router.get("/people/appraisal-scheme", responses=_ERRORS, summary="The scheme in force and earlier versions")
def get_scheme(session: TenantSession, principal: Principal = VIEW) -> Any:
    tenant_id = people_service.tenant_of(principal)
    versions = appraisal.scheme_versions(session, tenant_id)
    return {
        "in_force": None if not versions else {"version": versions[0].version, "sha256": versions[0].digest,
                                               "content": versions[0].content},
        "versions": [
            {"id": v.id, "version": v.version, "sha256": v.digest, "loaded_by": v.loaded_by, "loaded_at": v.loaded_at}
            for v in versions
        ],
        "sources": sorted(appraisal_scheme.metric_sources()),
    }  # fmt: skip


@router.post("/people/appraisal-scheme", status_code=201, responses=_ERRORS, summary="Load a scheme version (audited)")
def post_scheme(body: SchemeIn, session: TenantSession, principal: Principal = MANAGE) -> Any:
    """A weight table that does not sum to 100: 422 naming ``metrics`` with file:line; nothing stored."""
    tenant_id = people_service.tenant_of(principal)
    row = appraisal.load_scheme(session, principal, tenant_id, body.content, body.source or "api")
    return {"id": row.id, "version": row.version, "sha256": row.digest}
