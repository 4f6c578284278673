"""Materials rules: the checklist a claim needs, what is missing, the one-time notice (保险法 art. 22
一次性告知) and its supplement rounds (补交), and the documents received. No HTTP here, no commits."""

from __future__ import annotations

import datetime as dt
import re
import unicodedata
from collections.abc import Collection, Iterable
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any, BinaryIO

from sqlalchemy.orm import Session

from claimwatch.audit import service as audit_service
from claimwatch.cases.models import Claim
from claimwatch.config import get_settings
from claimwatch.db import utc_now
from claimwatch.errors import Problem
from claimwatch.materials import content, repository, storage
from claimwatch.materials.loader import Checklist, ClaimTypeDef, Requirement, load_checklist_dir
from claimwatch.materials.models import MaterialsDocument, MaterialsNotice, MaterialsProfile
from claimwatch.materials.storage import HEAD_BYTES, StagedFile
from claimwatch.notify import service as notify_service
from claimwatch.privacy import scrub_text
from claimwatch.sla import service as sla_service
from claimwatch.workflow.loader import ROUTE_FAST_TRACK

PROFILE_KIND = "materials.profile"
NOTICE_KIND = "materials.notice"
DOCUMENT_KIND = "materials.document"

# Why an item is requested in a notice.
BASIS_FIRST = "first"  # round 1, the one-time notice
BASIS_REPEAT = "repeat"  # requested in an earlier notice and still missing: a reminder
BASIS_NEW_FACT = "new_fact"  # not applicable or not missing at the first notice (new facts since)
BASIS_KNOWABLE = "knowable"  # applicable and missing at the first notice, yet not requested then: violation

# Accepted upload types and the leading bytes that prove them (the declared type alone is not trusted).
ALLOWED_CONTENT_TYPES: dict[str, str] = {
    "application/pdf": "PDF",
    "image/jpeg": "JPEG",
    "image/png": "PNG",
    "image/heic": "HEIC",
    "image/heif": "HEIF",
    "image/tiff": "TIFF",
    "image/webp": "WebP",
    "application/ofd": "OFD",  # 国标版式文档: China's electronic invoices
}
_CONTENT_TYPE_ALIASES = {"image/jpg": "image/jpeg", "image/pjpeg": "image/jpeg", "application/x-pdf": "application/pdf"}
_HEIF_BRANDS = {b"heic", b"heix", b"hevc", b"hevx", b"heim", b"heis", b"mif1", b"msf1", b"heif"}


class MaterialsError(Problem):
    """A request the materials rules refuse; ``status`` is the HTTP status that fits, ``field`` the input."""


# --- checklists ------------------------------------------------------------------------------------


@lru_cache
def registry() -> dict[str, Checklist]:
    settings = get_settings()
    return load_checklist_dir(settings.checklists_dir, settings.extra_checklists_dir)


def checklist(line: str) -> Checklist:
    checklists = registry()
    if line not in checklists:
        raise MaterialsError(409, "line", f"no materials checklist for line of business {line!r}")
    return checklists[line]


def claim_type_def(line: str, claim_type: str) -> ClaimTypeDef:
    found = checklist(line)
    if claim_type not in found.claim_types:
        known = ", ".join(found.claim_types)
        raise MaterialsError(422, "claim_type", f"unknown claim type {claim_type!r} for {line} claims (known: {known})")
    return found.claim_types[claim_type]


@dataclass(frozen=True)
class Evaluation:
    """The checklist of one claim type under a set of facts, against the items received."""

    claim_type: ClaimTypeDef
    facts: frozenset[str]
    received: frozenset[str]
    applicable: tuple[Requirement, ...]
    missing: tuple[str, ...]  # required and applicable conditional items not received, checklist order
    optional_missing: tuple[str, ...]

    @property
    def complete(self) -> bool:
        return not self.missing


def evaluate(
    claim_type: ClaimTypeDef, facts: Collection[str], received: Collection[str], electronic_only: bool = False
) -> Evaluation:
    """``electronic_only``: the claim is fast-tracked (三免, 免纸质材料); items marked ``electronic: false``
    do not apply to it."""
    fact_set = frozenset(facts)
    received_set = frozenset(received)
    applicable = tuple(
        r for r in claim_type.requirements if r.applies(fact_set) and (r.electronic or not electronic_only)
    )
    missing = tuple(r.item for r in applicable if not r.optional and r.item not in received_set)
    optional_missing = tuple(r.item for r in applicable if r.optional and r.item not in received_set)
    return Evaluation(claim_type, fact_set, received_set, applicable, missing, optional_missing)


