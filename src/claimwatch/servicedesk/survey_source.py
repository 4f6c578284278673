"""The consultation-satisfaction survey (咨询满意度回访, seed 002) of a closed service request, through the surveys
domain's own issuing, public link and results (:mod:`claimwatch.surveys.sources`; wired in
:mod:`claimwatch.subject_sources`): a request closed in the survey pass's window gets one survey, its invitation sent
to the customer's phone (or e-mail) the request was answered on. Cancelled requests get none; a request reopened and
closed again keeps its one survey."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import select
from sqlalchemy.orm import Session

from claimwatch.db import tenant_context
from claimwatch.notify.repository import Contact
from claimwatch.servicedesk import service
from claimwatch.servicedesk.models import ServiceRequest
from claimwatch.surveys import sources
from claimwatch.surveys.service import Subject
from claimwatch.web.i18n import N_

CODE = "service_request"


def subject_key(request_id: int) -> str:
    return f"{CODE}:{request_id}"


def due(session: Session, since: dt.datetime, until: dt.datetime) -> list[Subject]:
    """The session's tenant's requests closed in [since, until), oldest first."""
    statement = select(ServiceRequest).where(
        ServiceRequest.status == "closed",
        ServiceRequest.closed_at >= since,
        ServiceRequest.closed_at < until,
    )
    tenant_id = tenant_context(session).tenant_id
    if tenant_id is not None:
        statement = statement.where(ServiceRequest.tenant_id == tenant_id)
    found = session.execute(statement.order_by(ServiceRequest.closed_at, ServiceRequest.id)).scalars()
    return [
        Subject(
            key=subject_key(request.id),
            subject_type=CODE,
            reference=request.number,
            closed_at=request.closed_at or until,
            claim_id=request.claim_id,
            org_unit_id=request.org_unit_id,
            handler_id=request.handler_id,
            outcome=(request.resolution_code or "")[:24] or None,
        )
        for request in found
    ]


def contact(session: Session, subject: Subject) -> Contact:
    """The customer the request's replies went to (the service's own recipient of a request)."""
    return service.contact_of(service.get_request(session, subject.reference))


SOURCE = sources.register(
    sources.SurveySource(
        code=CODE,
        label=N_("Service request"),
        invitation=N_("service request"),
        url="/service-requests/{reference}",
        due=due,
        contact=contact,
    )
)
