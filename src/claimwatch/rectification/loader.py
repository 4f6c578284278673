"""The rectification deadlines as data (``defaults/rectification/policies.yaml``), read with the SLA engine's
subject-policy reader (file:line errors) and overridable per tenant like the complaint policies
(``<CLAIMWATCH_POLICY_OVERRIDES_DIR>/rectification/<TENANT_CODE>.yaml``)."""

from __future__ import annotations

from functools import lru_cache

from sqlalchemy.orm import Session

from claimwatch.config import PACKAGE_DIR
from claimwatch.sla.loader import Policy, PolicyError, parse_subject_policies, with_tenant_overrides
from claimwatch.tenancy import repository as tenancy_repository

PLAN = "rectification_plan"
ACCEPTANCE = "rectification_acceptance"
POLICY_CODES = (PLAN, ACCEPTANCE)
POLICY_FILE = PACKAGE_DIR / "defaults" / "rectification" / "policies.yaml"


def parse(text: str, source: str) -> dict[str, Policy]:
    """A rectification policy file: the subject-policy shape, and both policies present."""
    policies = {p.code: p for p in parse_subject_policies(text, source)}
    missing = [code for code in POLICY_CODES if code not in policies]
    if missing:
        raise PolicyError(source, 1, f"missing rectification policies {missing}")
    unknown = sorted(set(policies) - set(POLICY_CODES))
    if unknown:
        raise PolicyError(source, 1, f"unknown rectification policies {unknown} (known: {list(POLICY_CODES)})")
    return policies


@lru_cache
def base_policies() -> dict[str, Policy]:
    return parse(POLICY_FILE.read_text(encoding="utf-8"), str(POLICY_FILE))


@lru_cache
def policies_for_tenant(tenant_code: str) -> dict[str, Policy]:
    return with_tenant_overrides(base_policies(), tenant_code, "rectification")


def tenant_policies(session: Session, tenant_id: int) -> dict[str, Policy]:
    tenant = tenancy_repository.tenant_by_id(session, tenant_id)
    if tenant is None:
        raise LookupError(f"no tenant {tenant_id}")
    return policies_for_tenant(tenant.code)
