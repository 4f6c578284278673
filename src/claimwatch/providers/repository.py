"""Queries of the register: providers, their contracts and service levels (tenant scoping is db.py's)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from claimwatch.providers.models import ContractLevel, Provider, ProviderContract

MAX_LIST = 2000


def providers_by_code(session: Session, code: str, tenant_id: int | None = None) -> list[Provider]:
    """Every provider with this code the caller sees (a regulator: one per insurer that has it)."""
    statement = select(Provider).where(Provider.code == code)
    if tenant_id is not None:
        statement = statement.where(Provider.tenant_id == tenant_id)
    return list(session.execute(statement.order_by(Provider.tenant_id)).scalars())


def provider_by_id(session: Session, provider_id: int) -> Provider | None:
    return session.get(Provider, provider_id)


def providers(
    session: Session,
    *,
    kinds: Sequence[str] = (),
    status: str | None = None,
    text: str | None = None,
    tenant_id: int | None = None,
    limit: int = MAX_LIST,
) -> list[Provider]:
    """Providers by kind and stored status, code or name containing ``text``; regions, lines and the blacklist
    are judged by the caller (a provider serves a few regions; the register is hundreds of rows)."""
    statement = select(Provider)
    if kinds:
        statement = statement.where(Provider.kind.in_(list(kinds)))
    if status is not None:
        statement = statement.where(Provider.status == status)
    if tenant_id is not None:
        statement = statement.where(Provider.tenant_id == tenant_id)
    if text:
        pattern = f"%{text.replace('%', '').replace('_', '')}%"
        statement = statement.where(or_(Provider.code.ilike(pattern), Provider.name.ilike(pattern)))
    return list(session.execute(statement.order_by(Provider.tenant_id, Provider.code).limit(limit)).scalars())


def contract_by_reference(session: Session, tenant_id: int, reference: str) -> ProviderContract | None:
    statement = select(ProviderContract).where(
        ProviderContract.tenant_id == tenant_id, ProviderContract.reference == reference
    )
    return session.execute(statement).scalar_one_or_none()


def contracts_of(session: Session, provider_id: int) -> list[ProviderContract]:
    """The provider's contracts, the latest start first."""
    statement = select(ProviderContract).where(ProviderContract.provider_id == provider_id)
    return list(
        session.execute(statement.order_by(ProviderContract.starts_on.desc(), ProviderContract.id.desc())).scalars()
    )


def contracts_in_force(session: Session, provider_id: int, on: dt.date) -> list[ProviderContract]:
    """Contracts in force on ``on``, the latest start first (it wins where two overlap)."""
    statement = select(ProviderContract).where(
        ProviderContract.provider_id == provider_id,
        ProviderContract.starts_on <= on,
        or_(ProviderContract.ends_on.is_(None), ProviderContract.ends_on >= on),
    )
    return list(
        session.execute(statement.order_by(ProviderContract.starts_on.desc(), ProviderContract.id.desc())).scalars()
    )


def levels_of(session: Session, contract_ids: Sequence[int]) -> dict[int, list[ContractLevel]]:
    """The levels of these contracts, by contract id."""
    found: dict[int, list[ContractLevel]] = {cid: [] for cid in contract_ids}
    if not contract_ids:
        return found
    statement = select(ContractLevel).where(ContractLevel.contract_id.in_(list(contract_ids)))
    for level in session.execute(statement.order_by(ContractLevel.task_kind)).scalars():
        found.setdefault(level.contract_id, []).append(level)
    return found


def provider_ids_with_level(session: Session, task_kind: str, on: dt.date) -> set[int]:
    """Providers whose contract in force on ``on`` sets a level for ``task_kind`` (they serve it)."""
    statement = (
        select(ProviderContract.provider_id)
        .join(ContractLevel, ContractLevel.contract_id == ProviderContract.id)
        .where(
            ContractLevel.task_kind == task_kind,
            ProviderContract.starts_on <= on,
            or_(ProviderContract.ends_on.is_(None), ProviderContract.ends_on >= on),
        )
    )
    return set(session.execute(statement).scalars())
