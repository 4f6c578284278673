"""Claimant self-service lookup: verify claim number + a second factor (last 4 digits of the phone, or
a one-time code sent by SMS), hand out a short-lived signed session scoped to that one claim, show the
claim as the claimant may see it, and take uploads of missing documents. No HTTP here.

Secrecy rule: to someone who fails verification, an unknown claim number and a wrong factor look the
same — same outcome, the same work on both paths (a decryption and a keyed hash are done against a
dummy on the miss path), the same throttle writes. Throttles are keyed by (insurer, claim number)
whether or not the claim exists, and by client address; they live in the database with atomic
updates, so every app process enforces the same counts.

Every function takes the session of its caller: the routes open it, for the insurer the claimant named
(:meth:`TenantContext.anonymous`); only finding that insurer by its code reads across tenants.
"""

from __future__ import annotations

import asyncio
import base64
import datetime as dt
import hashlib
import hmac
import importlib
import re
import secrets
import shlex
import subprocess
import threading
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any, BinaryIO, Protocol, cast

from sqlalchemy.orm import Session

from claimwatch.cases import service as cases_service
from claimwatch.cases.models import Claim
from claimwatch.config import get_settings
from claimwatch.db import utc_now
from claimwatch.errors import NotFound, Problem
from claimwatch.lookup import repository
from claimwatch.lookup.models import LookupCode
from claimwatch.materials import service as materials_service
from claimwatch.notify import service as notify_service
from claimwatch.privacy import derive_key, field_cipher, mask_name, mask_phone, scrub_text
from claimwatch.tenancy import repository as tenancy_repository
from claimwatch.workflow import service as workflow_service

ACTOR = "claimant:lookup"
TOKEN_PREFIX = "lk1"
MAX_NUMBER_LENGTH = 64

# Throttle scopes.
CLAIM, IP, OTP, OTP_IP = "claim", "ip", "otp", "otp_ip"

# Outcomes of a verification.
VERIFIED, FAILED, LOCKED = "verified", "failed", "locked"

_DIGITS = re.compile(r"\D")


class UploadRejected(materials_service.MaterialsError):
    """The virus scan (or another upload check of the lookup) refused the file."""

    def __init__(self, message: str = "the file was refused by the virus scan") -> None:
        super().__init__(422, "file", message)


class VerificationFailed(Problem):
    """401, one body for every failure: a wrong factor and an unknown claim number must look the same."""

    def __init__(self) -> None:
        super().__init__(401, "claim_number", "verification failed: check the claim number and the verification factor")


class Locked(Problem):
    """429: the claim number or the client address is locked after repeated failures."""

    def __init__(self, retry_after: int) -> None:
        super().__init__(
            429,
            "claim_number",
            "too many failed attempts: try again later",
            headers={"Retry-After": str(retry_after)},
        )


class NoLookupSession(Problem):
    """401: no lookup token, or a forged or expired one, or one for a claim that is gone."""

    def __init__(self) -> None:
        super().__init__(401, "authorization", "lookup session missing or expired: verify again")


class UnknownInsurer(NotFound):
    """Insurer codes are public (printed in every SMS link); claim numbers are not."""

    def __init__(self, code: str) -> None:
        super().__init__("insurer", f"unknown insurer {code!r}")


class LookupClaim(Protocol):
    """What the lookup reads of a claim: the columns of ``repository.LOOKUP_CLAIM_FIELDS`` (a row of the
    verification's Core read, or a :class:`Claim` entity)."""

    @property
    def id(self) -> int: ...

    @property
    def tenant_id(self) -> int: ...

    @property
    def number(self) -> str: ...

    @property
    def line(self) -> str: ...

    @property
    def status(self) -> str: ...

    @property
    def route(self) -> str: ...

    @property
    def closed_at(self) -> dt.datetime | None: ...

    @property
    def reported_at(self) -> dt.datetime: ...

    @property
    def claimant_name(self) -> str: ...

    @property
    def claimant_phone_enc(self) -> str | None: ...


