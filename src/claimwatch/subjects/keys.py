"""Sample keys for record kinds without a stored one (``claims.sample_key`` is stored; complaints are not).

Lives with the subject registry, below the domains that declare subject kinds, so a kind's population SELECT
can label ``hashed_sample_key(Model.id)`` as its ``sample_key`` (``inspections/draw.py`` explains how draws
use the keys).
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import BigInteger, ColumnElement, cast, literal_column

KEY_RANGE = 2**31  # sample keys are in [0, KEY_RANGE)

# hashed_sample_key: key = (B · ((A · (id mod P) + C) mod P)^5 mod P + D) mod 2**31, P = 2**31 - 1 (prime).
# x ↦ x^5 permutes Z/P (gcd(5, P - 1) = 1) and is far from linear, so consecutive ids do not give a
# lattice (a Weyl sequence ``a·id mod m`` would); the affine steps are permutations too, so ids below P get
# distinct keys. Every intermediate stays below 2**62: exact in SQLite's and PostgreSQL's 64-bit integers.
_P = 2**31 - 1
_A, _C = 1_103_515_245, 12_345_679
_B, _D = 1_664_525_041, 1_013_904_223  # B odd: a permutation mod 2**31


def hashed_sample_key_value(subject_id: int) -> int:
    """:func:`hashed_sample_key` in Python (the same number)."""
    x = (_A * (subject_id % _P) + _C) % _P
    x = pow(x, 5, _P)
    return (_B * x + _D) % KEY_RANGE


def hashed_sample_key(id_column: Any) -> ColumnElement[int]:
    """A sample key in [0, 2**31) computed from an integer id, identical on SQLite and PostgreSQL, for record
    kinds without a stored key. Label it ``sample_key`` in the population SELECT."""

    def const(value: int) -> Any:
        return literal_column(str(value), BigInteger)

    p = const(_P)
    x = (cast(id_column, BigInteger) % p * const(_A) + const(_C)) % p
    x2 = x * x % p
    x4 = x2 * x2 % p
    x5 = x4 * x % p
    return (x5 * const(_B) + const(_D)) % const(KEY_RANGE)
