"""Evidence receipts (存证回执): JSON anyone can check offline with only a public key.

An **entry receipt** proves that one audit entry is leaf ``seq - 1`` of a tree head the insurer signed::

    {"version": 1, "tenant": "PICC", "seq": 42, "kind": "materials.document", "subject": "CLM2026000123",
     "recorded_at": "2026-11-20T01:30:00.123456+00:00",
     "leaf": {"data": "<the leaf data, evidence.leaves, as text>", "content_hash": "<64 hex>"},
     "content": "<the entry's payload text>",            # only for entries that carry their own content
     "proof": {"leaf_index": 41, "tree_size": 100, "path": ["<64 hex>", …]},
     "tree_head": {"size": 100, "root": "<64 hex>", "signed_at": "2026-11-20T02:00:00.000Z",
                   "key_id": "<16 hex>", "signature": "<128 hex>"},
     "public_key": "<64 hex, raw Ed25519>"}

``content`` is omitted for case events, whose rows may hold personal data: their ``content_hash`` is the
hash of the stored event row. A **claim receipt** is ``{"version": 1, "tenant", "claim", "entries": [entry
receipt, …]}``: the claim's case events, document fingerprints and materials notices.

:func:`verify` checks, for every entry: the leaf data is the canonical leaf of the receipt's fields, its hash
leads through the inclusion path to the head's root, the head's signature (``evidence.heads.signed_bytes``)
verifies with the public key, the key id names that key, the content hashes to ``content_hash``; with a
document, its SHA-256 is the fingerprint the content records. Each field is bound by the signature, the
proof or a copy in the leaf data, so one changed bit anywhere is refused, and :class:`ReceiptError` names
the field at fault (``"proof.path[3]"``, ``"tree_head.signature"``, ``"leaf.data"``, ``"document"``, and
``"entries[2]."`` before it in a claim receipt): where a hash cannot say which of two inputs changed, the
verifier asks which single correction would make everything verify. Verification needs no database.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any

from claimwatch.audit.hashing import format_timestamp
from claimwatch.errors import Invalid
from claimwatch.evidence import heads, keys, leaves, merkle

VERSION = 1
RECEIPT_MEDIA_TYPE = "application/json"
# Which receipt field each key of the leaf data is a copy of.
LEAF_FIELD = {
    "content_hash": "leaf.content_hash",
    "kind": "kind",
    "recorded_at": "recorded_at",
    "seq": "seq",
    "subject": "subject",
    "tenant": "tenant",
}
_HEX = {n: re.compile(f"[0-9a-f]{{{n}}}") for n in (16, 64, 128)}


class ReceiptError(Invalid):
    """A receipt that does not verify; ``field`` is the receipt field at fault (dotted, with list indexes)."""


# --- building -----------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class HeadView:
    size: int
    root: str
    signed_at: dt.datetime
    key_id: str
    signature: str

    def as_dict(self) -> dict[str, Any]:
        return {
            "size": self.size,
            "root": self.root,
            "signed_at": heads.format_signed_at(self.signed_at),
            "key_id": self.key_id,
            "signature": self.signature,
        }


def entry_receipt(
    *,
    tenant: str,
    seq: int,
    kind: str,
    subject: str,
    recorded_at: dt.datetime,
    content_hash: str,
    content: str | None,
    path: Sequence[bytes],
    head: HeadView,
    public_key: str,
) -> dict[str, Any]:
    """One entry's receipt (``content_hash`` as recomputed from the stored data, not the chain's copy)."""
    data = leaves.leaf_data(tenant, seq, kind, subject, content_hash, recorded_at)
    receipt: dict[str, Any] = {
        "version": VERSION,
        "tenant": tenant,
        "seq": seq,
        "kind": kind,
        "subject": subject,
        "recorded_at": format_timestamp(recorded_at),
        "leaf": {"data": data.decode(), "content_hash": content_hash},
    }
    if content is not None:
        receipt["content"] = content
    receipt["proof"] = {"leaf_index": seq - 1, "tree_size": head.size, "path": [p.hex() for p in path]}
    receipt["tree_head"] = head.as_dict()
    receipt["public_key"] = public_key
    return receipt


def claim_receipt(tenant: str, claim: str, entries: Sequence[dict[str, Any]]) -> dict[str, Any]:
    return {"version": VERSION, "tenant": tenant, "claim": claim, "entries": list(entries)}


def dumps(receipt: dict[str, Any]) -> str:
    """The receipt as the file a user downloads (UTF-8 JSON, indented)."""
    return json.dumps(receipt, ensure_ascii=False, indent=2) + "\n"


# --- verifying ----------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class VerifiedEntry:
    seq: int
    kind: str
    subject: str
    recorded_at: str
    content_hash: str
    tree_size: int
    root: str
    signed_at: dt.datetime
    key_id: str


@dataclass(frozen=True)
class Verified:
    tenant: str
    public_key: str
    entries: tuple[VerifiedEntry, ...]
    claim: str | None = None
    document_seq: int | None = None  # the entry whose fingerprint the given document matches

    @property
    def key_id(self) -> str:
        return keys.key_id_of(bytes.fromhex(self.public_key))


def _need(obj: Any, key: str, kind: type, where: str) -> Any:
    field = where + key
    if not isinstance(obj, dict) or key not in obj:
        raise ReceiptError(field, f"{field} is missing")
    value = obj[key]
    if kind is int and (isinstance(value, bool) or not isinstance(value, int)):
        raise ReceiptError(field, f"{field} must be a whole number")
    if not isinstance(value, kind):
        raise ReceiptError(field, f"{field} must be {'text' if kind is str else kind.__name__}")
    return value


def _hex(obj: Any, key: str, digits: int, where: str) -> str:
    value: str = _need(obj, key, str, where)
    if not _HEX[digits].fullmatch(value):
        raise ReceiptError(where + key, f"{where + key} must be {digits} lowercase hex digits")
    return value


@dataclass
class _Entry:
    """A parsed entry receipt: every field with the right type and form."""

    where: str
    tenant: str
    seq: int
    kind: str
    subject: str
    recorded_at: str
    data_text: str
    content_hash: str
    content: str | None
    leaf_index: int
    proof_size: int
    path: list[bytes]
    size: int
    root: str
    signed_at_text: str
    signed_at: dt.datetime
    key_id: str
    signature: str
    public_key: str


def _parse(receipt: Any, where: str) -> _Entry:
    version = _need(receipt, "version", int, where)
    if version != VERSION:
        raise ReceiptError(where + "version", f"receipt version {version} is not supported (only {VERSION})")
    leaf = _need(receipt, "leaf", dict, where)
    proof = _need(receipt, "proof", dict, where)
    head = _need(receipt, "tree_head", dict, where)
    content = receipt.get("content")
    if content is not None and not isinstance(content, str):
        raise ReceiptError(where + "content", f"{where}content must be text")
    raw_path = _need(proof, "path", list, where + "proof.")
    path = []
    for position, item in enumerate(raw_path):
        field = f"{where}proof.path[{position}]"
        if not isinstance(item, str) or not _HEX[64].fullmatch(item):
            raise ReceiptError(field, f"{field} must be 64 lowercase hex digits")
        path.append(bytes.fromhex(item))
    signed_at_text = _need(head, "signed_at", str, where + "tree_head.")
    try:
        signed_at = heads.parse_signed_at(signed_at_text)
    except ValueError as exc:
        raise ReceiptError(where + "tree_head.signed_at", f"{where}tree_head.signed_at: {exc}") from None
    entry = _Entry(
        where=where,
        tenant=_need(receipt, "tenant", str, where),
        seq=_need(receipt, "seq", int, where),
        kind=_need(receipt, "kind", str, where),
        subject=_need(receipt, "subject", str, where),
        recorded_at=_need(receipt, "recorded_at", str, where),
        data_text=_need(leaf, "data", str, where + "leaf."),
        content_hash=_hex(leaf, "content_hash", 64, where + "leaf."),
        content=content,
        leaf_index=_need(proof, "leaf_index", int, where + "proof."),
        proof_size=_need(proof, "tree_size", int, where + "proof."),
        path=path,
        size=_need(head, "size", int, where + "tree_head."),
        root=_hex(head, "root", 64, where + "tree_head."),
        signed_at_text=signed_at_text,
        signed_at=signed_at,
        key_id=_hex(head, "key_id", 16, where + "tree_head."),
        signature=_hex(head, "signature", 128, where + "tree_head."),
        public_key=_hex(receipt, "public_key", 64, where),
    )
    for name in ("seq", "proof.tree_size", "tree_head.size"):
        value = {"seq": entry.seq, "proof.tree_size": entry.proof_size, "tree_head.size": entry.size}[name]
        if value < (1 if name == "seq" else 0) or value >= 1 << 63:
            raise ReceiptError(where + name, f"{where}{name} {value} is out of range")
    return entry


def _fail(entry: _Entry, field: str, message: str) -> ReceiptError:
    return ReceiptError(entry.where + field, message)


def _expected_leaf(entry: _Entry) -> bytes | None:
    """The canonical leaf data of the receipt's own fields (None: a field cannot be part of one)."""
    try:
        recorded = dt.datetime.fromisoformat(entry.recorded_at)
    except ValueError:
        return None
    if recorded.tzinfo is None:
        return None
    return leaves.leaf_data(entry.tenant, entry.seq, entry.kind, entry.subject, entry.content_hash, recorded)


