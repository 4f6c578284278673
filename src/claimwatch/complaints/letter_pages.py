"""The decision letter as a document: a print view (/complaints/{number}/letter) and a PDF download
(/complaints/{number}/letter.pdf), both addressed to the complainant by full name (it is their letter).

Only complaint handlers open them (they post and hand over letters), for their own insurer; every opening
is recorded as an access to the complainant's personal data. A letter without a decision, or a stored copy
with a blank date, is refused with a page that says why (409), never printed with a gap.
"""

from __future__ import annotations

from typing import Annotated
from urllib.parse import quote

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response

from claimwatch import pdf
from claimwatch.access import api as access_api
from claimwatch.access import service as access_service
from claimwatch.auth.deps import TenantSession, request_locale, require
from claimwatch.auth.principal import Permission, Principal
from claimwatch.complaints import letters, queries
from claimwatch.complaints.vocabulary import ComplaintError
from claimwatch.web.i18n import N_, render_template
from claimwatch.web.pages import PageRoute, render
from claimwatch.web.security import add_page_headers

router = APIRouter(include_in_schema=False, route_class=PageRoute)

HandlerDep = Annotated[Principal, Depends(require(Permission.HANDLE_COMPLAINTS))]

# Why a letter is not printed, in the reader's language (the field LetterRefused names).
REFUSALS: dict[str, str] = {
    "letter": N_("There is no decision letter yet: it is written when the complaint is decided."),
    "review_deadline": N_(
        "The stored letter has no review deadline, so it is not printed with a blank. "
        "Write the letter again with the deadline before sending it."
    ),
    "decided_date": N_("The stored letter has no decision date, so it is not printed with a blank."),
}


def complaint_url(number: str) -> str:
    return f"/complaints/{quote(number, safe='')}"


def letter_url(number: str, pdf_file: bool = False) -> str:
    return complaint_url(number) + ("/letter.pdf" if pdf_file else "/letter")


def _document(
    request: Request, session: TenantSession, principal: Principal, number: str
) -> letters.LetterDocument | Response:
    try:
        complaint = queries.get_complaint(session, number, principal.tenant_id)
    except ComplaintError:
        return render(request, "complaints/error.html", {"status": 404}, status_code=404, principal=principal)
    try:
        document = letters.letter_document(complaint.decision_letter, complaint.number, complaint.complainant_name)
    except letters.LetterRefused as refused:
        context = {
            "field": refused.field,
            "message": REFUSALS.get(refused.field, REFUSALS["letter"]),
            "complaint_url": complaint_url(complaint.number),
        }
        return render(request, "complaints/letter_refused.html", context, status_code=409, principal=principal)
    # The full name is personal data shown: who saw it is recorded, in this transaction.
    access_api.record_view(
        session, principal, [complaint.tenant_id], access_service.COMPLAINT, complaint.number, "complaint_letter"
    )
    return document


@router.get("/complaints/{number}/letter")
def letter_page(number: str, request: Request, principal: HandlerDep, session: TenantSession) -> Response:
    """The letter on screen, with print and PDF buttons; printing from the browser prints only the letter."""
    document = _document(request, session, principal, number)
    if isinstance(document, Response):
        return document
    context = {
        "doc": document,
        "complaint_url": complaint_url(document.number),
        "pdf_url": letter_url(document.number, pdf_file=True),
    }
    return render(request, "complaints/letter.html", context, principal=principal)


@router.get("/complaints/{number}/letter.pdf")
def letter_pdf(number: str, request: Request, principal: HandlerDep, session: TenantSession) -> Response:
    """The letter as an A4 PDF (``claimwatch.pdf``), downloaded as 投诉处理决定书-{number}.pdf."""
    document = _document(request, session, principal, number)
    if isinstance(document, Response):
        return document
    html = render_template(request_locale(request), "complaints/letter_pdf.html", {"doc": document})
    try:
        content = pdf.html_to_pdf(html)
    except pdf.PdfUnavailable as missing:
        page = render(
            request,
            "complaints/letter_refused.html",
            {"field": "pdf", "message": missing.message, "complaint_url": letter_url(document.number)},
            status_code=503,
            principal=principal,
        )
        return page
    response = Response(
        content,
        media_type=pdf.PDF_MEDIA_TYPE,
        headers={"Content-Disposition": pdf.content_disposition(document.filename)},
    )
    return add_page_headers(response)
