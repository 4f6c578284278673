"""Drawing inspection samples in SQL, at the scale of ten million claims (抽样).

Design: permanent random numbers (PRN, 永久随机数)
---------------------------------------------------
Every record carries a *sample key*: a uniform random integer in ``[0, 2**31)`` drawn once when the record
is stored (``claims.sample_key``, :func:`claimwatch.cases.models.new_sample_key`) and never shown to anyone,
or for kinds without a stored key a well-mixed hash of the id (:func:`hashed_sample_key`). A draw with seed
``s`` *rotates* the keys::

    k' = (sample_key + offset(s)) mod 2**31          offset(s) = SHA-256("claimwatch-draw:s") mod 2**31

and the sample of a stratum of ``N_h`` records with size ``n_h`` is the ``n_h`` records with the smallest
``k'`` (ties, possible because keys may repeat, broken by ``subject_id``). When the keys are independent and
uniform, so are the rotated keys, and the ``n_h`` smallest of ``N_h`` i.i.d. uniforms are a simple random
sample without replacement: every subset of size ``n_h`` is equally likely. This is *order sampling* with
permanent random numbers as national statistical offices use it for coordinated business surveys
(Ohlsson, E., 1995, "Coordination of samples using permanent random numbers", in *Business Survey Methods*,
Wiley, ch. 9; sequential simple random sampling). Consequences:

* Reproducible: the seed (recorded with the draw and in the audit chain) and the stored keys determine the
  sample; anyone may recompute it from the definition below (``tests/inspections/test_draw.py`` does).
* Unbiased: nobody chooses which records are inspected. The randomness that makes each stratum's sample
  a simple random sample is in the keys, drawn by ``secrets`` when a record is stored (before anyone knows
  it will be inspected) and never shown; the seed only picks where on the key circle the draw starts. With
  the keys fixed, the possible samples of a stratum are the runs of ``n_h`` neighbours in key order (this is
  Ohlsson's sequential SRS), so nobody can steer a case out of a sample without changing stored keys.
* Coordination: two draws of the same population overlap by about ``max(0, 1 - d / T)`` of the sample,
  where ``d`` is the distance between their offsets; seeds are hashed, so on average over seeds the overlap
  is that of independent samples. The same seed gives the same sample.

Fast path
---------
``k' < T`` is one key range ``[start, start + T)`` with ``start = -offset mod 2**31``, or two when it wraps
around ``2**31``: a range scan on the index ``(tenant_id, sample_key)``. :func:`draw` uses the stratum counts
(:func:`count_strata`) to choose the share ``T / 2**31`` that gives each stratum its ``n_h`` records with a
margin of about three standard deviations (``n_h + 3·sqrt(n_h) + 3`` expected candidates), asks the database
only for the records below that threshold in key order, and keeps per stratum the first ``n_h``. Strata for
which the shared threshold would be too costly (tiny strata that need a large share of their records), and any
stratum that after all comes up short, are drawn exactly by a per-stratum query in rotated order (``sample_key
>= start ORDER BY sample_key, subject_id LIMIT n_h``, then the wrapped part). Either way the result is exactly
the definition above; only the work differs.

What it reads: the count groups the population by the stratum columns, and the range scan fetches the
candidates' population columns. With an index on ``(tenant_id, org_unit_id, line, region_code, …)`` and the
key index extended to ``(tenant_id, sample_key, id, org_unit_id, line, region_code, assignee_id)`` both read
index pages only, and the key order is the index order; with the bare key index every candidate (about 2 % of
the tenant's rows for a 1 % sample) costs a table-row lookup. ``bench/inspection_sampling.py`` measures both.

Populations are the SELECTs of :mod:`claimwatch.subjects.registry` (labelled ``POPULATION_COLUMNS``); they
are used as subqueries, which SQLite and PostgreSQL both flatten, so the key range reaches the index.
"""

from __future__ import annotations

import hashlib
import math
from collections.abc import Callable, Mapping, Sequence
from operator import itemgetter
from typing import Any
from typing import cast as typing_cast

from sqlalchemy import ColumnElement, Select, and_, func, select
from sqlalchemy.engine import RowMapping
from sqlalchemy.orm import Session