def _root_from(entry: _Entry, leaf: bytes, path: Sequence[bytes] | None = None) -> bytes | None:
    try:
        return merkle.root_from_inclusion(
            leaf, entry.leaf_index, entry.proof_size, entry.path if path is None else path
        )
    except merkle.ProofError:
        return None


def _signed(entry: _Entry, public_key: bytes, root: str | None = None, signed_at: dt.datetime | None = None) -> bool:
    return heads.signature_valid(
        public_key,
        entry.tenant,
        entry.size,
        entry.signed_at if signed_at is None else signed_at,
        entry.root if root is None else root,
        entry.signature,
    )


def _one_bit_repairs(value: bytes) -> Iterator[bytes]:
    for position in range(len(value)):
        for bit in range(8):
            changed = bytearray(value)
            changed[position] ^= 1 << bit
            yield bytes(changed)


_HEX_DIGITS = "0123456789abcdef"


def _one_flip_repairs(value: bytes) -> Iterator[bytes]:
    """``value`` with one bit flipped, in its bytes or in a character of its hex text (staying hex)."""
    text = value.hex()
    seen = {value}
    for position in range(len(value)):
        for bit in range(8):
            changed = bytearray(value)
            changed[position] ^= 1 << bit
            seen.add(bytes(changed))
            yield bytes(changed)
    for position, char in enumerate(text):
        for bit in range(7):
            flipped = chr(ord(char) ^ 1 << bit)
            if flipped in _HEX_DIGITS:
                candidate = bytes.fromhex(text[:position] + flipped + text[position + 1 :])
                if candidate not in seen:
                    seen.add(candidate)
                    yield candidate


