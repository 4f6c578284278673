"""The KPI engine's DuckDB SQL as Spark SQL: one catalogue, two engines, no second copy of any formula.

:mod:`claimwatch.kpi.engine` writes every statement in DuckDB's dialect (the catalogue's formulas are DuckDB
SQL). For Spark each statement is bound (its ``?`` parameters become literals: Spark's positional parameters
would need a second way of passing timestamps) and translated by SQLGlot, with the rewrites where the engines
differ in meaning and not only in spelling:

- ``epoch(ts)`` is seconds with their fraction in DuckDB (a DOUBLE, microseconds / 10^6); SQLGlot's
  ``UNIX_TIMESTAMP`` would drop the fraction. It becomes ``UNIX_MICROS(CAST(ts AS TIMESTAMP_LTZ)) / 1e6``, the
  same division on the same integer, so the results are bit-identical (the session zone is UTC, see
  :data:`SESSION_CONF`, so the cast keeps the wall time).
- ``date_trunc`` returns a zoned timestamp in Spark; it is cast back to ``TIMESTAMP_NTZ`` (wall time, as every
  snapshot timestamp is), so Python receives the bucket itself and not one shifted into the driver's zone.

The rest is the Spark session's settings (:data:`SESSION_CONF`): timestamps without zone by default, the session
zone UTC, and ANSI mode off, as DuckDB answers NULL where ANSI Spark raises (a failed cast, an overflow).
A division by zero still differs (DuckDB: ±inf, Spark: NULL): the catalogue guards its denominators with
``nullif`` and the engine never divides, so no KPI meets it; tests/kpi/test_spark_engine.py compares every KPI.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Sequence
from functools import lru_cache
from typing import Any

import sqlglot
from sqlglot import exp
from sqlglot.dialects.duckdb import DuckDB
from sqlglot.tokens import TokenType

# Settings a Spark session needs for the transpiled statements to mean what DuckDB's do.
SESSION_CONF = {
    "spark.sql.session.timeZone": "UTC",
    "spark.sql.timestampType": "TIMESTAMP_NTZ",
    "spark.sql.ansi.enabled": "false",
}


class Untranslatable(ValueError):
    """A statement or parameter the Spark translation does not handle."""


def literal(value: Any) -> str:
    """A parameter value as a DuckDB literal (naive datetimes are snapshot wall time)."""
    if value is None:
        return "NULL"
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if not math.isfinite(value):
            raise Untranslatable(f"non-finite parameter {value!r}")
        return repr(value)
    if isinstance(value, str):
        return "'" + value.replace("'", "''") + "'"
    if isinstance(value, dt.datetime):
        if value.tzinfo is not None:
            raise Untranslatable(f"zoned timestamp parameter {value!r}: the snapshot holds wall time")
        return f"TIMESTAMP '{value.strftime('%Y-%m-%d %H:%M:%S.%f')}'"
    if isinstance(value, dt.date):
        return f"DATE '{value.isoformat()}'"
    raise Untranslatable(f"parameter of type {type(value).__name__}")


def bind(sql: str, params: Sequence[Any] = ()) -> str:
    """Replaces each ``?`` placeholder (not one inside a string) by its parameter as a literal."""
    places = [token for token in DuckDB().tokenize(sql) if token.token_type == TokenType.PLACEHOLDER]
    if len(places) != len(params):
        raise Untranslatable(f"{len(places)} placeholders for {len(params)} parameters")
    bound = sql
    for token, value in reversed(list(zip(places, params, strict=True))):
        bound = bound[: token.start] + literal(value) + bound[token.end + 1 :]
    return bound


def _rewrite(node: exp.Expression) -> exp.Expression:
    if isinstance(node, exp.TimeToUnix):
        micros = exp.Anonymous(
            this="UNIX_MICROS", expressions=[exp.cast(node.this, exp.DataType.build("TIMESTAMP_LTZ", dialect="spark"))]
        )
        return exp.paren(exp.Div(this=micros, expression=exp.Literal.number("1e6")), copy=False)
    if isinstance(node, exp.TimestampTrunc):
        return exp.cast(node, exp.DataType.build("TIMESTAMP_NTZ", dialect="spark"))
    return node


@lru_cache(maxsize=4096)
def _translate(sql: str) -> str:
    try:
        tree = sqlglot.parse_one(sql, read="duckdb")
    except sqlglot.errors.ParseError as exc:
        raise Untranslatable(str(exc).splitlines()[0]) from exc
    return tree.transform(_rewrite, copy=False).sql(dialect="spark")


def to_spark(sql: str, params: Sequence[Any] = ()) -> str:
    """One DuckDB statement of the KPI engine, with its parameters, as a Spark SQL statement."""
    return _translate(bind(sql, params))