from claimwatch.errors import Invalid
from claimwatch.subjects.keys import KEY_RANGE, hashed_sample_key, hashed_sample_key_value

__all__ = [
    "KEY_RANGE",
    "STRATUM_DIMENSIONS",
    "count_strata",
    "draw",
    "hashed_sample_key",
    "hashed_sample_key_value",
    "top_by_score",
]

STRATUM_DIMENSIONS = ("org_unit_id", "line", "region_code")

# The exact per-stratum query is worth about this many candidate rows of the shared range scan.
_QUERY_COST_ROWS = 2_000
# Candidates expected per stratum: n + _SIGMAS·sqrt(n) + _SIGMAS (a shortfall then happens about once in 700
# strata, and is still handled exactly, by one more query).
_SIGMAS = 3.0

StratumKey = tuple[Any, ...]


def rotation_offset(seed: int) -> int:
    """The rotation of the sample keys for ``seed``: any integer seed maps to a well-spread offset."""
    digest = hashlib.sha256(f"claimwatch-draw:{int(seed)}".encode()).digest()
    return int.from_bytes(digest[:8], "big") % KEY_RANGE


def rotated_key(sample_key: int, seed: int) -> int:
    """The key a draw with ``seed`` orders records by (the definition; used by tests and audits)."""
    return (sample_key + rotation_offset(seed)) % KEY_RANGE


def _check_by(by: Sequence[str]) -> tuple[str, ...]:
    by = tuple(by)
    for name in by:
        if name not in STRATUM_DIMENSIONS:
            raise Invalid("strata", f"unknown stratum dimension {name!r} (known: {', '.join(STRATUM_DIMENSIONS)})")
    if len(set(by)) != len(by):
        raise Invalid("strata", "a stratum dimension is named twice")
    return by


def count_strata(session: Session, population: Select[Any], by: Sequence[str]) -> dict[StratumKey, int]:
    """The population's size per stratum (key: the values of ``by`` in that order; ``by=()`` → ``()``).
    Strata without records are absent."""
    by = _check_by(by)
    sq = population.subquery("population")
    columns = [sq.c[name] for name in by]
    query = select(*columns, func.count()).select_from(sq)
    if columns:
        query = query.group_by(*columns)
    counts: dict[StratumKey, int] = {}
    for row in session.execute(query):
        if row[-1]:
            counts[tuple(row[:-1])] = int(row[-1])
    return counts


def _ranges(start: int, width: int) -> list[tuple[int, int]]:
    """Key ranges [lo, hi) holding the rotated keys [0, width) when rotation maps key ``start`` to 0."""
    if width <= 0:
        return []
    if width >= KEY_RANGE:
        return [(start, KEY_RANGE), (0, start)] if start else [(0, KEY_RANGE)]
    end = start + width
    if end <= KEY_RANGE:
        return [(start, end)]
    return [(start, KEY_RANGE), (0, end - KEY_RANGE)]


def _needed_share(n: int, big_n: int) -> float:
    """The share of a stratum's records expected to hold ``n`` candidates with a safe margin."""
    return min(1.0, (n + _SIGMAS * math.sqrt(n) + _SIGMAS) / big_n)


def _choose_share(need: Mapping[StratumKey, int], counts: Mapping[StratumKey, int]) -> float:
    """The shared threshold (as a share of the key range) minimising rows read + per-stratum queries."""
    population = sum(counts.values())
    shares = sorted((_needed_share(n, counts[key]), counts[key]) for key, n in need.items())
    # Taking the share of the i-th stratum covers it and all before it; the rest are queried one by one.
    best_share, best_cost = 0.0, float(len(shares) * _QUERY_COST_ROWS + sum(size for _, size in shares))
    rest = best_cost
    for share, size in shares:
        rest -= _QUERY_COST_ROWS + size
        cost = share * population + rest
        if cost < best_cost:
            best_share, best_cost = share, cost
    return best_share


def _key_between(column: Any, lo: int, hi: int) -> ColumnElement[bool]:
    """``lo <= key < hi``; the bound 2**31 is left out (it is no int4 on PostgreSQL, and every key is below)."""
    return and_(column >= lo, column < hi) if hi < KEY_RANGE else column >= lo