def _path_sides(index: int, size: int, length: int) -> list[bool]:
    """For each step of the inclusion path, whether the path hash is the left input (RFC 9162 §2.1.3.2)."""
    sides = []
    fn, sn = index, size - 1
    for _ in range(length):
        left = bool(fn & 1 or fn == sn)
        sides.append(left)
        if left and not fn & 1:
            while fn and not fn & 1:
                fn >>= 1
                sn >>= 1
        fn >>= 1
        sn >>= 1
    return sides


def _path_fault(entry: _Entry, leaf: bytes, target: bytes) -> str:
    """Which path element is wrong: the one whose one-bit correction leads to the signed root. A diagnosis
    run only for a receipt that already failed: each candidate is hashed from that step up only."""
    sides = _path_sides(entry.leaf_index, entry.proof_size, len(entry.path))
    below = [leaf]  # below[i]: the hash before step i
    for side, item in zip(sides, entry.path, strict=True):
        below.append(merkle.node_hash(item, below[-1]) if side else merkle.node_hash(below[-1], item))
    for position, item in enumerate(entry.path):
        for candidate in _one_flip_repairs(item):
            value = below[position]
            for side, other in zip(sides[position:], [candidate, *entry.path[position + 1 :]], strict=True):
                value = merkle.node_hash(other, value) if side else merkle.node_hash(value, other)
            if value == target:
                return f"proof.path[{position}]"
    return "proof.path"


def _signed_at_fault(entry: _Entry, public_key: bytes) -> bool:
    """Does a one-bit correction of ``signed_at`` make the signature verify?"""
    text = entry.signed_at_text.encode()
    for candidate in _one_bit_repairs(text):
        try:
            at = heads.parse_signed_at(candidate.decode())
        except (UnicodeDecodeError, ValueError):
            continue
        if _signed(entry, public_key, signed_at=at):
            return True
    return False