# --- insurers ----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Insurer:
    id: int
    code: str
    name: str


_INSURER_TTL = 60.0
_insurer_cache: dict[str, tuple[float, Insurer | None]] = {}
_insurer_lock = threading.Lock()


def insurer_code(code: str) -> str:
    return code.strip().upper()[:32]


class NotCached:
    """What :func:`cached_insurer` answers when the code was not looked up within the last minute."""


NOT_CACHED = NotCached()


def cached_insurer(code: str) -> Insurer | None | NotCached:
    """The insurer of a code if looked up within the last minute (every lookup starts here, and a hit
    needs no database session at all), else :data:`NOT_CACHED`: then :func:`insurer` reads it."""
    now = time.monotonic()
    with _insurer_lock:
        cached = _insurer_cache.get(insurer_code(code))
    return cached[1] if cached is not None and cached[0] > now else NOT_CACHED


def insurer(session: Session, code: str) -> Insurer | None:
    """An insurer by its (public) code, remembered a minute. ``session`` must see every tenant's row (the
    claimant has not told us which insurer's data they may touch yet)."""
    code = insurer_code(code)
    tenant = tenancy_repository.tenant_by_code(session, code)
    found = Insurer(tenant.id, tenant.code, tenant.name) if tenant is not None else None
    with _insurer_lock:
        if len(_insurer_cache) > 1000:
            _insurer_cache.clear()
        _insurer_cache[code] = (time.monotonic() + _INSURER_TTL, found)
    return found


def insurer_by_id(session: Session, tenant_id: int) -> Insurer | None:
    tenant = tenancy_repository.tenant_by_id(session, tenant_id)
    return Insurer(tenant.id, tenant.code, tenant.name) if tenant is not None else None


def insurers(session: Session) -> list[Insurer]:
    """Every insurer, for the lookup form's choice (``session`` sees every tenant)."""
    return [Insurer(t.id, t.code, t.name) for t in tenancy_repository.all_tenants(session)]


def clear_cache() -> None:
    with _insurer_lock:
        _insurer_cache.clear()


# --- keys, hashes and the signed session ---------------------------------------------------------------


@lru_cache
def _key(purpose: str) -> bytes:
    return derive_key(purpose)


def _mac(purpose: str, message: str) -> str:
    return hmac.new(_key(purpose), message.encode(), hashlib.sha256).hexdigest()


def normalise_number(number: str) -> str:
    return number.strip()[:MAX_NUMBER_LENGTH]


def claim_key(insurer_id: int, number: str) -> str:
    """The throttle key of a claim number, whether or not such a claim exists."""
    return _mac("lookup-throttle", f"claim:{insurer_id}:{normalise_number(number).upper()}")


def ip_key(address: str) -> str:
    return _mac("lookup-throttle", f"ip:{address}")


def code_hash(claim_id: int, code: str) -> str:
    return _mac("lookup-otp", f"{claim_id}:{code}")


@dataclass(frozen=True)
class LookupSession:
    """What a verified claimant holds: one claim of one insurer, until ``expires_at``."""

    tenant_id: int
    claim_id: int
    expires_at: dt.datetime


def _b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def issue_token(tenant_id: int, claim_id: int, now: dt.datetime | None = None) -> tuple[str, dt.datetime]:
    now = now or utc_now()
    expires = now + dt.timedelta(seconds=get_settings().lookup_session_seconds)
    payload = f"{TOKEN_PREFIX}.{tenant_id}.{claim_id}.{int(expires.timestamp())}"
    signature = _b64(hmac.new(_key("lookup-session"), payload.encode(), hashlib.sha256).digest())
    return f"{payload}.{signature}", expires.replace(microsecond=0)


