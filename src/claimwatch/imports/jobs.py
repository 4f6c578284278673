"""Running an import: the transactions around :mod:`claimwatch.imports.service`'s batches.

* ``all-or-nothing``: the whole file in one unit of work, rolled back if any row is rejected.
* ``skip-invalid``: one unit of work per batch, so an interrupted import leaves only whole batches; a
  rejected event is dropped and the rest of its batch is tried again in a fresh one.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator

from claimwatch.auth.principal import Principal
from claimwatch.cases import service as cases_service
from claimwatch.db import TenantContext, unit_of_work
from claimwatch.imports import service
from claimwatch.imports.service import ImportFailed, ImportResult, Row


def resolve_tenant(code: str) -> int:
    """The tenant an import names, read before any of its rows (tenants span the tenant scoping)."""
    with unit_of_work(TenantContext.system_context()) as session:
        return service.resolve_tenant(session, code)


def import_rows(
    rows: Iterator[Row],
    principal: Principal,
    *,
    mode: str = "all-or-nothing",
    batch_size: int = 1000,
    progress: Callable[[int], None] | None = None,
) -> ImportResult:
    service.check_mode(mode)
    if principal.tenant_id is None:
        raise ImportFailed("an import needs a tenant")
    result = ImportResult()
    context = TenantContext.for_tenant(principal.tenant_id)
    if mode == "all-or-nothing":
        _import_all_or_nothing(rows, principal, context, batch_size, result, progress)
    else:
        _import_skip_invalid(rows, principal, context, batch_size, result, progress)
    return result


class _RollBack(Exception):
    """Leaves the file's unit of work so that it rolls back (rows were rejected)."""


def _import_all_or_nothing(
    rows: Iterator[Row],
    principal: Principal,
    context: TenantContext,
    batch_size: int,
    result: ImportResult,
    progress: Callable[[int], None] | None,
) -> None:
    try:
        with unit_of_work(context) as session:
            for batch in service.batches(rows, batch_size):
                result.rows += len(batch)
                result.rejects.extend(row.reject for row in batch if row.reject is not None)
                valid = [row for row in batch if row.event is not None]
                if valid and not result.rejects:
                    try:
                        service.count(result, service.apply(session, principal, valid))
                    except cases_service.IngestRejected as exc:
                        result.rejects.extend(service.rejects_of(valid, exc))
                if progress:
                    progress(len(batch))
            if result.rejects:
                raise _RollBack
    except _RollBack:
        result.committed = False
        result.applied = result.duplicates = 0


def _import_skip_invalid(
    rows: Iterator[Row],
    principal: Principal,
    context: TenantContext,
    batch_size: int,
    result: ImportResult,
    progress: Callable[[int], None] | None,
) -> None:
    for batch in service.batches(rows, batch_size):
        result.rows += len(batch)
        result.rejects.extend(row.reject for row in batch if row.reject is not None)
        pending = [row for row in batch if row.event is not None]
        # Dropping one event can invalidate a later one of the same claim: retry until clean.
        while pending:
            try:
                with unit_of_work(context) as session:
                    acks = service.apply(session, principal, pending)
            except cases_service.IngestRejected as exc:
                rejected = service.rejects_of(pending, exc)
                if not rejected:
                    raise
                result.rejects.extend(rejected)
                bad = {p.index for p in exc.event_problems}
                pending = [row for index, row in enumerate(pending) if index not in bad]
                continue
            service.count(result, acks)
            break
        if progress:
            progress(len(batch))