def _check_leaf_copies(entry: _Entry, fields: dict[str, Any]) -> None:
    """The leaf data is authentic (it is in the signed tree): every copy of its fields must agree."""
    ours = {
        "content_hash": entry.content_hash,
        "kind": entry.kind,
        "recorded_at": entry.recorded_at,
        "seq": entry.seq,
        "subject": entry.subject,
        "tenant": entry.tenant,
    }
    for key, field in LEAF_FIELD.items():
        if fields.get(key) != ours[key]:
            raise _fail(entry, field, f"{ours[key]!r} is not what the signed leaf data says ({fields.get(key)!r})")


def _verify_entry(entry: _Entry, trusted: bytes | None) -> VerifiedEntry:
    public = bytes.fromhex(entry.public_key)
    if trusted is not None and public != trusted:
        raise _fail(entry, "public_key", "the receipt's public key is not the key you trust")
    data = entry.data_text.encode()
    try:
        fields = leaves.parse_leaf_data(data)
    except ValueError as exc:
        raise _fail(entry, "leaf.data", str(exc)) from None
    root = bytes.fromhex(entry.root)
    signed = _signed(entry, public)
    included = _root_from(entry, merkle.leaf_hash(data)) == root
    if signed and included:
        if entry.proof_size != entry.size:
            raise _fail(entry, "proof.tree_size", f"{entry.proof_size} is not the tree head's size {entry.size}")
        if keys.key_id_of(public) != entry.key_id:
            raise _fail(entry, "tree_head.key_id", f"{entry.key_id} is not the id of the public key")
        _check_leaf_copies(entry, fields)
        if entry.leaf_index != entry.seq - 1:
            raise _fail(entry, "proof.leaf_index", f"leaf {entry.leaf_index} is not entry {entry.seq}'s")
    elif signed:  # the head is authentic: the leaf, its position or the path is not
        expected = _expected_leaf(entry)
        if entry.proof_size != entry.size:
            raise _fail(entry, "proof.tree_size", f"{entry.proof_size} is not the tree head's size {entry.size}")
        if expected is not None and expected != data and _root_from(entry, merkle.leaf_hash(expected)) == root:
            raise _fail(entry, "leaf.data", "the leaf data is not the leaf of this entry (it was changed)")
        if expected != data:
            raise _fail(entry, "leaf.data", "the leaf data does not match the entry's fields nor the signed tree")
        if entry.leaf_index != entry.seq - 1:
            raise _fail(entry, "proof.leaf_index", f"leaf {entry.leaf_index} is not entry {entry.seq}'s")
        needed = len(merkle.inclusion_ranges(entry.leaf_index, entry.proof_size))
        if len(entry.path) != needed:
            raise _fail(
                entry,
                "proof.path",
                f"has {len(entry.path)} hashes; leaf {entry.leaf_index} of a tree of {entry.proof_size} needs {needed}",
            )
        field = _path_fault(entry, merkle.leaf_hash(data), root)
        if field == "proof.path":  # no one-bit slip in the path: the entry itself is not what was signed
            raise _fail(
                entry,
                "leaf.content_hash" if entry.content is None else "content",
                f"entry {entry.seq} is not in the signed tree as it is now: its stored content was changed "
                "after it was recorded (or the proof is not this tree's)",
            )
        raise _fail(entry, field, "the inclusion proof does not lead to the signed root")
    elif included:  # the leaf is in a tree with this root: the head's other fields or the signature are off
        if keys.key_id_of(public) != entry.key_id:
            raise _fail(entry, "public_key", f"the public key is not key {entry.key_id} and does not verify the head")
        if fields.get("tenant") != entry.tenant:
            raise _fail(entry, "tenant", f"{entry.tenant!r} is not the insurer of the signed leaf")
        if entry.size != entry.proof_size:
            raise _fail(entry, "tree_head.size", f"{entry.size} is not the size the proof is for ({entry.proof_size})")
        if _signed_at_fault(entry, public):
            raise _fail(entry, "tree_head.signed_at", "the signature does not cover this time")
        raise _fail(entry, "tree_head.signature", f"the signature does not verify with key {entry.key_id}")
    else:
        computed = _root_from(entry, merkle.leaf_hash(data))
        if computed is not None and _signed(entry, public, root=computed.hex()):
            raise _fail(entry, "tree_head.root", "the root is not the one the proof leads to and the key signed")
        if keys.key_id_of(public) != entry.key_id:
            raise _fail(entry, "public_key", f"the public key is not key {entry.key_id}")
        raise _fail(entry, "tree_head.root", "neither the inclusion proof nor the signature matches the tree head")
    if entry.content is not None and hashlib.sha256(entry.content.encode()).hexdigest() != entry.content_hash:
        raise _fail(entry, "content", "the content does not hash to the signed content hash")
    return VerifiedEntry(
        seq=entry.seq,
        kind=entry.kind,
        subject=entry.subject,
        recorded_at=entry.recorded_at,
        content_hash=entry.content_hash,
        tree_size=entry.size,
        root=entry.root,
        signed_at=entry.signed_at,
        key_id=entry.key_id,
    )