def read_token(token: str | None, now: dt.datetime | None = None) -> LookupSession | None:
    """The session a token grants, or None when it is malformed, forged or expired."""
    if not token or len(token) > 200:
        return None
    payload, _, signature = token.rpartition(".")
    expected = _b64(hmac.new(_key("lookup-session"), payload.encode(), hashlib.sha256).digest())
    if not hmac.compare_digest(expected.encode(), signature.encode()):
        return None
    parts = payload.split(".")
    if len(parts) != 4 or parts[0] != TOKEN_PREFIX or not all(p.isdigit() for p in parts[1:]):
        return None
    expires = dt.datetime.fromtimestamp(int(parts[3]), dt.UTC)
    if expires <= (now or utc_now()):
        return None
    return LookupSession(int(parts[1]), int(parts[2]), expires)


# --- verification ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Outcome:
    result: str  # verified | failed | locked
    session: LookupSession | None = None
    token: str | None = None
    retry_after: int = 0  # seconds, when locked
    view: dict[str, Any] | None = None  # the claim, when asked for (``locale``) and verified
    # With ``counts_later``: the throttle writes the verification left to :func:`record_counts`.
    count_failure: bool = False
    clear_claim_failures: bool = False

    @property
    def counts_pending(self) -> bool:
        return self.count_failure or self.clear_claim_failures


@lru_cache
def _dummy_phone() -> str:
    token = field_cipher().encrypt("10000000000")
    assert token is not None
    return token


def _phone_matches(claim: LookupClaim | None, last4: str) -> bool:
    """Decrypts the claimant's phone (a dummy on the miss path: the same work) and compares."""
    enc = claim.claimant_phone_enc if claim is not None and claim.claimant_phone_enc else _dummy_phone()
    phone = _DIGITS.sub("", field_cipher().decrypt(enc) or "")
    wanted = _DIGITS.sub("", last4)
    same = hmac.compare_digest(phone[-4:].encode(), wanted.encode())
    return same and claim is not None and claim.claimant_phone_enc is not None and len(wanted) == 4


def _code_matches(session: Session, claim: LookupClaim | None, code: str, now: dt.datetime) -> bool:
    """The latest code of the claim, unexpired, unused and with attempts left; single use."""
    settings = get_settings()
    latest = repository.latest_code(session, claim.id if claim is not None else -1, for_update=True)
    presented = code_hash(claim.id if claim is not None else -1, _DIGITS.sub("", code))
    if claim is None or latest is None:
        hmac.compare_digest(presented, "0" * 64)
        return False
    if latest.used_at is not None or latest.expires_at <= now or latest.attempts >= settings.lookup_otp_max_attempts:
        hmac.compare_digest(presented, latest.code_hash)
        return False
    if hmac.compare_digest(presented, latest.code_hash):
        latest.used_at = now
        return True
    latest.attempts += 1
    return False


def verify(
    session: Session,
    found: Insurer,
    number: str,
    client: str,
    phone_last4: str | None = None,
    code: str | None = None,
    now: dt.datetime | None = None,
    locale: str | None = None,
    counts_later: bool = False,
) -> Outcome:
    """Claim number + one factor. A locked claim number or client address is refused before the
    factor is looked at (a right factor during a lock is refused too); a failure counts against both.
    With ``locale``, a success also carries the claim's view, read in the same transaction.

    Returns (never raises) a failure: its counts must commit with the caller's session. With ``counts_later``
    (the phone factor only: checking it writes nothing) nothing is written here; the outcome says what
    :func:`record_counts` must write, in a session that may write, before the answer is sent. So the check
    itself runs in a read-only transaction, which on SQLite does not take the write lock."""
    if counts_later and code is not None:
        raise ValueError("a one-time code is used up by its check: it is verified in a session that may write")
    now = now or utc_now()
    number = normalise_number(number)
    keys = _throttle_keys(found, number, client)
    rows = repository.throttles(session, keys)
    locks = [row.locked_until for row in rows if row.locked_until is not None and row.locked_until > now]
    if locks:
        return Outcome(LOCKED, retry_after=max(1, int((max(locks) - now).total_seconds()) + 1))
    # One prebuilt Core statement naming the tenant (the public hot path), not the ORM's claim entity.
    claim = repository.lookup_claim(session, found.id, number) if number else None
    if code is not None:
        ok = _code_matches(session, claim, code, now)
    else:
        ok = _phone_matches(claim, phone_last4 or "")
    if not ok or claim is None:
        if counts_later:
            return Outcome(FAILED, count_failure=True)
        _count_failure(session, keys, now)
        return Outcome(FAILED)
    clear = any(row.scope == CLAIM and row.failures for row in rows)
    if clear and not counts_later:
        repository.clear_failures(session, CLAIM, keys[0][1])
    token, expires = issue_token(found.id, claim.id, now)
    view = claim_view(session, claim, found, locale, now) if locale else None
    granted = LookupSession(found.id, claim.id, expires)
    return Outcome(VERIFIED, granted, token, view=view, clear_claim_failures=clear and counts_later)