def electronic_only(claim: Claim) -> bool:
    """A fast-tracked claim (三免) is asked only for the electronic items of its checklist."""
    return claim.route == ROUTE_FAST_TRACK


def claim_evaluation(session: Session, claim: Claim) -> Evaluation | None:
    """What the claim needs and misses now; None until its profile (claim type) is set."""
    profile = repository.profile(session, claim.id)
    if profile is None:
        return None
    return evaluate(
        claim_type_def(claim.line, profile.claim_type),
        profile.facts,
        repository.received_items(session, claim.id),
        electronic_only(claim),
    )


# --- profile ---------------------------------------------------------------------------------------


def set_profile(
    session: Session, claim: Claim, claim_type: str, facts: Iterable[str], actor: str, at: dt.datetime | None = None
) -> MaterialsProfile:
    """Set the claim type and facts that decide the claim's checklist. An unchanged profile is not rewritten."""
    at = at or utc_now()
    found = checklist(claim.line)
    claim_type_def(claim.line, claim_type)
    wanted = sorted(set(facts))
    unknown = [fact for fact in wanted if fact not in found.facts]
    if unknown:
        known = ", ".join(found.facts) or "none"
        raise MaterialsError(422, "facts", f"unknown fact {unknown[0]!r} for {claim.line} claims (known: {known})")
    profile = repository.profile(session, claim.id, for_update=True)
    previous = None if profile is None else {"claim_type": profile.claim_type, "facts": list(profile.facts)}
    if previous == {"claim_type": claim_type, "facts": wanted}:
        assert profile is not None
        return profile
    if profile is None:
        profile = MaterialsProfile(
            tenant_id=claim.tenant_id,
            claim_id=claim.id,
            claim_type=claim_type,
            facts=wanted,
            notices_issued=0,
            supplement_rounds=0,
            violation_rounds=0,
            updated_by=actor,
            created_at=at,
            updated_at=at,
        )
        session.add(profile)
    else:
        profile.claim_type = claim_type
        profile.facts = wanted
        profile.updated_by = actor
        profile.updated_at = at
    audit_service.record(
        session,
        claim.tenant_id,
        PROFILE_KIND,
        claim.number,
        actor,
        {"claim": claim.number, "claim_type": claim_type, "facts": wanted, "previous": previous},
    )
    session.flush()
    signal_if_complete(session, claim, at, actor)
    return profile


def signal_if_complete(session: Session, claim: Claim, at: dt.datetime, actor: str) -> None:
    """Tell the clocks when the claim's checklist is complete: the decision clocks run from complete materials
    (保险法 art. 23 with 解释二 art. 15; 交强险条例 art. 29), not from the report. A clock starts once."""
    evaluation = claim_evaluation(session, claim)
    if evaluation is not None and evaluation.complete:
        sla_service.signal(
            session, claim.tenant_id, claim.id, "materials_complete", at, actor, "every required item received"
        )


# --- notices ---------------------------------------------------------------------------------------


def classify_items(previous: list[MaterialsNotice], items: Iterable[str]) -> dict[str, str]:
    """Why each item of a new notice is requested. Art. 22 wants ONE complete list: asking later for
    an item that was applicable and missing at the first notice (given the profile then) but was not
    in it is a violation; repeating an item already requested (still missing) is a reminder, and an
    item applicable only because of facts learnt later is legitimate."""
    if not previous:
        return {code: BASIS_FIRST for code in items}
    knowable = set(previous[0].missing_items)
    requested_before = {code for notice in previous for code in notice.items}
    basis = {}
    for code in items:
        if code in requested_before:
            basis[code] = BASIS_REPEAT
        elif code in knowable:
            basis[code] = BASIS_KNOWABLE
        else:
            basis[code] = BASIS_NEW_FACT
    return basis


