"""Receipts verify offline, and one flipped bit in any field is refused naming that field (no database)."""

from __future__ import annotations

import copy
import datetime as dt
import hashlib
import json
from collections.abc import Iterator
from typing import Any

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from claimwatch.audit.hashing import canonical_json
from claimwatch.evidence import heads, keys, leaves, merkle, receipts
from claimwatch.evidence.receipts import ReceiptError

TENANT = "PICC"
CLAIM = "CLM2026000123"
DOCUMENT = b"%PDF-1.7 the claimant's hospital invoice"
_PRIVATE = Ed25519PrivateKey.from_private_bytes(bytes(range(32)))
PUBLIC = _PRIVATE.public_key().public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
SIGNED_AT = dt.datetime(2026, 11, 20, 2, 0, 0, 123000, tzinfo=dt.UTC)
RECORDED = dt.datetime(2026, 11, 20, 1, 30, 0, 123456, tzinfo=dt.UTC)


def _entries() -> list[dict[str, Any]]:
    """13 entries: case events (no content) and payload entries, one a document with a fingerprint."""
    found = []
    for seq in range(1, 14):
        if seq == 7:
            payload: str | None = canonical_json(
                {"claim": CLAIM, "item": "invoice", "sha256": hashlib.sha256(DOCUMENT).hexdigest(), "size": 40}
            )
            kind, subject = "materials.document", CLAIM
        elif seq % 3 == 0:
            payload = canonical_json({"claim": CLAIM, "round": seq})
            kind, subject = "materials.notice", CLAIM
        else:
            payload, kind, subject = None, "case_event", f"core-{seq:06d}"
        content_hash = hashlib.sha256((payload or f"row {seq}").encode()).hexdigest()
        found.append({"seq": seq, "kind": kind, "subject": subject, "hash": content_hash, "payload": payload})
    return found


ENTRIES = _entries()
LEAF_HASHES = [
    merkle.leaf_hash(leaves.leaf_data(TENANT, e["seq"], e["kind"], e["subject"], e["hash"], RECORDED)) for e in ENTRIES
]
ROOT = merkle.root(LEAF_HASHES).hex()
HEAD = receipts.HeadView(
    size=len(ENTRIES),
    root=ROOT,
    signed_at=SIGNED_AT,
    key_id=keys.key_id_of(PUBLIC),
    signature=_PRIVATE.sign(heads.signed_bytes(TENANT, len(ENTRIES), SIGNED_AT, ROOT)).hex(),
)


def entry_receipt(seq: int) -> dict[str, Any]:
    e = ENTRIES[seq - 1]
    return receipts.entry_receipt(
        tenant=TENANT,
        seq=seq,
        kind=e["kind"],
        subject=e["subject"],
        recorded_at=RECORDED,
        content_hash=e["hash"],
        content=e["payload"],
        path=merkle.inclusion_path(seq - 1, len(ENTRIES), merkle.list_subtree(LEAF_HASHES)),
        head=HEAD,
        public_key=PUBLIC.hex(),
    )


def claim_receipt() -> dict[str, Any]:
    return receipts.claim_receipt(TENANT, CLAIM, [entry_receipt(seq) for seq in (2, 6, 7, 13)])


# --- round trip ---------------------------------------------------------------------------------------------


def test_signed_bytes_layout_is_fixed() -> None:
    data = heads.signed_bytes("PICC", 258, SIGNED_AT, "ab" * 32)
    millis = 1795140000123  # 2026-11-20T02:00:00.123Z
    assert data == b"claimwatch-sth-v1\n" + b"\x04PICC" + (258).to_bytes(8, "big") + millis.to_bytes(8, "big") + (
        b"\xab" * 32
    )
    assert heads.format_signed_at(SIGNED_AT) == "2026-11-20T02:00:00.123Z"
    assert heads.parse_signed_at("2026-11-20T02:00:00.123Z") == SIGNED_AT
    with pytest.raises(ValueError):
        heads.parse_signed_at("2026-11-20T10:00:00.123+08:00")  # same instant, not the signed spelling


def test_entry_and_claim_receipts_verify_offline_with_the_public_key() -> None:
    for seq in range(1, len(ENTRIES) + 1):
        result = receipts.verify(json.loads(receipts.dumps(entry_receipt(seq))), PUBLIC.hex())
        assert [e.seq for e in result.entries] == [seq]
    result = receipts.verify(claim_receipt(), PUBLIC, document=DOCUMENT)
    assert (result.tenant, result.claim, result.document_seq) == (TENANT, CLAIM, 7)
    assert [e.seq for e in result.entries] == [2, 6, 7, 13]
    assert result.key_id == HEAD.key_id
    assert "content" not in entry_receipt(2)  # a case event's row may hold personal data: only its hash


def test_wrong_document_or_untrusted_key_is_refused() -> None:
    with pytest.raises(ReceiptError) as caught:
        receipts.verify(claim_receipt(), PUBLIC, document=DOCUMENT + b" ")
    assert caught.value.field == "document"
    with pytest.raises(ReceiptError) as caught:
        receipts.verify(entry_receipt(2), document=DOCUMENT)  # a case event records no document
    assert caught.value.field == "document"
    other = (
        Ed25519PrivateKey.generate()
        .public_key()
        .public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    )
    with pytest.raises(ReceiptError) as caught:
        receipts.verify(entry_receipt(3), other)
    assert caught.value.field == "public_key"