def record_counts(
    session: Session, found: Insurer, number: str, client: str, outcome: Outcome, now: dt.datetime | None = None
) -> None:
    """Write what a ``counts_later`` verification left: its failure against the claim number and the client
    address (each an atomic upsert, so concurrent failures all count), or the claim number's cleared failures."""
    keys = _throttle_keys(found, normalise_number(number), client)
    if outcome.count_failure:
        _count_failure(session, keys, now or utc_now())
    if outcome.clear_claim_failures:
        repository.clear_failures(session, CLAIM, keys[0][1])


def _throttle_keys(found: Insurer, number: str, client: str) -> list[tuple[str, str]]:
    return [(CLAIM, claim_key(found.id, number)), (IP, ip_key(client))]


def _count_failure(session: Session, keys: list[tuple[str, str]], now: dt.datetime) -> None:
    settings = get_settings()
    window, lockout = settings.lookup_failure_window_seconds, settings.lookup_lockout_seconds
    repository.count_failure(session, CLAIM, keys[0][1], now, window, settings.lookup_max_failures, lockout)
    repository.count_failure(session, IP, keys[1][1], now, window, settings.lookup_ip_max_failures, lockout)


# The answer to a code request takes at least this long from the request's start, whatever happened: the code
# itself is looked up, generated and queued after the answer is sent (see the API and page routes), and the
# floor hides what jitter is left (the insurer read, the body parsing) from a client timing the answer.
OTP_ANSWER_SECONDS = 0.05


@dataclass
class AnswerFloor:
    """Holds an answer until ``seconds`` after ``started`` (clock and sleep injectable for tests)."""

    seconds: float
    clock: Callable[[], float] = time.monotonic
    sleep: Callable[[float], Awaitable[None]] = asyncio.sleep

    def start(self) -> float:
        return self.clock()

    async def wait(self, started: float) -> None:
        remaining = self.seconds - (self.clock() - started)
        if remaining > 0:
            await self.sleep(remaining)


OTP_ANSWER_FLOOR = AnswerFloor(OTP_ANSWER_SECONDS)