def issue_notice(
    session: Session,
    claim: Claim,
    actor: str,
    at: dt.datetime | None = None,
    items: Iterable[str] | None = None,
) -> MaterialsNotice:
    """Record a missing-materials notice. By default it lists every missing item (the one-time
    notice); ``items`` records what a core system actually asked for instead. Round 1 is the
    one-time notice, every later round a supplement (补交), counted on the profile."""
    at = at or utc_now()
    if at.tzinfo is None:
        raise MaterialsError(422, "issued_at", "a timezone-aware time is required")
    profile = repository.profile(session, claim.id, for_update=True)
    if profile is None:
        raise MaterialsError(
            409, "claim_type", "set the claim's materials profile (claim type and facts) before issuing a notice"
        )
    claim_type = claim_type_def(claim.line, profile.claim_type)
    evaluation = evaluate(
        claim_type, profile.facts, repository.received_items(session, claim.id), electronic_only(claim)
    )
    if items is None:
        requested = list(evaluation.missing)
        if not requested:
            raise MaterialsError(409, "items", "nothing is missing: every required item has been received")
    else:
        requested = list(dict.fromkeys(items))
        if not requested:
            raise MaterialsError(422, "items", "a notice must request at least one item")
        for code in requested:
            if claim_type.requirement(code) is None:
                raise MaterialsError(
                    422, "items", f"unknown item {code!r} for claim type {profile.claim_type!r} of {claim.line} claims"
                )
    previous = repository.notices(session, claim.id)
    if previous and at < previous[-1].issued_at:
        raise MaterialsError(422, "issued_at", f"round {previous[-1].round} was issued later than {at.isoformat()}")
    round_number = len(previous) + 1
    basis = classify_items(previous, requested)
    violations = [code for code in requested if basis[code] == BASIS_KNOWABLE]
    outstanding = [code for code in requested if code not in evaluation.received]

    seq = audit_service.record(
        session,
        claim.tenant_id,
        NOTICE_KIND,
        claim.number,
        actor,
        {
            "claim": claim.number,
            "round": round_number,
            "issued_at": at.astimezone(dt.UTC).isoformat(),
            "claim_type": profile.claim_type,
            "facts": list(profile.facts),
            "items": requested,
            "violation_items": violations,
        },
    )
    notice = MaterialsNotice(
        tenant_id=claim.tenant_id,
        claim_id=claim.id,
        round=round_number,
        claim_type=profile.claim_type,
        facts=list(profile.facts),
        items=requested,
        missing_items=list(evaluation.missing),
        basis=basis,
        violation_items=violations,
        issued_at=at,
        issued_by=actor,
        completed_at=None if outstanding else at,
        audit_seq=seq,
    )
    session.add(notice)
    profile.notices_issued += 1
    if round_number > 1:
        profile.supplement_rounds += 1
    if violations:
        profile.violation_rounds += 1
    profile.awaiting_since = at if outstanding else None
    session.flush()
    if outstanding:
        reason = f"materials notice round {round_number}: {', '.join(requested)}"
        sla_service.signal(session, claim.tenant_id, claim.id, "materials_requested", at, actor, reason)
        # The claimant is told every outstanding item by name, in the same transaction (outbox).
        locale = get_settings().default_locale
        notify_service.materials_notice(
            session,
            claim.tenant_id,
            claim.id,
            claim.number,
            round_number,
            [item_label(claim.line, code, locale) for code in outstanding],
        )
    return notice


# --- documents -------------------------------------------------------------------------------------


def stage_upload(stream: BinaryIO, max_bytes: int | None = None, root: Path | None = None) -> StagedFile:
    """Stage an upload (:func:`storage.stage`), refused as soon as it is too large, or when empty."""
    limit = max_bytes if max_bytes is not None else get_settings().max_document_bytes
    try:
        staged = storage.stage(stream, limit, root)
    except storage.FileTooLarge as exc:
        raise MaterialsError(413, "file", str(exc)) from exc
    if staged.size == 0:
        staged.discard()
        raise MaterialsError(422, "file", "the file is empty")
    return staged


def normalise_content_type(content_type: str | None) -> str:
    value = (content_type or "").split(";", 1)[0].strip().lower()
    return _CONTENT_TYPE_ALIASES.get(value, value)


