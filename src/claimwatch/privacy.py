"""Personal data: encryption at rest, keyed hashes for matching, and masking for display and logs.

PIPL treats ID numbers, phone numbers, bank accounts and medical data as sensitive: they are
stored encrypted, matched by keyed hash, and shown masked everywhere (UI, exports, logs).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import os
import re
from collections.abc import MutableMapping
from functools import lru_cache
from typing import Any

from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from claimwatch.config import get_settings

_CIPHER_VERSION = "v1"


def derive_key(purpose: str, secret: str | None = None) -> bytes:
    secret = secret if secret is not None else get_settings().secret_key
    return hmac.new(secret.encode(), f"claimwatch:{purpose}".encode(), hashlib.sha256).digest()


class FieldCipher:
    """AES-256-GCM with a random nonce per value; output is ``v1:<base64(nonce|ciphertext)>``."""

    def __init__(self, key: bytes) -> None:
        self._aead = AESGCM(key)

    def encrypt(self, plaintext: str | None) -> str | None:
        if plaintext is None or plaintext == "":
            return None
        nonce = os.urandom(12)
        sealed = self._aead.encrypt(nonce, plaintext.encode(), None)
        return f"{_CIPHER_VERSION}:" + base64.b64encode(nonce + sealed).decode()

    def decrypt(self, token: str | None) -> str | None:
        if not token:
            return None
        version, _, body = token.partition(":")
        if version != _CIPHER_VERSION:
            raise ValueError(f"unknown cipher version {version!r}")
        raw = base64.b64decode(body)
        return self._aead.decrypt(raw[:12], raw[12:], None).decode()


@lru_cache
def field_cipher() -> FieldCipher:
    return FieldCipher(derive_key("field-encryption"))


@lru_cache
def _hash_key() -> bytes:
    return derive_key("matching-hash")


def keyed_hash(value: str | None) -> str | None:
    """HMAC-SHA256 of a normalised identifier, for matching without keeping the clear value."""
    if not value:
        return None
    normalised = re.sub(r"[\s-]", "", value).upper()
    return hmac.new(_hash_key(), normalised.encode(), hashlib.sha256).hexdigest()


def mask_phone(phone: str | None) -> str:
    """The first 3 digits (a mobile's carrier prefix) and a star for each other digit.

    Nothing of the end of the number is shown: its last 4 digits, with the claim number, are the claimant's
    lookup factor (``lookup.service``), so showing them would let any staff member act as the claimant.
    A leading country code 86 is dropped first."""
    if not phone:
        return ""
    digits = re.sub(r"\D", "", phone)
    if len(digits) == 13 and digits.startswith("86"):
        digits = digits[2:]
    if len(digits) < 7:
        return "*" * len(digits)
    return digits[:3] + "*" * (len(digits) - 3)


def mask_id_number(id_number: str | None) -> str:
    if not id_number:
        return ""
    if len(id_number) <= 8:
        return "*" * len(id_number)
    return f"{id_number[:4]}{'*' * (len(id_number) - 8)}{id_number[-4:]}"


def mask_name(name: str | None) -> str:
    if not name:
        return ""
    if len(name) == 1:
        return "*"
    return name[0] + "*" * (len(name) - 1)


# 18-digit resident ID (last may be X), mainland mobile numbers, and bank card numbers. A run of digits inside a
# longer token of Latin letters and digits (a request id, a hash in hex) is not one of them: masking it would break
# the identifier that ties log lines together.
_ID_RE = re.compile(r"(?<![\dA-Za-z])(\d{6})\d{8}(\d{3}[\dXx])(?![\dA-Za-z])")
# A mobile number with or without the country code, written whole or in groups (138-1234-5678, 138 1234 5678).
_PHONE_RE = re.compile(r"(?<![\dA-Za-z+])(?:(?:\+|00)?86[ -]?)?(1[3-9]\d)[ -]?\d{4}[ -]?\d{4}(?![\dA-Za-z])")
_CARD_RE = re.compile(r"(?<![\dA-Za-z])(\d{4})\d{8,11}(\d{4})(?![\dA-Za-z])")


# Every match of the three patterns above starts, after a character that is neither a digit nor a Latin letter, with
# at least 11 digits each separated from the next by at most one space or hyphen. Text without such a run (most
# messages: claim numbers sit inside Latin tokens, dates have fewer digits) cannot match: one scan instead of three.
_CANDIDATE_RE = re.compile(r"(?<![\dA-Za-z])\d(?:[ -]?\d){10}")


def scrub_text(text: str) -> str:
    """Mask anything that looks like an ID number, mobile number or bank card in free text."""
    if _CANDIDATE_RE.search(text) is None:
        return text
    text = _ID_RE.sub(lambda m: f"{m.group(1)}********{m.group(2)}", text)
    text = _PHONE_RE.sub(lambda m: f"{m.group(1)}********", text)  # as mask_phone: no trailing digits
    return _CARD_RE.sub(lambda m: f"{m.group(1)}****{m.group(2)}", text)


def scrub_log_event(logger: Any, method_name: str, event_dict: MutableMapping[str, Any]) -> MutableMapping[str, Any]:
    """structlog processor: no personal data reaches a log line in clear."""
    for key, value in event_dict.items():
        if isinstance(value, str):
            event_dict[key] = scrub_text(value)
    return event_dict
