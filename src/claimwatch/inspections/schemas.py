"""The sampling plan as data (抽检方案): a plan YAML file and the API's JSON body are the same shape.

::

    code: motor-2026-11
    name: 车险理赔月度抽检
    subject_kind: claim
    scorecard: motor_claim
    population: {period: 2026-11, date_field: closed, line: motor, org_unit: PICC-GD}
    method: stratified            # simple | stratified | targeted
    strata: [org, line]           # stratified: any of org, line, region
    allocation: neyman            # proportional | neyman
    expected_error_rate: 0.05     # Neyman priors where no earlier inspection says better; computed sizes
    size: {share: 0.02}           # {fixed: 50} | {share: 0.02} | {confidence: 0.95, margin: 0.05}
    due_days: 10
    inspectors: [picc.inspector]  # default: every active inspector of the insurer

The population's keys are the subject kind's filter fields (checked by the kind, each bad key named).
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

STRATA = ("org", "line", "region")
STRATUM_COLUMNS = {"org": "org_unit_id", "line": "line", "region": "region_code"}
METHODS = ("simple", "stratified", "targeted")
SCHEDULES = ("none", "monthly", "quarterly")
CODE_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$"


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class Target(_Strict):
    """Targeted plans: every matching record (``all``), or the ``k`` with the highest ``score``."""

    rule: Literal["all", "top_k"] = "all"
    k: int | None = Field(default=None, ge=1, le=100_000)
    score: str | None = Field(default=None, max_length=32)

    @model_validator(mode="after")
    def _needs_k(self) -> Target:
        if self.rule == "top_k" and (self.k is None or self.score is None):
            raise ValueError("top_k needs k and score (e.g. score: amount)")
        return self


class Size(_Strict):
    """Exactly one way to size the sample: ``fixed``, ``share``, or ``confidence`` + ``margin``
    (+ ``expected_error_rate``) computed with the finite-population correction."""

    fixed: int | None = Field(default=None, ge=1, le=1_000_000)
    share: float | None = Field(default=None, gt=0, le=1)
    confidence: float | None = Field(default=None, gt=0.5, lt=1)
    margin: float | None = Field(default=None, gt=0, lt=0.5)
    expected_error_rate: float | None = Field(default=None, gt=0, lt=1)

    @model_validator(mode="after")
    def _one_way(self) -> Size:
        ways = [self.fixed is not None, self.share is not None, self.confidence is not None or self.margin is not None]
        if sum(ways) != 1:
            raise ValueError("give exactly one of fixed, share, or confidence with margin")
        if (self.confidence is None) != (self.margin is None):
            raise ValueError("a computed size needs both confidence and margin")
        return self

    @property
    def mode(self) -> str:
        return "fixed" if self.fixed is not None else "share" if self.share is not None else "computed"


class PlanDefinition(_Strict):
    code: str = Field(pattern=CODE_PATTERN)
    name: str = Field(min_length=1, max_length=200)
    subject_kind: str = Field(default="claim", max_length=32)
    scorecard: str = Field(min_length=1, max_length=64)
    population: dict[str, Any] = Field(default_factory=dict)
    method: Literal["simple", "stratified", "targeted"] = "simple"
    strata: list[Literal["org", "line", "region"]] = Field(default_factory=list, max_length=3)
    allocation: Literal["proportional", "neyman"] = "proportional"
    expected_error_rate: float = Field(default=0.05, gt=0, lt=1)
    target: Target | None = None
    size: Size | None = None
    due_days: int = Field(default=10, ge=1, le=365)
    review_share: float = Field(default=0.1, ge=0, le=1)
    exclude_own_unit: bool = True
    schedule: Literal["none", "monthly", "quarterly"] = "none"
    inspectors: list[str] = Field(default_factory=list, max_length=200)

    @model_validator(mode="after")
    def _consistent(self) -> PlanDefinition:
        if len(set(self.strata)) != len(self.strata):
            raise ValueError("strata: each of org, line, region at most once")
        if self.method == "stratified" and not self.strata:
            raise ValueError("strata: a stratified plan names its strata (org, line and/or region)")
        if self.method != "stratified" and self.strata:
            raise ValueError("strata: strata are only for the stratified method")
        if self.method == "targeted":
            if self.target is None:
                raise ValueError("target: a targeted plan needs {rule: all} or {rule: top_k, k, score}")
            if self.size is not None:
                raise ValueError("size: a targeted plan's size is its target (all, or top k): no size")
        elif self.size is None:
            raise ValueError("size: required: {fixed: N}, {share: 0.01} or {confidence: 0.95, margin: 0.05}")
        elif self.target is not None:
            raise ValueError("target: only for the targeted method")
        return self


_RULE_FIELDS = ("strata", "target", "size")


def error_field(loc: tuple[Any, ...], message: str) -> str:
    """The dotted field of a pydantic error. A plan-level rule names its field first ("size: …")."""
    parts = [str(part) for part in loc if part != "body"]
    if parts:
        return ".".join(parts)
    head = message.removeprefix("Value error, ").split(":", 1)[0]
    return head if head in _RULE_FIELDS else "plan"


def error_message(message: str) -> str:
    text = message.removeprefix("Value error, ")
    head, _, rest = text.partition(": ")
    return rest if head in _RULE_FIELDS and rest else text


class DrawIn(_Strict):
    period: str | None = Field(default=None, max_length=16)
    seed: int | None = Field(default=None, ge=0, lt=2**63)