def content_matches(content_type: str, head: bytes) -> bool:
    """Whether the file's first bytes are those of the declared type."""
    if content_type == "application/pdf":
        return b"%PDF-" in head[:HEAD_BYTES]
    if content_type == "image/jpeg":
        return head.startswith(b"\xff\xd8\xff")
    if content_type == "image/png":
        return head.startswith(b"\x89PNG\r\n\x1a\n")
    if content_type == "image/tiff":
        return head[:4] in (b"II*\x00", b"MM\x00*")
    if content_type in ("image/heic", "image/heif"):
        return head[4:8] == b"ftyp" and head[8:12] in _HEIF_BRANDS
    if content_type == "image/webp":
        return head[:4] == b"RIFF" and head[8:12] == b"WEBP"
    if content_type == "application/ofd":
        return head.startswith(b"PK\x03\x04")
    return False


def check_content_type(content_type: str | None) -> str:
    normalised = normalise_content_type(content_type)
    if normalised not in ALLOWED_CONTENT_TYPES:
        allowed = ", ".join(ALLOWED_CONTENT_TYPES)
        raise MaterialsError(415, "file", f"content type {normalised or 'none'!r} is not accepted (allowed: {allowed})")
    return normalised


_UNSAFE = re.compile(r"[^\w.\-()（） ]+")


def sanitise_filename(name: str | None) -> str:
    """The client's file name fit for display: no directories, control characters or odd symbols.
    It is kept as metadata only; the stored path never uses it."""
    base = unicodedata.normalize("NFC", name or "").replace("\\", "/").rsplit("/", 1)[-1]
    base = "".join(ch for ch in base if unicodedata.category(ch)[0] != "C")
    base = _UNSAFE.sub("_", base).strip(" ._") or "document"
    if len(base) > 200:
        stem, dot, suffix = base.rpartition(".")
        base = (stem[: 200 - len(suffix) - 1] + dot + suffix) if dot and len(suffix) <= 10 else base[:200]
    return base


def check_item_code(session: Session, claim: Claim, item_code: str) -> None:
    """An upload must name an item of the claim's checklist (of its line while no profile is set)."""
    found = checklist(claim.line)
    profile = repository.profile(session, claim.id)
    if profile is not None:
        claim_type = claim_type_def(claim.line, profile.claim_type)
        if claim_type.requirement(item_code) is None:
            known = ", ".join(r.item for r in claim_type.requirements)
            raise MaterialsError(
                422, "item_code", f"unknown item {item_code!r} for claim type {claim_type.code!r} (known: {known})"
            )
    elif item_code not in found.items:
        raise MaterialsError(422, "item_code", f"unknown item {item_code!r} for {claim.line} claims")


def store_document(
    session: Session,
    claim: Claim,
    actor: str,
    item_code: str,
    filename: str | None,
    content_type: str | None,
    staged: StagedFile,
    at: dt.datetime | None = None,
) -> tuple[MaterialsDocument, bool]:
    """Put a staged upload in place and record it; returns the document and whether it is new (the
    same content for the same item is acknowledged again). The file is moved into place before the
    row is written, so a failed transaction can leave a stray file but never a row without a file.
    When the upload completes the latest notice, the SLA clocks are told the materials arrived."""
    at = at or utc_now()
    normalised = check_content_type(content_type)
    profile = repository.profile(session, claim.id, for_update=True)
    check_item_code(session, claim, item_code)
    if not content_matches(normalised, staged.head):
        raise MaterialsError(
            415, "file", f"the content is not a {ALLOWED_CONTENT_TYPES[normalised]} file as its type {normalised} says"
        )
    refused = content.refusal(normalised, staged.path, staged.head, staged.size)
    if refused is not None:
        raise MaterialsError(415, "file", refused)
    existing = repository.document_with_hash(session, claim.id, item_code, staged.sha256)
    if existing is not None:
        return existing, False

    relative = f"{claim.tenant_id}/{claim.id}/{staged.sha256}"
    storage.place(staged, relative)

    seq = audit_service.record(
        session,
        claim.tenant_id,
        DOCUMENT_KIND,
        claim.number,
        actor,
        {
            "claim": claim.number,
            "item": item_code,
            "sha256": staged.sha256,
            "size": staged.size,
            "content_type": normalised,
            "uploaded_at": at.astimezone(dt.UTC).isoformat(),
        },
    )
    document = MaterialsDocument(
        tenant_id=claim.tenant_id,
        claim_id=claim.id,
        item_code=item_code,
        filename=sanitise_filename(filename),
        content_type=normalised,
        size_bytes=staged.size,
        sha256=staged.sha256,
        storage_path=relative,
        uploaded_at=at,
        uploaded_by=actor,
        audit_seq=seq,
    )
    session.add(document)
    session.flush()

    if profile is not None:
        notices = repository.notices(session, claim.id)
        latest = notices[-1] if notices else None
        if latest is not None and latest.completed_at is None:
            received = repository.received_items(session, claim.id)
            if set(latest.items) <= received:
                latest.completed_at = at
                profile.awaiting_since = None
                session.flush()
                reason = f"all items of materials notice round {latest.round} received"
                sla_service.signal(session, claim.tenant_id, claim.id, "materials_received", at, actor, reason)
        signal_if_complete(session, claim, at, actor)
    return document, True


