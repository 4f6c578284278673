"""The Merkle tree hash of Certificate Transparency (RFC 6962 §2.1, RFC 9162 §2.1) as pure functions over bytes.

``leaf_hash(d) = SHA-256(0x00 || d)``, ``node_hash(l, r) = SHA-256(0x01 || l || r)``; the root of ``n > 1``
leaves splits them at ``k``, the largest power of two smaller than ``n``. Proofs are built from a
``subtree(start, end) -> bytes`` callback giving the hash of leaves ``[start, end)``, so the store answers
them from its stored nodes; ``inclusion_ranges`` / ``consistency_ranges`` name those ranges up front so the
store can fetch every node a proof needs in one query. The verifiers follow RFC 9162 §2.1.3.2 and
§2.1.4.2 step by step and raise :class:`ProofError` saying what failed. Checked against the RFC 6962
reference vectors in ``tests/data/evidence/``. Changing anything here invalidates every signed head.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Sequence

from claimwatch.errors import Invalid

HASH_SIZE = 32
LEAF_PREFIX = b"\x00"
NODE_PREFIX = b"\x01"
EMPTY_ROOT = hashlib.sha256(b"").digest()

Subtree = Callable[[int, int], bytes]
Range = tuple[int, int]


class ProofError(Invalid):
    """A proof did not verify; the message says which check failed."""

    def __init__(self, message: str, field: str = "proof") -> None:
        super().__init__(field, message)


def leaf_hash(data: bytes) -> bytes:
    return hashlib.sha256(LEAF_PREFIX + data).digest()


def node_hash(left: bytes, right: bytes) -> bytes:
    return hashlib.sha256(NODE_PREFIX + left + right).digest()


def split_point(n: int) -> int:
    """The largest power of two smaller than ``n`` (``n > 1``)."""
    return 1 << ((n - 1).bit_length() - 1)


def root(leaf_hashes: Sequence[bytes]) -> bytes:
    """MTH of the given leaf hashes (the hash of the empty string for none), bottom-up in O(n)."""
    if not leaf_hashes:
        return EMPTY_ROOT
    level = list(leaf_hashes)
    while len(level) > 1:
        paired = [node_hash(level[i], level[i + 1]) for i in range(0, len(level) - 1, 2)]
        if len(level) % 2:
            paired.append(level[-1])  # an unpaired right edge moves up unchanged, as MTH's split does
        level = paired
    return level[0]


# --- ranges: which subtrees a proof consists of -------------------------------------------------------------


def perfect_subtrees(start: int, end: int) -> list[tuple[int, int]]:
    """``[start, end)`` (a node of the MTH recursion, or any range aligned like one) as complete subtrees
    ``(level, idx)`` from left to right: level ``k`` idx ``j`` covers ``[j * 2**k, (j + 1) * 2**k)``."""
    nodes: list[tuple[int, int]] = []
    while start < end:
        size = end - start
        level = size.bit_length() - 1
        low = (start & -start).bit_length() - 1 if start else level  # alignment of start
        level = min(level, low)
        nodes.append((level, start >> level))
        start += 1 << level
    return nodes


def fold(hashes: Sequence[bytes]) -> bytes:
    """The hash of a range from its :func:`perfect_subtrees` hashes (left to right, decreasing sizes)."""
    if not hashes:
        raise ValueError("an empty range has no subtree hash")
    result = hashes[-1]
    for left in reversed(hashes[:-1]):
        result = node_hash(left, result)
    return result


def inclusion_ranges(index: int, size: int) -> list[Range]:
    """The leaf ranges of PATH(index, D[size]) (RFC 6962 §2.1.1), nearest the leaf first."""
    if not 0 <= index < size:
        raise ProofError(f"leaf index {index} is not below tree size {size}", "leaf_index")
    ranges: list[Range] = []
    start, end = 0, size
    while end - start > 1:
        k = split_point(end - start)
        if index < start + k:
            ranges.append((start + k, end))
            end = start + k
        else:
            ranges.append((start, start + k))
            start += k
    ranges.reverse()
    return ranges


def consistency_ranges(first: int, second: int) -> list[Range]:
    """The leaf ranges of PROOF(first, D[second]) (RFC 6962 §2.1.2, SUBPROOF), in proof order."""
    if not 0 <= first <= second:
        raise ProofError(f"first size {first} is not between 0 and second size {second}", "first")
    if first in (0, second):
        return []
    ranges: list[Range] = []
    start, end, m, whole = 0, second, first, True
    while True:
        n = end - start
        if m == n:
            if not whole:
                ranges.append((start, end))
            break
        k = split_point(n)
        if m <= k:
            ranges.append((start + k, end))
            end = start + k
        else:
            ranges.append((start, start + k))
            start += k
            m -= k
            whole = False
    ranges.reverse()
    return ranges


def inclusion_path(index: int, size: int, subtree: Subtree) -> list[bytes]:
    return [subtree(start, end) for start, end in inclusion_ranges(index, size)]


def consistency_path(first: int, second: int, subtree: Subtree) -> list[bytes]:
    return [subtree(start, end) for start, end in consistency_ranges(first, second)]


def list_subtree(leaf_hashes: Sequence[bytes]) -> Subtree:
    """A ``subtree`` callback over leaf hashes in memory (tests, small trees)."""
    return lambda start, end: root(leaf_hashes[start:end])


# --- verification (RFC 9162 §2.1.3.2, §2.1.4.2) ----------------------------------------------------------------


def _check_hash(value: bytes, field: str) -> None:
    if len(value) != HASH_SIZE:
        raise ProofError(f"{field} is {len(value)} bytes, not {HASH_SIZE}", field)


def root_from_inclusion(leaf: bytes, index: int, size: int, path: Sequence[bytes]) -> bytes:
    """The root that ``path`` leads to from ``leaf`` at ``index`` in a tree of ``size`` leaves."""
    if index < 0 or index >= size:
        raise ProofError(f"leaf index {index} is not below tree size {size}", "leaf_index")
    _check_hash(leaf, "leaf_hash")
    fn, sn, r = index, size - 1, leaf
    for position, p in enumerate(path):
        _check_hash(p, f"path[{position}]")
        if sn == 0:
            raise ProofError(f"the path is longer than a tree of {size} leaves needs ({len(path)} hashes)", "path")
        if fn & 1 or fn == sn:
            r = node_hash(p, r)
            if not fn & 1:
                while fn and not fn & 1:
                    fn >>= 1
                    sn >>= 1
        else:
            r = node_hash(r, p)
        fn >>= 1
        sn >>= 1
    if sn != 0:
        raise ProofError(f"the path is shorter than a tree of {size} leaves needs ({len(path)} hashes)", "path")
    return r


def verify_inclusion(leaf: bytes, index: int, size: int, path: Sequence[bytes], root_hash: bytes) -> None:
    """Check that ``leaf`` (a leaf hash) is leaf ``index`` of the tree of ``size`` leaves with ``root_hash``."""
    _check_hash(root_hash, "root")
    if root_from_inclusion(leaf, index, size, path) != root_hash:
        raise ProofError(f"the inclusion path of leaf {index} does not lead to the root of size {size}", "root")


def verify_consistency(first: int, second: int, first_root: bytes, second_root: bytes, path: Sequence[bytes]) -> None:
    """Check that the tree of ``second`` leaves with ``second_root`` extends the one of ``first`` leaves
    with ``first_root``."""
    _check_hash(first_root, "first_root")
    _check_hash(second_root, "second_root")
    for position, p in enumerate(path):
        _check_hash(p, f"path[{position}]")
    if first < 0 or first > second:
        raise ProofError(f"first size {first} is not between 0 and second size {second}", "first")
    if first == second:
        if path:
            raise ProofError("a proof between equal sizes must be empty", "path")
        if first_root != second_root:
            raise ProofError(f"two different roots for the same size {first}", "second_root")
        return
    if first == 0:  # every tree extends the empty one; there is nothing to prove
        if path:
            raise ProofError("a proof from the empty tree must be empty", "path")
        if first_root != EMPTY_ROOT:
            raise ProofError("the root of size 0 is not the empty root", "first_root")
        return
    if not path:
        raise ProofError("the consistency path is empty", "path")
    hashes = list(path)
    if first & (first - 1) == 0:  # an exact power of two: the old root is a node of the new tree
        hashes.insert(0, first_root)
    fn, sn = first - 1, second - 1
    while fn & 1:
        fn >>= 1
        sn >>= 1
    fr = sr = hashes[0]
    for c in hashes[1:]:
        if sn == 0:
            raise ProofError(f"the path is longer than sizes {first} → {second} need ({len(path)} hashes)", "path")
        if fn & 1 or fn == sn:
            fr = node_hash(c, fr)
            sr = node_hash(c, sr)
            if not fn & 1:
                while fn and not fn & 1:
                    fn >>= 1
                    sn >>= 1
        else:
            sr = node_hash(sr, c)
        fn >>= 1
        sn >>= 1
    if sn != 0:
        raise ProofError(f"the path is shorter than sizes {first} → {second} need ({len(path)} hashes)", "path")
    if fr != first_root:
        raise ProofError(f"the path does not lead to the root of size {first}", "first_root")
    if sr != second_root:
        raise ProofError(f"the path does not lead to the root of size {second}", "second_root")