def _fingerprint(content: str | None) -> str | None:
    """The document fingerprint an entry's content records (``sha256`` of a materials.document)."""
    if content is None:
        return None
    try:
        value = json.loads(content)
    except ValueError:
        return None
    found = value.get("sha256") if isinstance(value, dict) else None
    return found if isinstance(found, str) else None


def _check_claim(tenant: str, claim: str, parsed: list[_Entry]) -> None:
    for entry in parsed:
        if entry.tenant != tenant:
            raise ReceiptError("tenant", f"tenant: {tenant!r} is not the insurer of {entry.where.rstrip('.')}")
        named = None
        if entry.content is not None:
            try:
                value = json.loads(entry.content)
            except ValueError:
                value = None
            named = value.get("claim") if isinstance(value, dict) else None
        if named is not None and named != claim:
            raise ReceiptError("claim", f"claim: {claim!r} is not the claim {entry.where.rstrip('.')} records")


def verify(receipt: Any, public_key: str | bytes | None = None, document: bytes | None = None) -> Verified:
    """Verify an entry or claim receipt offline. ``public_key`` (raw, bytes or hex): the key you trust (from
    the insurer or ``/api/v1/evidence/keys``); without it the receipt's own key is checked for consistency
    only. ``document``: a file whose SHA-256 must be a fingerprint the receipt records. Raises
    :class:`ReceiptError` naming the field at fault."""
    trusted: bytes | None
    if isinstance(public_key, str):
        try:
            trusted = bytes.fromhex(public_key)
        except ValueError:
            raise ReceiptError("public_key", "the public key you gave is not hex") from None
    else:
        trusted = public_key
    if trusted is not None and len(trusted) != keys.PUBLIC_KEY_BYTES:
        raise ReceiptError("public_key", "the public key you gave is not 32 bytes")
    if not isinstance(receipt, dict):
        raise ReceiptError("receipt", "a receipt is a JSON object")
    claim: str | None = None
    if "entries" in receipt:
        version = _need(receipt, "version", int, "")
        if version != VERSION:
            raise ReceiptError("version", f"receipt version {version} is not supported (only {VERSION})")
        tenant = _need(receipt, "tenant", str, "")
        claim = _need(receipt, "claim", str, "")
        items = _need(receipt, "entries", list, "")
        if not items:
            raise ReceiptError("entries", "the receipt has no entries")
        parsed = [_parse(item, f"entries[{i}].") for i, item in enumerate(items)]
        verified = [_verify_entry(entry, trusted) for entry in parsed]
        _check_claim(tenant, claim, parsed)
    else:
        parsed = [_parse(receipt, "")]
        verified = [_verify_entry(parsed[0], trusted)]
        tenant = parsed[0].tenant
    document_seq = None
    if document is not None:
        digest = hashlib.sha256(document).hexdigest()
        matching = [entry.seq for entry in parsed if _fingerprint(entry.content) == digest]
        if not matching:
            recorded = [f for f in (_fingerprint(entry.content) for entry in parsed) if f]
            detail = f"the receipt records {', '.join(recorded)}" if recorded else "the receipt records no document"
            raise ReceiptError("document", f"document: the file's SHA-256 {digest} is not recorded here ({detail})")
        document_seq = matching[0]
    return Verified(
        tenant=tenant,
        public_key=parsed[0].public_key,
        entries=tuple(verified),
        claim=claim,
        document_seq=document_seq,
    )


def load(text: str | bytes) -> Any:
    """Parse a receipt file; a file that is not JSON is refused naming ``receipt``."""
    try:
        return json.loads(text)
    except (UnicodeDecodeError, ValueError) as exc:
        raise ReceiptError("receipt", f"the receipt is not JSON: {exc}") from None
