"""The register of third parties (第三方机构): providers, their status, contracts with a service level per task
kind, their keys, and the two rules every task needs: whether a provider may get a new task
(:func:`refusal_for_new_task`) and the deadline it is held to (:func:`contract_level`).

A provider is refused a new task when it is on the sanctions blacklist (a third-party entry with its code,
credit code or name), suspended, its licence expired, or it does not serve the kind (its provider kind is not
one the kind names, and no contract in force sets a level for it). Contacts are personal data: stored with
``privacy.field_cipher``, shown masked (:func:`contact_view`); the clear e-mail only to send
(:func:`contact_email`). Every write is audited in the caller's transaction; nothing here commits.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote, urlencode

from sqlalchemy.orm import Session

from claimwatch.audit import service as audit_service
from claimwatch.auth import service as auth_service
from claimwatch.auth.models import Role
from claimwatch.auth.principal import Permission, Principal
from claimwatch.db import utc_now
from claimwatch.errors import Conflict, FieldProblem, Forbidden, Invalid, NotFound
from claimwatch.params import checked_date
from claimwatch.privacy import field_cipher, mask_name, mask_phone
from claimwatch.providers import loader, repository
from claimwatch.providers.loader import PROVIDER_KINDS, UNITS, TaskKind
from claimwatch.providers.models import ContractLevel, Provider, ProviderContract
from claimwatch.providers.schemas import ContractIn, LevelIn, ProviderIn, ProviderUpdate
from claimwatch.sanctions import repository as sanctions_repository
from claimwatch.sanctions import service as sanctions_service
from claimwatch.tenancy import service as tenancy_service
from claimwatch.web.i18n import N_, translate
from claimwatch.workflow import service as workflow_service

STATUSES = ("active", "suspended")
# What a list shows: the stored status, or "blacklisted" when the sanctions blacklist lists the provider.
SHOWN_STATUSES = ("active", "suspended", "blacklisted")
KIND_LABELS = {
    "appraisal_agency": N_("Appraisal agency"),
    "repair_shop": N_("Repair shop"),
    "hospital": N_("Hospital"),
    "surveyor": N_("Surveyor"),
    "law_firm": N_("Law firm"),
}
STATUS_LABELS = {
    "active": N_("Active"),
    "suspended": N_("Suspended"),
    "blacklisted": N_("Blacklisted"),
}
# Why a provider gets no new task (refusal_for_new_task's codes).
REFUSAL_LABELS = {
    "blacklisted": N_("The provider is on the blacklist."),
    "suspended": N_("The provider is suspended."),
    "licence_expired": N_("The provider's licence has expired."),
    "kind_not_served": N_("The provider does not do this kind of task."),
}
UNIT_LABELS = {"working_days": N_("working days"), "calendar_days": N_("calendar days"), "hours": N_("hours")}
MAX_REASON = 2000
# The sanctions party kinds a third party can be listed under (all but staff members and agents).
_STAFF_PARTIES = ("staff", "agent")
_CREDIT_CHARS = "0123456789ABCDEFGHJKLMNPQRTUWXY"
_CREDIT_WEIGHTS = (1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28)
_CREDIT_RE = re.compile(r"[0-9A-HJ-NP-RTUW-Y]{18}")


@dataclass(frozen=True)
class Level:
    """The service level a task is held to: the contract's (``from_contract``) or the kind's default."""

    contract_id: int | None
    days: int
    unit: str  # working_days | calendar_days | hours
    from_contract: bool


def tenant_of(principal: Principal) -> int:
    if principal.tenant_id is None:
        raise Forbidden("tenant", "the provider register belongs to one insurer; this account belongs to none")
    return principal.tenant_id


def kind_label(kind: str, locale: str) -> str:
    return translate(locale, KIND_LABELS[kind]) if kind in KIND_LABELS else kind


def credit_check_char(first17: str) -> str:
    """The check character of a 统一社会信用代码 (GB 32100-2015) from its first 17."""
    total = sum(_CREDIT_CHARS.index(char) * weight for char, weight in zip(first17, _CREDIT_WEIGHTS, strict=True))
    return _CREDIT_CHARS[(31 - total % 31) % 31]


def _credit_code_problem(value: str) -> str | None:
    if not _CREDIT_RE.fullmatch(value):
        return "18 characters: digits and capital letters except I, O, Z, S and V"
    if credit_check_char(value[:17]) != value[17]:
        return "the check character (the last) does not match the others: check the code"
    return None


# -- reading ---------------------------------------------------------------------------------------------------


def get_provider(session: Session, code: str, tenant_id: int | None = None) -> Provider:
    """The provider with this code (another insurer's is unknown); a regulator names the insurer when several
    have the code."""
    found = repository.providers_by_code(session, code, tenant_id)
    if not found:
        raise NotFound("provider", f"no provider {code!r}")
    if len(found) > 1:
        raise Invalid("tenant", f"provider {code!r} exists at several insurers: name the insurer")
    return found[0]


def provider_by_id(session: Session, provider_id: int) -> Provider:
    found = repository.provider_by_id(session, provider_id)
    if found is None:
        raise NotFound("provider", f"no provider {provider_id}")
    return found


def _today(session: Session, tenant_id: int) -> dt.date:
    return utc_now().astimezone(tenancy_service.tenant_zone(session, tenant_id)).date()


def _key(text: str) -> str:
    return " ".join(text.split()).lower()


def _party_keys(provider: Provider) -> list[str]:
    return [_key(v) for v in (provider.code, provider.credit_code or "", provider.name) if v and v.strip()]


def third_party_kinds() -> tuple[str, ...]:
    return tuple(k for k in sanctions_service.PARTY_KINDS if k not in _STAFF_PARTIES)


def blacklisted(session: Session, provider: Provider, on: dt.date | None = None) -> bool:
    """Whether a third-party blacklist entry in force on ``on`` (default today) lists the provider by its code,
    credit code or name."""
    day = on or _today(session, provider.tenant_id)
    now = utc_now()
    for party_kind in third_party_kinds():
        for key in _party_keys(provider):
            for entry in sanctions_repository.blacklist_matches(session, provider.tenant_id, party_kind, key):
                if sanctions_service.in_force(entry, day, now):
                    return True
    return False


def blacklisted_keys(session: Session, on: dt.date) -> set[tuple[int, str]]:
    """(tenant, code or name key) of every third-party entry in force on ``on``: one read for a whole list."""
    now = utc_now()
    kinds = set(third_party_kinds())
    found: set[tuple[int, str]] = set()
    for entry in sanctions_repository.blacklist(session, include_lifted=False):
        if entry.party_kind in kinds and sanctions_service.in_force(entry, on, now):
            found.update((entry.tenant_id, key) for key in (entry.code_key, entry.name_key) if key)
    return found


def shown_status(provider: Provider, listed: set[tuple[int, str]]) -> str:
    if any((provider.tenant_id, key) in listed for key in _party_keys(provider)):
        return "blacklisted"
    return provider.status


def covers_region(provider_regions: list[str], region: str | None) -> bool:
    """A provider with no regions serves everywhere; a province code (440000) covers its cities (440300)."""
    if not provider_regions or not region:
        return True
    for code in provider_regions:
        prefix = code[:2] if code.endswith("0000") else code[:4] if code.endswith("00") else code
        if region.startswith(prefix):
            return True
    return False


def serves(session: Session, provider: Provider, kind: TaskKind, on: dt.date) -> bool:
    if provider.kind in kind.provider_kinds:
        return True
    return provider.id in repository.provider_ids_with_level(session, kind.code, on)


def refusal_for_new_task(session: Session, provider: Provider, kind: str, on: dt.date) -> str | None:
    """Why ``provider`` may not get a new task of ``kind`` on ``on`` (the tenant's local day), or None:
    blacklisted | suspended | licence_expired | kind_not_served (an unknown kind too)."""
    if blacklisted(session, provider, on):
        return "blacklisted"
    if provider.status != "active":
        return "suspended"
    if provider.licence_expires_on is not None and provider.licence_expires_on < on:
        return "licence_expired"
    found = loader.task_kind(session, provider.tenant_id, kind)
    if found is None or not serves(session, provider, found, on):
        return "kind_not_served"
    return None


def refusal_message(code: str, locale: str) -> str:
    return translate(locale, REFUSAL_LABELS.get(code, code))


def serving(
    session: Session,
    tenant_id: int,
    *,
    kind: str,
    region: str | None = None,
    line: str | None = None,
    on: dt.date | None = None,
) -> list[Provider]:
    """The providers that may get a new task of ``kind`` on ``on`` for a claim of ``region`` and ``line``
    (the send-task form's choices; a rule's candidates), by code."""
    day = on or _today(session, tenant_id)
    found = loader.task_kind(session, tenant_id, kind)
    if found is None:
        return []
    with_level = repository.provider_ids_with_level(session, kind, day)
    candidates = repository.providers(session, status="active", tenant_id=tenant_id)
    listed = blacklisted_keys(session, day)
    return [
        p
        for p in candidates
        if (p.kind in found.provider_kinds or p.id in with_level)
        and shown_status(p, listed) == "active"
        and (p.licence_expires_on is None or p.licence_expires_on >= day)
        and covers_region(p.regions, region)
        and (not p.lines or not line or line in p.lines)
    ]


def contract_level(session: Session, provider: Provider, kind: str, on: dt.date) -> Level:
    """The level a task of ``kind`` sent on ``on`` is held to: the contract in force that sets one (the latest
    start wins), else the kind's default (``from_contract`` False: such a task cannot count as standard)."""
    found = loader.task_kind(session, provider.tenant_id, kind)
    if found is None:
        raise Invalid("kind", f"unknown task kind {kind!r}")
    contracts = repository.contracts_in_force(session, provider.id, on)
    levels = repository.levels_of(session, [c.id for c in contracts])
    for contract in contracts:
        for level in levels[contract.id]:
            if level.task_kind == kind:
                return Level(contract.id, level.days, level.unit, True)
    return Level(None, found.days, found.unit, False)


def contact_view(provider: Provider) -> dict[str, str]:
    """The contact as pages, lists and the API show it: masked."""
    cipher = field_cipher()
    email = cipher.decrypt(provider.contact_email_enc) or ""
    local, _, domain = email.partition("@")
    return {
        "name": mask_name(cipher.decrypt(provider.contact_name_enc)),
        "phone": mask_phone(cipher.decrypt(provider.contact_phone_enc)),
        "email": f"{local[:1]}***@{domain}" if email else "",
    }


def contact_email(provider: Provider) -> str | None:
    """The contact's e-mail in clear, to send a task or a reminder (never to show)."""
    return field_cipher().decrypt(provider.contact_email_enc)


# -- checks shared by the API, the pages and the CSV import ----------------------------------------------------


def problems_of(session: Session, tenant_id: int, data: ProviderIn | ProviderUpdate) -> list[FieldProblem]:
    """What the register refuses in ``data`` beyond its schema (kind, regions, lines, credit code, dates);
    a new provider's code already taken is :func:`register`'s (and the import's) to say."""
    problems: list[FieldProblem] = []
    if data.kind is not None and data.kind not in PROVIDER_KINDS:
        problems.append(FieldProblem("kind", f"kind is one of {', '.join(PROVIDER_KINDS)}, not {data.kind!r}"))
    known_regions = tenancy_service.region_names()
    for region in data.regions or []:
        if f"{region[:2]}0000" not in known_regions:
            problems.append(FieldProblem("regions", f"unknown region {region!r} (a province or city code)"))
    lines = workflow_service.lines()
    for line in data.lines or []:
        if line not in lines:
            problems.append(FieldProblem("lines", f"unknown line {line!r} (known: {', '.join(lines)})"))
    if data.credit_code:
        found = _credit_code_problem(data.credit_code.strip().upper())
        if found:
            problems.append(FieldProblem("credit_code", found))
    if data.licence_expires_on is not None:
        try:
            checked_date("licence_expires_on", data.licence_expires_on)
        except Invalid as exc:
            problems.append(FieldProblem("licence_expires_on", exc.message))
    return problems


def _raise_first(problems: list[FieldProblem]) -> None:
    if problems:
        raise Invalid(problems[0].field, problems[0].message, problems=problems)


def _require_manager(principal: Principal) -> int:
    principal.require(Permission.MANAGE_PROVIDERS)
    return tenant_of(principal)


def _clean(value: str | None) -> str | None:
    text = (value or "").strip()
    return text or None


def _set_contact(provider: Provider, field: str, value: str | None) -> None:
    setattr(provider, f"{field}_enc", field_cipher().encrypt(_clean(value)))


def register(session: Session, principal: Principal, data: ProviderIn) -> Provider:
    """Register a provider (active). A code already registered: 409 naming ``code``."""
    tenant_id = _require_manager(principal)
    _raise_first(problems_of(session, tenant_id, data))
    if repository.providers_by_code(session, data.code, tenant_id):
        raise Conflict("code", f"provider {data.code!r} is already registered")
    provider = Provider(
        tenant_id=tenant_id,
        code=data.code,
        name=data.name.strip(),
        kind=data.kind,
        credit_code=_clean(data.credit_code.upper() if data.credit_code else None),
        regions=sorted(set(data.regions)),
        lines=sorted(set(data.lines)),
        licence_number=_clean(data.licence_number),
        licence_expires_on=data.licence_expires_on,
        status="active",
        created_by=principal.actor,
    )
    for field in ("contact_name", "contact_phone", "contact_email"):
        _set_contact(provider, field, getattr(data, field))
    session.add(provider)
    session.flush()
    payload = _public(provider) | {"action": "register"}
    audit_service.record(session, tenant_id, "provider", provider.code, principal.actor, payload)
    return provider


def _public(provider: Provider) -> dict[str, Any]:
    """What the audit chain keeps of a provider: everything but the contact in clear."""
    return {
        "code": provider.code,
        "name": provider.name,
        "kind": provider.kind,
        "credit_code": provider.credit_code,
        "regions": list(provider.regions),
        "lines": list(provider.lines),
        "licence_number": provider.licence_number,
        "licence_expires_on": provider.licence_expires_on.isoformat() if provider.licence_expires_on else None,
        "contact": contact_view(provider),
    }


def update(session: Session, principal: Principal, code: str, data: ProviderUpdate) -> Provider:
    """Change the fields sent (``null`` clears an optional one; name and kind cannot be cleared)."""
    tenant_id = _require_manager(principal)
    provider = get_provider(session, code, tenant_id)
    _raise_first(problems_of(session, tenant_id, data))
    sent = data.model_fields_set
    for field in ("name", "kind"):
        if field in sent and getattr(data, field) is None:
            raise Invalid(field, f"{field} cannot be cleared")
    changed: list[str] = []
    for field in sorted(sent):
        value = getattr(data, field)
        if field.startswith("contact_"):
            _set_contact(provider, field, value)
        elif field in ("regions", "lines"):
            setattr(provider, field, sorted(set(value or [])))
        elif field == "credit_code":
            provider.credit_code = _clean(value.upper() if value else None)
        elif field in ("name", "licence_number"):
            setattr(provider, field, _clean(value))
        else:
            setattr(provider, field, value)
        changed.append(field)
    session.flush()
    payload = _public(provider) | {"action": "update", "changed": changed}
    audit_service.record(session, tenant_id, "provider", provider.code, principal.actor, payload)
    return provider


def set_status(
    session: Session, principal: Principal, code: str, status: str, reason: str, at: dt.datetime | None = None
) -> Provider:
    """Suspend (no new tasks; open ones go on) or reinstate a provider, with a reason (audited). A quality
    manager reviewing a scorecard flag may do it as well as whoever manages the register."""
    if not principal.can(Permission.REVIEW_PROVIDERS):
        principal.require(Permission.MANAGE_PROVIDERS)
    tenant_id = tenant_of(principal)
    if status not in STATUSES:
        raise Invalid("status", f"status is one of {', '.join(STATUSES)}")
    text = (reason or "").strip()
    if not text:
        raise Invalid("reason", "a reason is required")
    if len(text) > MAX_REASON:
        raise Invalid("reason", f"at most {MAX_REASON} characters")
    provider = get_provider(session, code, tenant_id)
    if provider.status == status:
        raise Conflict("status", f"provider {code!r} is already {status}")
    at = at or utc_now()
    previous = provider.status
    provider.status, provider.status_reason = status, text
    provider.status_changed_at, provider.status_changed_by = at, principal.actor
    session.flush()
    payload = {"action": "status", "from": previous, "to": status, "reason": text, "at": at.isoformat()}
    audit_service.record(session, tenant_id, "provider", provider.code, principal.actor, payload)
    return provider


def _level_problem(kinds: dict[str, TaskKind], level: LevelIn) -> FieldProblem | None:
    if level.task_kind not in kinds:
        return FieldProblem("task_kind", f"unknown task kind {level.task_kind!r} (known: {', '.join(kinds)})")
    if level.unit not in UNITS:
        return FieldProblem("unit", f"unit is one of {', '.join(UNITS)}, not {level.unit!r}")
    if level.days > loader.MAX_LEVEL[level.unit]:
        return FieldProblem("days", f"at most {loader.MAX_LEVEL[level.unit]} {level.unit}")
    return None


def contract_problems(session: Session, tenant_id: int, data: ContractIn) -> list[FieldProblem]:
    """What a contract may not say: an unknown task kind or unit, a kind twice, a period ending before it
    starts, dates outside the years handled, a reference already recorded."""
    kinds = loader.task_kinds(session, tenant_id)
    problems = [p for p in (_level_problem(kinds, level) for level in data.levels) if p is not None]
    seen = [level.task_kind for level in data.levels]
    for kind in sorted({k for k in seen if seen.count(k) > 1}):
        problems.append(FieldProblem("task_kind", f"task kind {kind!r} has two levels"))
    for field in ("starts_on", "ends_on"):
        value = getattr(data, field)
        if value is not None and not 1900 <= value.year <= 2999:
            problems.append(FieldProblem(field, "a date in the years 1900–2999"))
    if data.ends_on is not None and data.ends_on < data.starts_on:
        problems.append(FieldProblem("ends_on", "the contract ends before it starts"))
    if repository.contract_by_reference(session, tenant_id, data.reference) is not None:
        problems.append(FieldProblem("reference", f"contract {data.reference!r} is already recorded"))
    return problems


def add_contract(
    session: Session,
    principal: Principal,
    provider_code: str,
    reference: str,
    starts_on: dt.date,
    ends_on: dt.date | None,
    fee_schedule_ref: str | None,
    levels: dict[str, tuple[int, str]],
) -> ProviderContract:
    """Record a contract with its service level per task kind (an unknown kind: 422 naming ``task_kind``)."""
    data = ContractIn(
        reference=reference,
        starts_on=starts_on,
        ends_on=ends_on,
        fee_schedule_ref=fee_schedule_ref,
        levels=[LevelIn(task_kind=kind, days=days, unit=unit) for kind, (days, unit) in levels.items()],
    )
    return add_contract_from(session, principal, provider_code, data)


def add_contract_from(session: Session, principal: Principal, provider_code: str, data: ContractIn) -> ProviderContract:
    tenant_id = _require_manager(principal)
    provider = get_provider(session, provider_code, tenant_id)
    problems = contract_problems(session, tenant_id, data)
    if problems and all(p.field == "reference" for p in problems):
        raise Conflict("reference", problems[0].message)
    _raise_first(problems)
    contract = ProviderContract(
        tenant_id=tenant_id,
        provider_id=provider.id,
        reference=data.reference,
        fee_schedule_ref=_clean(data.fee_schedule_ref),
        starts_on=data.starts_on,
        ends_on=data.ends_on,
        created_by=principal.actor,
    )
    session.add(contract)
    session.flush()
    for level in data.levels:
        session.add(
            ContractLevel(
                tenant_id=tenant_id,
                contract_id=contract.id,
                task_kind=level.task_kind,
                days=level.days,
                unit=level.unit,
            )
        )
    session.flush()
    payload = {
        "action": "contract",
        "provider": provider.code,
        "reference": contract.reference,
        "starts_on": contract.starts_on.isoformat(),
        "ends_on": contract.ends_on.isoformat() if contract.ends_on else None,
        "fee_schedule_ref": contract.fee_schedule_ref,
        "levels": {level.task_kind: [level.days, level.unit] for level in data.levels},
    }
    audit_service.record(session, tenant_id, "provider.contract", contract.reference, principal.actor, payload)
    return contract


def issue_key(session: Session, principal: Principal, provider_code: str, name: str | None = None) -> str:
    """A new API key for the provider (role provider: its own tasks only). The key is returned once and
    never stored; the audit chain keeps its prefix."""
    tenant_id = _require_manager(principal)
    provider = get_provider(session, provider_code, tenant_id)
    key_name = (name or "").strip() or f"provider:{provider.code}"
    row, key = auth_service.create_api_key(
        session,
        tenant_id=tenant_id,
        name=key_name[:100],
        role=Role.PROVIDER,
        actor=principal.actor,
        provider_id=provider.id,
    )
    payload = {"action": "key", "name": row.name, "prefix": row.prefix}
    audit_service.record(session, tenant_id, "provider", provider.code, principal.actor, payload)
    return key


def provider_url(code: str, tenant_code: str | None = None) -> str:
    url = f"/providers/{quote(code, safe='')}"
    return f"{url}?{urlencode({'tenant': tenant_code})}" if tenant_code else url
