"""Survey API: the public questionnaire of a link (no account: the token in the path is the credential)
and the staff results. Thin: the rules are in :mod:`claimwatch.surveys.service`, the results in
:mod:`claimwatch.surveys.queries`; a refusal raises and the app answers with the one error body.

The public routes are their own request wrapper: they find the link's insurer in a read-only
cross-tenant transaction, then act as an anonymous claimant of that insurer only."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import JSONResponse

from claimwatch.auth.deps import TenantSession, request_locale, require
from claimwatch.auth.principal import Permission, Principal
from claimwatch.db import TenantContext, unit_of_work
from claimwatch.surveys import queries, service
from claimwatch.surveys.schemas import AnswerIn, AnswerOut, Question, ResultsOut, SurveyOut

public_router = APIRouter(prefix="/api/v1/public/surveys", tags=["satisfaction surveys (public)"])
router = APIRouter(prefix="/api/v1/surveys", tags=["satisfaction surveys"])

# One answer per state, whatever the token: an unknown and a mistyped link look the same.
DETAILS = {
    service.UNKNOWN: "unknown survey link",
    service.ANSWERED: "this survey has already been answered",
    service.GONE: "this survey link has expired",
}
QUESTION_LABELS: dict[str, tuple[str, str]] = {
    "overall": ("总体而言，您对本次服务的满意程度（0–10）", "Overall, how satisfied are you with our service (0–10)?"),
    "timeliness": ("办理速度（0–10）", "Speed of handling (0–10)"),
    "transparency": ("进度和结果的告知是否清楚（0–10）", "How clearly we kept you informed (0–10)"),
    "attitude": ("工作人员的服务态度（0–10）", "Our staff's attitude (0–10)"),
}
_LINK_RESPONSES: dict[int | str, dict[str, Any]] = {
    404: {"description": "unknown link (the same answer for any token that is not a survey's)"},
    409: {"description": "already answered"},
    410: {"description": "expired"},
}


def refused(state: str) -> service.SurveyError:
    """The one refusal of a link in ``state`` (unknown, answered, expired), whatever the token."""
    return service.SurveyError(service.LINK_STATUS[state], "token", DETAILS[state])


def link_tenant(token: str) -> int | None:
    """The insurer of a link (None: malformed or unknown), read in its own read-only cross-tenant
    transaction: the one read of the public path before the tenant is known."""
    if not service.well_formed(token):
        return None
    with unit_of_work(TenantContext.regulator()) as session:
        return service.tenant_of_link(session, token)


@public_router.get("/{token}", response_model=SurveyOut, responses=_LINK_RESPONSES)
def get_survey(token: str, request: Request) -> Any:
    """The questionnaire of a link: which case it is about (number masked), until when it can be answered."""
    tenant_id = link_tenant(token)
    if tenant_id is None:
        raise refused(service.UNKNOWN)
    locale = request_locale(request)
    with unit_of_work(TenantContext.anonymous(tenant_id, read_only=True)) as session:
        view = service.public_view(session, token, locale)
    if view.state != service.OPEN:
        raise refused(view.state)
    pick = 1 if locale == "en" else 0
    return SurveyOut(
        status=view.state,
        insurer=view.insurer,
        subject_type=view.subject_type,
        reference=view.reference,
        closed_at=view.closed_at,  # type: ignore[arg-type]
        expires_at=view.expires_at,  # type: ignore[arg-type]
        questions=[
            Question(field=name, label=QUESTION_LABELS[name][pick], required=name == "overall")
            for name in service.SCORES
        ],
    )


@public_router.post(
    "/{token}",
    status_code=201,
    response_model=AnswerOut,
    responses={**_LINK_RESPONSES, 422: {"description": "a score outside 0–10, or a comment over 1000 characters"}},
)
def post_answer(token: str, body: AnswerIn) -> Any:
    """Answer once. A JSON body only: a cross-site form cannot send one without the browser asking first."""
    tenant_id = link_tenant(token)
    if tenant_id is None:
        raise refused(service.UNKNOWN)
    # A refusal (answered, expired, a bad score) raises out of the unit of work: nothing is kept.
    with unit_of_work(TenantContext.anonymous(tenant_id)) as session:
        response = service.answer(session, token, body)
        out = AnswerOut(status=service.RESPONDED, submitted_at=response.submitted_at)
    return JSONResponse(status_code=201, content=out.model_dump(mode="json"))


ViewerDep = Annotated[Principal, Depends(require(Permission.VIEW_SURVEYS))]


def _query_parameter(name: str, description: str, **schema: Any) -> dict[str, Any]:
    return {
        "name": name,
        "in": "query",
        "required": False,
        "description": description,
        "schema": {"type": "string"} | schema,
    }


# The results' parameters are read (and refused naming each) by queries.parse_query, shared with the page and
# the CLI; they are listed here so that the OpenAPI document shows them.
RESULTS_PARAMETERS = [
    _query_parameter("from", "first local date, YYYY-MM-DD", format="date"),
    _query_parameter("to", "last local date, YYYY-MM-DD (inclusive)", format="date"),
    _query_parameter("by", "group by", enum=list(service.GROUP_BY)),
    _query_parameter("type", "one case type", enum=list(service.SUBJECT_TYPES)),
    _query_parameter("tenant", "insurer code (regulators)", maxLength=32),
    _query_parameter("drill", "one group's comments", maxLength=100),
]


@router.get(
    "/results",
    response_model=ResultsOut,
    responses={422: {"description": "a bad from/to/by/type/tenant parameter, named in the answer"}},
    openapi_extra={"parameters": RESULTS_PARAMETERS},
)
def get_results(request: Request, principal: ViewerDep, session: TenantSession) -> Any:
    """Results by ``by`` (org, line, handler, period, region, subject_type) for the local dates ``from``
    … ``to`` (default: this month and the two before), optionally one ``type`` (claim, complaint);
    regulators may name one insurer with ``tenant``. Comments are masked, newest first."""
    query = queries.parse_query(request.query_params, queries.zone_for(session, principal))
    return queries.results_for(session, principal, query, request_locale(request))
