"""Restricting a catalogue formula to some rows by a FILTER on each of its aggregates.

Several KPIs over the same table and period column are computed in one scan (claimwatch.kpi.engine): the
scan keeps the rows any of them wants, and each KPI's ``where`` moves into its own aggregates, so
``count(*) FILTER (WHERE a)`` under ``where: w`` becomes ``count(*) FILTER (WHERE (w) AND (a))`` and
``sum(x)`` becomes ``sum(x) FILTER (WHERE w)``. Every aggregate then sees exactly the rows it saw in the KPI's
own statement, so the figures are the same (distinct counts stay exact). The formula is parsed and written
back by SQLGlot in DuckDB's dialect, as claimwatch.kpi.transpile reads it for Spark.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Any

import sqlglot
from sqlglot import exp


def _select(expression: str) -> exp.Select:
    """``SELECT expression``, parsed in DuckDB's dialect."""
    tree = sqlglot.parse_one(f"SELECT {expression}", read="duckdb")
    if not isinstance(tree, exp.Select) or len(tree.selects) != 1:
        raise sqlglot.errors.ParseError(f"not one expression: {expression!r}")
    return tree


class NotFilterable(ValueError):
    """A formula whose aggregates cannot simply be filtered (a window function, a nested aggregate, none)."""


@lru_cache(maxsize=1024)
def restricted(expression: str, condition: str) -> str:
    """``expression`` (a formula of aggregates) evaluated only over the rows where ``condition`` holds."""
    try:
        tree = _select(expression)
        where = sqlglot.condition(condition, dialect="duckdb")
    except sqlglot.errors.ParseError as exc:
        raise NotFilterable(str(exc).splitlines()[0]) from exc
    if tree.find(exp.Window) is not None:
        raise NotFilterable(f"window function in {expression!r}")
    aggregates = list(tree.find_all(exp.AggFunc))
    if not aggregates:
        raise NotFilterable(f"no aggregate in {expression!r}")
    for aggregate in aggregates:
        if any(isinstance(outer, exp.AggFunc) for outer in _ancestors(aggregate)):
            raise NotFilterable(f"nested aggregate in {expression!r}")
        if isinstance(aggregate.parent, exp.Filter):
            existing = aggregate.parent.expression
            existing.set("this", exp.and_(exp.paren(where.copy()), exp.paren(existing.this)))
        else:
            aggregate.replace(exp.Filter(this=aggregate.copy(), expression=exp.Where(this=where.copy())))
    return tree.selects[0].sql(dialect="duckdb")


def _ancestors(node: Any) -> list[Any]:
    found: list[Any] = []
    parent = node.parent
    while parent is not None:
        found.append(parent)
        parent = parent.parent
    return found


def _distinct_column(node: exp.Expression) -> str | None:
    """The column of ``count(DISTINCT column)``, else None."""
    if isinstance(node, exp.Count) and isinstance(node.this, exp.Distinct):
        columns = node.this.expressions
        if len(columns) == 1 and isinstance(columns[0], exp.Column) and not columns[0].table:
            return str(columns[0].name)
    return None


def distinct_columns(expression: str) -> set[str]:
    """The columns ``expression`` counts distinct values of (``count(DISTINCT column)``)."""
    try:
        tree = _select(expression)
    except sqlglot.errors.ParseError:
        return set()
    return {column for node in tree.find_all(exp.Count) if (column := _distinct_column(node)) is not None}


@lru_cache(maxsize=1024)
def _bitmap_counted(expression: str, ranges: tuple[tuple[str, int, int], ...]) -> str:
    bounds = {column: (low, high) for column, low, high in ranges}
    try:
        tree = _select(expression)
    except sqlglot.errors.ParseError as exc:
        raise NotFilterable(str(exc).splitlines()[0]) from exc
    for node in list(tree.find_all(exp.Count)):
        column = _distinct_column(node)
        if column is None or column not in bounds:
            continue
        low, high = bounds[column]
        bitmap = exp.Anonymous(
            this="bitstring_agg",
            expressions=[exp.column(column), exp.Literal.number(low), exp.Literal.number(high)],
        )
        # count(DISTINCT c) [FILTER (…)] is the number of bits set in the bitmap of c [of the filtered rows]; a group
        # with no such row has no bitmap (NULL), where count gives 0.
        filtered = node.parent if isinstance(node.parent, exp.Filter) else None
        if filtered is not None:
            filtered.set("this", bitmap)
        counted = filtered.copy() if filtered is not None else bitmap
        (filtered or node).replace(
            exp.Coalesce(
                this=exp.Anonymous(this="bit_count", expressions=[counted]),
                expressions=[exp.Literal.number(0)],
            )
        )
    return tree.selects[0].sql(dialect="duckdb")


def bitmap_counted(expression: str, ranges: dict[str, tuple[int, int]]) -> str:
    """``expression`` with each ``count(DISTINCT c)`` of an integer column c whose values lie in ``ranges[c]``
    (low, high) counted as the bits set in a bitmap of the values (DuckDB's ``bitstring_agg``): the same exact
    count, without the hash table of every distinct value per group that ``count(DISTINCT)`` builds. A bitmap
    holds high - low + 1 bits per group, so the caller keeps it for few groups and a bounded range."""
    return _bitmap_counted(expression, tuple(sorted((c, low, high) for c, (low, high) in ranges.items())))