def test_receipt_re_signed_with_another_key_fails_with_the_trusted_key() -> None:
    forger = Ed25519PrivateKey.generate()
    forged_public = forger.public_key().public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    receipt = entry_receipt(7)
    receipt["public_key"] = forged_public.hex()
    receipt["tree_head"]["key_id"] = keys.key_id_of(forged_public)
    receipt["tree_head"]["signature"] = forger.sign(heads.signed_bytes(TENANT, HEAD.size, SIGNED_AT, ROOT)).hex()
    receipts.verify(receipt)  # consistent in itself
    with pytest.raises(ReceiptError) as caught:
        receipts.verify(receipt, PUBLIC)
    assert caught.value.field == "public_key"


# --- one flipped bit in every field -------------------------------------------------------------------------


def _leaves(value: Any, path: str = "") -> Iterator[tuple[str, list[Any]]]:
    """Every scalar field of a receipt as (dotted name, key path)."""
    if isinstance(value, dict):
        for key, item in value.items():
            yield from ((name, [key, *keys_]) for name, keys_ in _leaves(item, f"{path}.{key}" if path else key))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from ((name, [index, *keys_]) for name, keys_ in _leaves(item, f"{path}[{index}]"))
    else:
        yield path, []


def _flips(value: Any) -> Iterator[Any]:
    """One-bit changes of a field's value: of an int; of a character at the start and the middle of a text;
    and, for hex, of the decoded bytes (so the text stays valid hex)."""
    if isinstance(value, int):
        yield value ^ 1
        return
    for position in sorted({0, len(value) // 2}):
        yield value[:position] + chr(ord(value[position]) ^ 1) + value[position + 1 :]
    if len(value) % 2 == 0 and all(c in "0123456789abcdef" for c in value):
        raw = bytearray(bytes.fromhex(value))
        raw[len(raw) // 2] ^= 0x80
        yield raw.hex()


def _set(receipt: dict[str, Any], key_path: list[Any], value: Any) -> dict[str, Any]:
    changed = copy.deepcopy(receipt)
    target: Any = changed
    for key in key_path[:-1]:
        target = target[key]
    target[key_path[-1]] = value
    return changed


def _get(receipt: dict[str, Any], key_path: list[Any]) -> Any:
    target: Any = receipt
    for key in key_path:
        target = target[key]
    return target


def test_one_flipped_bit_in_every_field_of_an_entry_receipt_is_refused_naming_it() -> None:
    receipt = entry_receipt(7)  # a document entry: it carries content
    names = [name for name, _ in _leaves(receipt)]
    assert {
        "version",
        "tenant",
        "seq",
        "kind",
        "subject",
        "recorded_at",
        "leaf.data",
        "leaf.content_hash",
        "content",
        "proof.leaf_index",
        "proof.tree_size",
        "proof.path[0]",
        "proof.path[3]",
        "tree_head.size",
        "tree_head.root",
        "tree_head.signed_at",
        "tree_head.key_id",
        "tree_head.signature",
        "public_key",
    } <= set(names)
    checked = 0
    for name, key_path in _leaves(receipt):
        for flipped in _flips(_get(receipt, key_path)):
            with pytest.raises(ReceiptError) as caught:
                trusted = PUBLIC if checked % 2 else None  # with the key you trust, and with the receipt's own
                receipts.verify(_set(receipt, key_path, flipped), trusted, document=DOCUMENT)
            assert caught.value.field == name, f"{name} flipped to {flipped!r}: blamed {caught.value}"
            checked += 1
    assert checked > 40


def test_one_flipped_bit_in_a_claim_receipt_names_the_entry_and_field() -> None:
    receipt = claim_receipt()
    for name, key_path in _leaves(receipt):
        value = _get(receipt, key_path)
        flipped = next(_flips(value))
        with pytest.raises(ReceiptError) as caught:
            receipts.verify(_set(receipt, key_path, flipped), PUBLIC, document=DOCUMENT)
        assert caught.value.field == name, f"{name}: blamed {caught.value}"


def test_malformed_receipts_are_refused_naming_the_field() -> None:
    receipt = entry_receipt(4)
    del receipt["proof"]["path"]
    with pytest.raises(ReceiptError, match="proof.path is missing"):
        receipts.verify(receipt)
    receipt = entry_receipt(4)
    receipt["proof"]["path"].pop()
    with pytest.raises(ReceiptError) as caught:
        receipts.verify(receipt)
    assert caught.value.field == "proof.path"
    with pytest.raises(ReceiptError) as caught:
        receipts.load(b"{not json")
    assert caught.value.field == "receipt"


def test_verifying_a_receipt_takes_well_under_a_millisecond() -> None:
    import time

    receipt = entry_receipt(7)
    receipts.verify(receipt, PUBLIC)
    started = time.perf_counter()
    for _ in range(200):
        receipts.verify(receipt, PUBLIC)
    assert (time.perf_counter() - started) / 200 < 0.002  # the bench measures the ≤ 1 ms goal