def _stratum_condition(sq: Any, by: tuple[str, ...], key: StratumKey) -> ColumnElement[bool]:
    return and_(
        *(sq.c[name].is_(None) if value is None else sq.c[name] == value for name, value in zip(by, key, strict=True))
    )


def _exact(session: Session, sq: Any, by: tuple[str, ...], key: StratumKey, n: int, start: int) -> list[Any]:
    """The ``n`` records of one stratum with the smallest rotated keys, in rotated order, by the index."""
    rows: list[Any] = []
    base = select(sq).where(_stratum_condition(sq, by, key)) if by else select(sq)
    for lo, hi in _ranges(start, KEY_RANGE):
        if len(rows) >= n:
            break
        query = (
            base.where(_key_between(sq.c.sample_key, lo, hi))
            .order_by(sq.c.sample_key, sq.c.subject_id)
            .limit(n - len(rows))
        )
        rows.extend(session.execute(query).mappings())
    return rows


def draw(
    session: Session,
    population: Select[Any],
    by: Sequence[str],
    sizes: Mapping[StratumKey, int],
    seed: int,
    *,
    counts: Mapping[StratumKey, int] | None = None,
) -> dict[StratumKey, list[RowMapping]]:
    """Per stratum of ``sizes``, the ``sizes[key]`` records with the smallest rotated sample key (all of them
    where the stratum is smaller), in rotated order. Rows carry the population's columns. ``counts`` may pass
    :func:`count_strata`'s answer when the caller already has it (it only steers the work, never the result)."""
    by = _check_by(by)
    for key, n in sizes.items():
        if len(key) != len(by):
            raise Invalid("strata", f"stratum {key!r} does not match the dimensions {by!r}")
        if n < 0:
            raise Invalid("size", f"negative sample size {n} for stratum {key!r}")
    result: dict[StratumKey, list[RowMapping]] = {key: [] for key in sizes}
    if counts is None:
        counts = count_strata(session, population, by)
    need = {key: min(n, counts[key]) for key, n in sizes.items() if n > 0 and counts.get(key, 0) > 0}
    if not need:
        return result
    sq = population.subquery("population")
    offset = rotation_offset(seed)
    start = (KEY_RANGE - offset) % KEY_RANGE
    share = _choose_share(need, counts)
    width = KEY_RANGE if share >= 1.0 else math.ceil(share * KEY_RANGE)

    # The candidates arrive in rotated order (the range from ``start`` first, each by key then id: the index
    # order), so a stratum's sample is its first n candidates. Plain rows while sifting: cheaper than mappings.
    names = list(sq.c.keys())
    stratum_of = _stratum_getter([names.index(name) for name in by])
    candidates: dict[StratumKey, list[Any]] = {key: [] for key in need}
    for lo, hi in _ranges(start, width) if width else []:
        query = select(sq).where(_key_between(sq.c.sample_key, lo, hi)).order_by(sq.c.sample_key, sq.c.subject_id)
        for row in session.execute(query):
            bucket = candidates.get(stratum_of(row))
            if bucket is not None:
                bucket.append(row)
    for key, n in need.items():
        found = candidates[key]
        if len(found) >= n:
            result[key] = [row._mapping for row in found[:n]]
        else:  # not covered by the shared threshold (or short by chance): exactly, stratum by stratum
            result[key] = _exact(session, sq, by, key, sizes[key], start)
    return result


def _stratum_getter(positions: list[int]) -> Callable[[Any], StratumKey]:
    if len(positions) > 1:
        return typing_cast(Callable[[Any], StratumKey], itemgetter(*positions))
    if positions:
        (position,) = positions
        return lambda row: (row[position],)
    return lambda row: ()


def top_by_score(session: Session, population: Select[Any], k: int) -> list[RowMapping]:
    """The ``k`` records with the highest score (targeted plans); equal scores by sample key, then id.
    Records without a score come last."""
    if k <= 0:
        return []
    sq = population.subquery("population")
    query = select(sq).order_by(sq.c.score.desc().nulls_last(), sq.c.sample_key, sq.c.subject_id).limit(k)
    return list(session.execute(query).mappings())
