"""The request session of the rating routes that write.

A regulator's session is read-only across every insurer (:meth:`Principal.context`), yet the regulator runs the
rating: it stores methodology versions, runs, deductions and decisions, and records them in each insurer's audit
chain. So the rating's write routes take :data:`RatingSession`: for a regulator a session that may write across
tenants (the system context), for anyone else their own tenant's session. The services check the permission
(MANAGE_RATINGS, FILE_RATING_OBJECTIONS) before anything is written.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Annotated

from fastapi import Depends
from sqlalchemy.orm import Session

from claimwatch.auth.deps import current_principal, request_unit_of_work
from claimwatch.auth.principal import Permission, Principal
from claimwatch.db import TenantContext


async def rating_session(principal: Principal = Depends(current_principal)) -> AsyncIterator[Session]:
    """A regulator allowed to manage ratings writes in the system context; everyone else in their own."""
    if principal.is_regulator and principal.can(Permission.MANAGE_RATINGS):
        context = TenantContext.system_context()
    else:
        context = principal.context()
    async with request_unit_of_work(context) as session:
        yield session


RatingSession = Annotated[Session, Depends(rating_session, scope="function")]
