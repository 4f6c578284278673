"""Response bodies of the evidence API. Hashes, keys and signatures are lowercase hex; times of signed heads
are ISO 8601 UTC with milliseconds (exactly what the signature covers, ``evidence.heads``)."""

from __future__ import annotations

import datetime as dt

from pydantic import BaseModel

from claimwatch.evidence import heads
from claimwatch.evidence.models import EvidenceSigningKey, EvidenceTreeHead
from claimwatch.evidence.service import ConsistencyProof, InclusionProof


class HeadOut(BaseModel):
    """A signed tree head: the root of the first ``tree_size`` entries of the insurer's audit chain."""

    tenant: str
    tree_size: int
    root_hash: str
    signed_at: str
    key_id: str
    signature: str
    reason: str

    @classmethod
    def of(cls, head: EvidenceTreeHead, tenant: str) -> HeadOut:
        return cls(
            tenant=tenant,
            tree_size=head.tree_size,
            root_hash=head.root_hash,
            signed_at=heads.format_signed_at(head.signed_at),
            key_id=head.key_id,
            signature=head.signature,
            reason=head.reason,
        )


class HeadPage(BaseModel):
    items: list[HeadOut]
    next_below_size: int | None  # pass as ?below_size= for the next page; None: no more


class InclusionOut(BaseModel):
    tenant: str
    seq: int
    leaf_index: int
    tree_size: int
    leaf_hash: str
    path: list[str]
    root_hash: str

    @classmethod
    def of(cls, proof: InclusionProof, tenant: str) -> InclusionOut:
        return cls(tenant=tenant, **proof.__dict__)


class ConsistencyOut(BaseModel):
    tenant: str
    first: int
    second: int
    first_root: str
    second_root: str
    path: list[str]

    @classmethod
    def of(cls, proof: ConsistencyProof, tenant: str) -> ConsistencyOut:
        return cls(tenant=tenant, **proof.__dict__)


class PublicKeyOut(BaseModel):
    """A signing key's public half. ``tenant`` None: the supervising platform's witness key."""

    key_id: str
    tenant: str | None
    public_key: str
    created_at: dt.datetime
    retired_at: dt.datetime | None

    @classmethod
    def of(cls, key: EvidenceSigningKey, codes: dict[int, str]) -> PublicKeyOut:
        return cls(
            key_id=key.key_id,
            tenant=codes.get(key.tenant_id) if key.tenant_id is not None else None,
            public_key=key.public_key,
            created_at=key.created_at,
            retired_at=key.retired_at,
        )
