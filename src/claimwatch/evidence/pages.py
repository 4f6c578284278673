"""The evidence pages (存证). ``/evidence`` for an insurer's staff: the tree's size, its newest signed heads
with the witness's verdict on each, the newest verdict (a red banner when it failed), the signing keys, and
a receipt form (by claim number or by audit seq) that downloads the JSON receipt. For the regulator: every
insurer's newest witnessed head and verdict, alarms first; ``?tenant=CODE`` shows one insurer's page."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, Response
from sqlalchemy.orm import Session

from claimwatch.auth.deps import TenantSession, request_locale, require
from claimwatch.auth.principal import Permission, Principal
from claimwatch.errors import Invalid, NotFound
from claimwatch.evidence import api, page_queries, receipts
from claimwatch.evidence import service as evidence_service
from claimwatch.tenancy import repository as tenancy_repository
from claimwatch.tenancy import service as tenancy_service
from claimwatch.web.pages import PageRoute, render

router = APIRouter(include_in_schema=False, route_class=PageRoute)

ViewerDep = Annotated[Principal, Depends(require(Permission.VIEW_EVIDENCE))]
JSON_MEDIA_TYPE = "application/json; charset=utf-8"
MAX_NUMBER = 64


def receipt_download(receipt: dict[str, Any], filename: str) -> Response:
    """A receipt as the downloaded file (``receipts.dumps``: what ``claimwatch evidence receipt`` writes).
    The lookup page's claimant download answers with it too."""
    return Response(
        receipts.dumps(receipt).encode(),
        media_type=JSON_MEDIA_TYPE,
        headers={"Content-Disposition": f'attachment; filename="{filename}"'},
    )


def _tenant_of(session: Session, principal: Principal, code: str | None) -> int | None:
    """The insurer shown: the caller's own; the regulator's choice (None: the overview)."""
    if not principal.is_regulator:
        assert principal.tenant_id is not None
        return principal.tenant_id
    if not code:
        return None
    tenant = tenancy_repository.tenant_by_code(session, code[:32])
    if tenant is None:
        raise NotFound("tenant", f"no insurer {code!r}")
    return tenant.id


@router.get("/evidence")
def evidence_page(request: Request, principal: ViewerDep, session: TenantSession) -> HTMLResponse:
    locale = request_locale(request)
    tenant_id = _tenant_of(session, principal, request.query_params.get("tenant"))
    if tenant_id is None:
        rows = page_queries.overview(session, locale)
        return render(
            request,
            "evidence/overview.html",
            {"rows": rows, "alarms": [row for row in rows if row["alarm"]]},
            principal=principal,
        )
    view = page_queries.tenant_view(session, tenant_id, locale)
    return render(
        request,
        "evidence/tenant.html",
        {
            "t": view,
            "regulator": principal.is_regulator,
        },
        principal=principal,
        zone=tenancy_service.tenant_zone(session, tenant_id),
    )


@router.get("/evidence/receipt")
def receipt_file(request: Request, scope: api.EvidenceScope) -> Response:
    """The receipt of a claim (``?claim=N``) or of one audit entry (``?seq=S``) as a JSON file. The scope is
    the API's: the caller's insurer, or the one a regulator names (``?tenant=CODE``, read-only: a receipt
    that needs a new signed head is refused until the insurer signs one)."""
    claim = (request.query_params.get("claim") or "").strip()[:MAX_NUMBER]
    seq_text = (request.query_params.get("seq") or "").strip()[:20]
    if claim:
        receipt = evidence_service.receipt_for_claim(scope.session, scope.tenant_id, claim, sign=scope.sign)
        return receipt_download(receipt, f"receipt-{scope.code}-{claim}.json")
    if seq_text:
        if not seq_text.isdigit() or int(seq_text) < 1:
            raise Invalid("seq", "an audit seq is a whole number from 1")
        receipt = evidence_service.receipt_for_entry(scope.session, scope.tenant_id, int(seq_text), sign=scope.sign)
        return receipt_download(receipt, f"receipt-{scope.code}-seq-{int(seq_text)}.json")
    raise Invalid("claim", "give a claim number or an audit seq")
