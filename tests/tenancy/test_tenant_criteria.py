"""The tenant criteria list the mapped classes under ``TenantScoped`` once (claimwatch/db.py ``_TenantCriteria``):
a class mapped after that list was made must still be narrowed to the tenant."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from claimwatch import db
from claimwatch.cases.models import Claim


def _where(statement) -> str:
    return str(statement.compile(compile_kwargs={"literal_binds": True})).split("WHERE", 1)[-1]


def test_a_class_mapped_after_the_first_scoped_query_is_scoped_too():
    criteria = db._tenant_criteria(41)
    assert "tenant_id = 41" in _where(select(Claim).options(criteria))  # the list of scoped classes is made here

    class LateBase(DeclarativeBase):
        pass

    class LateRow(db.TenantScoped, LateBase):
        __tablename__ = "late_rows_for_the_criteria_test"
        id: Mapped[int] = mapped_column(primary_key=True)

    assert "late_rows_for_the_criteria_test.tenant_id = 41" in _where(select(LateRow).options(criteria))
    assert "tenant_id" not in _where(select(LateRow).where(LateRow.id == 1))