# --- the claim's materials, for the API and the claim page -----------------------------------------


def item_label(line: str, code: str, locale: str) -> str:
    found = registry().get(line)
    item = found.items.get(code) if found else None
    return item.label(locale) if item else code


def document_dict(document: MaterialsDocument, locale: str, line: str | None = None) -> dict[str, Any]:
    """A received document's metadata (never its content)."""
    return {
        "id": document.id,
        "item_code": document.item_code,
        "item_label": item_label(line, document.item_code, locale) if line else document.item_code,
        # File names often carry an ID or phone number: masked like any free text.
        "filename": scrub_text(document.filename),
        "content_type": document.content_type,
        "size_bytes": document.size_bytes,
        "sha256": document.sha256,
        "uploaded_at": document.uploaded_at,
        "uploaded_by": document.uploaded_by,
        "audit_seq": document.audit_seq,
    }


def received_at(view: dict[str, Any]) -> dict[str, dt.datetime]:
    """When each checklist item of a :func:`materials_view` was last received (the claim page shows this
    rather than the documents themselves: their file names may carry personal data)."""
    latest: dict[str, dt.datetime] = {}
    for document in view.get("documents", []):
        code, at = document["item_code"], document["uploaded_at"]
        if code not in latest or at > latest[code]:
            latest[code] = at
    return latest


def materials_view(session: Session, claim: Claim, locale: str) -> dict[str, Any]:
    """Everything the claim page and ``GET .../materials`` show: the checklist with labels in the
    reader's language (both names kept), received and missing flags, the notices with their round,
    items and violation flags, and the supplement count. Document contents never appear here."""
    found = registry().get(claim.line)
    profile = repository.profile(session, claim.id)
    documents = repository.documents(session, claim.id)
    notices = repository.notices(session, claim.id)
    received = {d.item_code for d in documents}

    def label(code: str) -> str:
        return item_label(claim.line, code, locale)

    def names(code: str) -> dict[str, str]:
        item = found.items.get(code) if found else None
        return {"name_zh": item.name_zh if item else code, "name_en": item.name_en if item else code}

    view: dict[str, Any] = {
        "claim_number": claim.number,
        "line": claim.line,
        "checklist_available": found is not None,
        "claim_types": [],
        "available_facts": [],
        "profile": None,
        "items": [],
        "received": sorted(received),
        "missing": [],
        "optional_missing": [],
        "complete": False,
        "documents": [document_dict(d, locale, claim.line) for d in documents],
        "notices": [],
        "notices_issued": profile.notices_issued if profile else 0,
        "supplement_rounds": profile.supplement_rounds if profile else 0,
        "violation_rounds": profile.violation_rounds if profile else 0,
        "awaiting_since": profile.awaiting_since if profile else None,
        # 三免: a fast-tracked claim needs only the electronic items; the others show as waived.
        "electronic_only": electronic_only(claim),
    }
    if found is not None:
        view["claim_types"] = [{"code": t.code, "label": t.label(locale)} for t in found.claim_types.values()]
        view["available_facts"] = [{"code": f.code, "label": f.label(locale)} for f in found.facts.values()]
    for notice in notices:
        view["notices"].append(
            {
                "round": notice.round,
                "kind": "one_time" if notice.round == 1 else "supplement",
                "issued_at": notice.issued_at,
                "issued_by": notice.issued_by,
                "claim_type": notice.claim_type,
                "facts": list(notice.facts),
                "items": [
                    {
                        "code": code,
                        "label": label(code),
                        "basis": notice.basis.get(code, BASIS_FIRST),
                        "received": code in received,
                    }
                    for code in notice.items
                ],
                "omitted_items": [code for code in notice.missing_items if code not in notice.items],
                "violation": bool(notice.violation_items),
                "violation_items": list(notice.violation_items),
                "completed_at": notice.completed_at,
                "audit_seq": notice.audit_seq,
            }
        )
    if found is None or profile is None or profile.claim_type not in found.claim_types:
        return view

    claim_type = found.claim_types[profile.claim_type]
    evaluation = evaluate(claim_type, profile.facts, received, electronic_only(claim))
    view["profile"] = {
        "claim_type": claim_type.code,
        "claim_type_label": claim_type.label(locale),
        "facts": [{"code": f, "label": found.facts[f].label(locale) if f in found.facts else f} for f in profile.facts],
        "updated_at": profile.updated_at,
        "updated_by": profile.updated_by,
    }
    applicable = {r.item for r in evaluation.applicable}
    missing = set(evaluation.missing)
    for requirement in claim_type.requirements:
        code = requirement.item
        view["items"].append(
            {
                "code": code,
                "label": label(code),
                **names(code),
                "requirement": requirement.kind,
                "condition": sorted(requirement.all_facts | requirement.any_facts),
                "applicable": code in applicable,
                "electronic": requirement.electronic,
                "waived": electronic_only(claim) and not requirement.electronic and requirement.applies(profile.facts),
                "received": code in received,
                "missing": code in missing,
            }
        )
    view["missing"] = list(evaluation.missing)
    view["optional_missing"] = list(evaluation.optional_missing)
    view["complete"] = evaluation.complete
    return view