def request_code(
    session: Session, found: Insurer, number: str, client: str, locale: str = "zh", now: dt.datetime | None = None
) -> None:
    """Send a one-time code to the claimant's phone if the claim exists and sending is not throttled.
    The caller answers the same whatever happened here."""
    now = now or utc_now()
    settings = get_settings()
    number = normalise_number(number)
    keys = [(OTP, claim_key(found.id, number)), (OTP_IP, ip_key(client))]
    rows = repository.throttles(session, keys)
    if any(row.locked_until is not None and row.locked_until > now for row in rows):
        return
    window, lockout = settings.lookup_failure_window_seconds, settings.lookup_lockout_seconds
    repository.count_failure(session, OTP, keys[0][1], now, window, settings.lookup_otp_max_sends, lockout)
    repository.count_failure(session, OTP_IP, keys[1][1], now, window, settings.lookup_otp_ip_max_sends, lockout)
    code = f"{secrets.randbelow(10**6):06d}"
    try:
        claim = cases_service.get_claim(session, number) if number else None
    except cases_service.ClaimNotFound:
        claim = None
    if claim is None or not claim.claimant_phone_enc:
        code_hash(-1, code)
        return
    ttl = settings.lookup_otp_ttl_seconds
    row = repository.add_code(
        session,
        LookupCode(
            tenant_id=found.id,
            claim_id=claim.id,
            code_hash=code_hash(claim.id, code),
            created_at=now,
            expires_at=now + dt.timedelta(seconds=ttl),
            attempts=0,
        ),
    )
    notify_service.enqueue(
        session,
        tenant_id=found.id,
        claim_id=claim.id,
        template="lookup_otp",
        context={"code": code, "minutes": ttl // 60},
        channels=["sms"],
        idempotency_key=f"otp:{row.id}",
        locale=locale,
    )


def purge(session: Session, now: dt.datetime | None = None) -> int:
    """Forget throttle keys idle for a day whose lock is over (the worker's pass: without it every claim
    number and address ever tried would stay a row). ``session`` spans tenants: throttles have none."""
    before = (now or utc_now()) - dt.timedelta(days=1)
    return repository.purge_throttles(session, before)


# --- what the claimant sees --------------------------------------------------------------------------


def session_claim(session: Session, lookup: LookupSession) -> Claim | None:
    """The one claim a session grants (the database session must be scoped to its tenant)."""
    claim = session.get(Claim, lookup.claim_id)
    if claim is None or claim.tenant_id != lookup.tenant_id:
        return None
    return claim


def _expected(session: Session, claim: LookupClaim, now: dt.datetime) -> dict[str, Any] | None:
    """The expected completion: the target (yellow) due time of the current cycle of the claim's
    platform timeliness clock (``timeliness_small/middle/large``); none while it is paused."""
    clock = repository.timeliness_clock(session, claim.tenant_id, claim.id)
    if clock is None:
        return None
    due = clock.yellow_due_at
    return {
        "policy": clock.policy_code,
        "state": clock.state,
        "due_at": due,
        "overdue": due is not None and due < now and clock.state != "stopped",
        "calendar_gap": clock.calendar_gap,
    }


def _materials_evaluation(session: Session, claim: LookupClaim) -> materials_service.Evaluation | None:
    """materials_service.claim_evaluation from the lookup's two prebuilt reads (the ORM query of the profile was
    a fifth of a lookup's CPU). The rules read only the claim's line and route, which a LookupClaim has."""
    profile = repository.materials_profile(session, claim.tenant_id, claim.id)
    if profile is None:
        return None
    return materials_service.evaluate(
        materials_service.claim_type_def(claim.line, profile.claim_type),
        profile.facts,
        repository.received_items(session, claim.tenant_id, claim.id),
        materials_service.electronic_only(cast(Claim, claim)),
    )


def claim_view(
    session: Session, claim: LookupClaim, found: Insurer, locale: str, now: dt.datetime | None = None
) -> dict[str, Any]:
    """The claim as its claimant may see it: labels in their language, status changes without who
    made them, reasons masked, personal data masked, no other claim's data. A handful of indexed
    single-claim queries: this is the public hot path."""
    now = now or utc_now()
    timeline = [
        {
            "at": row.occurred_at,
            "status": row.to_status,
            "label": workflow_service.state_label(claim.line, row.to_status, locale),
            "reason": scrub_text(row.reason) if row.reason else None,
        }
        for row in repository.status_changes(session, claim.tenant_id, claim.id)
    ]
    evaluation = _materials_evaluation(session, claim)

    def items(codes: Any) -> list[dict[str, str]]:
        return [{"code": c, "label": materials_service.item_label(claim.line, c, locale)} for c in codes]

    received = [] if evaluation is None else [r.item for r in evaluation.claim_type.requirements]
    return {
        "insurer": {"code": found.code, "name": found.name},
        "claim_number": claim.number,
        "line": claim.line,
        "line_label": workflow_service.line_label(claim.line, locale),
        "status": claim.status,
        "status_label": workflow_service.state_label(claim.line, claim.status, locale),
        "closed": claim.closed_at is not None,
        "closed_at": claim.closed_at,
        "reported_at": claim.reported_at,
        "claimant": {
            "name": mask_name(claim.claimant_name),
            "phone": mask_phone(field_cipher().decrypt(claim.claimant_phone_enc)),
        },
        "expected": _expected(session, claim, now),
        "timeline": timeline,
        "materials": {
            "checklist_set": evaluation is not None,
            "missing": items(evaluation.missing if evaluation else ()),
            "optional_missing": items(evaluation.optional_missing if evaluation else ()),
            # checklist order, then anything else received
            "received": items(
                [c for c in received if evaluation and c in evaluation.received]
                + sorted(evaluation.received - set(received) if evaluation else ())
            ),
        },
        "upload": {
            "accepted_types": list(materials_service.ALLOWED_CONTENT_TYPES),
            "max_bytes": get_settings().max_document_bytes,
        },
    }


# --- uploads -----------------------------------------------------------------------------------------

ScanHook = Callable[[Path], None]
_scan_hooks: list[ScanHook] = []


def register_scan_hook(hook: ScanHook) -> None:
    """A plug-in scanner: called with the staged file's path; raises :class:`UploadRejected` to refuse it."""
    _scan_hooks.append(hook)


def unregister_scan_hook(hook: ScanHook) -> None:
    if hook in _scan_hooks:
        _scan_hooks.remove(hook)


@lru_cache
def _configured_hook(spec: str) -> ScanHook:
    module, _, name = spec.partition(":")
    hook = getattr(importlib.import_module(module), name)
    if not callable(hook):
        raise TypeError(f"upload scan hook {spec!r} is not callable")
    return hook


def scan(path: Path) -> None:
    """The virus-scan hook: plug-ins, the configured function, then the configured command. Default:
    nothing configured, nothing done. Fails closed: a scanner that errors or times out refuses the file."""
    settings = get_settings()
    hooks = list(_scan_hooks)
    if settings.upload_scan_hook:
        hooks.append(_configured_hook(settings.upload_scan_hook))
    for hook in hooks:
        try:
            hook(path)
        except UploadRejected:
            raise
        except Exception as exc:
            raise UploadRejected("the virus scan could not check the file") from exc
    if settings.upload_scan_command:
        command = [*shlex.split(settings.upload_scan_command), str(path)]
        try:
            finished = subprocess.run(  # noqa: S603 - the operator's configured scanner
                command, capture_output=True, timeout=settings.upload_scan_timeout_seconds, check=False
            )
        except (OSError, subprocess.TimeoutExpired) as exc:
            raise UploadRejected("the virus scan could not check the file") from exc
        if finished.returncode != 0:
            raise UploadRejected()


def upload(
    session: Session,
    claim: Claim,
    item_code: str,
    filename: str | None,
    content_type: str | None,
    stream: BinaryIO,
) -> tuple[dict[str, Any], bool]:
    """A claimant's document for a checklist item: type and item checked before the copy, size while
    copying, the scan before it is stored; stored by the materials rules (which resume the SLA clocks
    when the awaited items are all in)."""
    materials_service.check_content_type(content_type)
    materials_service.check_item_code(session, claim, item_code)
    staged = materials_service.stage_upload(stream)
    try:
        scan(staged.path)
        document, created = materials_service.store_document(
            session, claim, ACTOR, item_code, filename, content_type, staged
        )
    finally:
        staged.discard()
    return {
        "item_code": document.item_code,
        "uploaded_at": document.uploaded_at,
        "size_bytes": document.size_bytes,
        "sha256": document.sha256,
    }, created