# --- what the claim waits for: the same answer for staff and claimant --------------------------------

AWAITING_STATUS = "awaiting_materials"  # 待补材料, in every default workflow

# Why a claim shows no list of awaited items, or that it has one.
AWAITED_NO_CHECKLIST = "no_checklist"  # the line of business has no checklist
AWAITED_NO_CLAIM_TYPE = "no_claim_type"  # the claim type (materials profile) is not set: no checklist yet
AWAITED_ITEMS = "awaiting"  # items are awaited (listed)
AWAITED_NOTHING = "complete"  # every required item, and every item of the open notice, has been received


def awaited(session: Session, claim: Claim, locale: str) -> dict[str, Any]:
    """What the claim waits for from the claimant, one answer for the claim page and the claimant's lookup
    page: the required (and applicable conditional) items not received, plus whatever the open notice
    asked for and is still outstanding (a notice may ask for an optional item; the SLA clocks wait for
    all of its items). ``waiting`` is true while the claim is in 待补材料 or a notice is open, so a page can
    say why no list is shown instead of showing none. ``unavailable``: outstanding notice items that the
    claim type no longer lists (the claimant cannot upload them; staff should issue a new notice)."""
    found = registry().get(claim.line)
    profile = repository.profile(session, claim.id)
    waiting = claim.status == AWAITING_STATUS or (profile is not None and profile.awaiting_since is not None)
    answer: dict[str, Any] = {
        "waiting": waiting,
        "state": AWAITED_NO_CHECKLIST,
        "items": [],
        "optional": [],
        "unavailable": [],
        "notice_round": None,
    }

    def entries(codes: Iterable[str]) -> list[dict[str, str]]:
        return [{"code": code, "label": item_label(claim.line, code, locale)} for code in codes]

    if found is None:
        return answer
    if profile is None or profile.claim_type not in found.claim_types:
        return answer | {"state": AWAITED_NO_CLAIM_TYPE}
    claim_type = found.claim_types[profile.claim_type]
    received = repository.received_items(session, claim.id)
    evaluation = evaluate(claim_type, profile.facts, received, electronic_only(claim))
    notices = repository.notices(session, claim.id)
    open_notice = notices[-1] if notices and notices[-1].completed_at is None else None
    outstanding = [code for code in (open_notice.items if open_notice else []) if code not in received]
    listed = {r.item for r in claim_type.requirements}
    wanted = set(evaluation.missing) | {code for code in outstanding if code in listed}
    items = [r.item for r in claim_type.requirements if r.item in wanted]
    optional = [code for code in evaluation.optional_missing if code not in wanted]
    return answer | {
        "state": AWAITED_ITEMS if items else AWAITED_NOTHING,
        "items": entries(items),
        "optional": entries(optional),
        "unavailable": entries(code for code in outstanding if code not in listed),
        "notice_round": open_notice.round if open_notice else None,
    }
