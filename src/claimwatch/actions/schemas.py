"""Shapes of improvement actions: the root-cause analysis (5 whys, fishbone 人/机/料/法/环/测) the service
validates, a plan step as given, and the API's request and response bodies."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, ValidationError

from claimwatch.actions.vocabulary import FISHBONE, FIVE_WHYS
from claimwatch.errors import Invalid

MAX_TEXT = 4000
Cause = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=300)]


class _Body(BaseModel):
    model_config = ConfigDict(extra="forbid")


# -- root cause -------------------------------------------------------------------------------------------


class WhyAnswer(_Body):
    why: str = Field(min_length=1, max_length=500, description="为什么……？")
    answer: str = Field(min_length=1, max_length=1000, description="因为……")


class FiveWhys(_Body):
    whys: list[WhyAnswer] = Field(min_length=1, max_length=5)


class Fishbone(_Body):
    """Causes per category: 人 man, 机 machine, 料 material, 法 method, 环 environment, 测 measurement."""

    man: list[Cause] = Field(default_factory=list, max_length=10)
    machine: list[Cause] = Field(default_factory=list, max_length=10)
    material: list[Cause] = Field(default_factory=list, max_length=10)
    method: list[Cause] = Field(default_factory=list, max_length=10)
    environment: list[Cause] = Field(default_factory=list, max_length=10)
    measurement: list[Cause] = Field(default_factory=list, max_length=10)


def _where(error: ValidationError) -> str:
    first = error.errors()[0]
    place = ".".join(str(part) for part in first.get("loc", ()))
    return f"{place}: {first.get('msg', 'invalid')}" if place else str(first.get("msg", "invalid"))


def check_rca(method: str | None, rca: Any) -> Any:
    """The analysis in its stored shape ({"whys": [{why, answer}…]} or {man: [...], …}); Invalid("rca") or
    Invalid("rca_method") when it does not fit. A 5-whys analysis may also be given as the bare list."""
    if method is None:
        if rca not in (None, {}, []):
            raise Invalid("rca_method", "say which method the analysis uses (five_whys or fishbone)")
        return None
    if method not in (FIVE_WHYS, FISHBONE):
        raise Invalid("rca_method", f"unknown method {method!r} (known: five_whys, fishbone)")
    if rca is None:
        return None
    try:
        if method == FIVE_WHYS:
            value = FiveWhys.model_validate({"whys": rca} if isinstance(rca, list) else rca)
            return value.model_dump()
        bone = Fishbone.model_validate(rca)
    except ValidationError as error:
        raise Invalid("rca", f"the {method} analysis does not fit: {_where(error)}") from error
    if not any(getattr(bone, category) for category in Fishbone.model_fields):
        raise Invalid("rca", "a fishbone needs at least one cause")
    return bone.model_dump()


# -- steps ----------------------------------------------------------------------------------------------


class StepInput(_Body):
    """A plan step as given: its text, its owner (default: the action's owner) and due date (default: the
    action's)."""

    text: str = Field(min_length=1, max_length=MAX_TEXT)
    owner_user_id: int | None = Field(default=None, ge=1, le=2**31 - 1)
    due_on: dt.date | None = None


# -- API bodies -----------------------------------------------------------------------------------------


class RaiseIn(_Body):
    source_kind: str = Field(
        max_length=32, description="finding | complaint_cause | alert | kpi | survey | committee | manual"
    )
    source_id: int | None = Field(default=None, ge=1, le=2**53)
    source_ref: str | None = Field(default=None, max_length=100)
    title: str = Field(default="", max_length=300)
    problem: str = Field(default="", max_length=MAX_TEXT)
    owner_user_id: int | None = Field(default=None, ge=1, le=2**31 - 1, description="required")
    due_on: dt.date | None = Field(default=None, description="required; not in the past")
    kpi_code: str | None = Field(default=None, max_length=48)
    scope_org_unit_id: int | None = Field(default=None, ge=1, le=2**31 - 1)
    scope_region: str | None = Field(default=None, max_length=12)
    scope_line: str | None = Field(default=None, max_length=32)
    steps: list[StepInput] = Field(default_factory=list, max_length=30)
    rca_method: str | None = Field(default=None, max_length=16)
    rca: Any = None
    root_cause: str | None = Field(default=None, max_length=MAX_TEXT)


class UpdateIn(_Body):
    title: str | None = Field(default=None, max_length=300)
    problem: str | None = Field(default=None, max_length=MAX_TEXT)
    owner_user_id: int | None = Field(default=None, ge=1, le=2**31 - 1)
    due_on: dt.date | None = None
    kpi_code: str | None = Field(default=None, max_length=48)
    rca_method: str | None = Field(default=None, max_length=16)
    rca: Any = None
    root_cause: str | None = Field(default=None, max_length=MAX_TEXT)


class StepUpdateIn(_Body):
    text: str | None = Field(default=None, max_length=MAX_TEXT)
    owner_user_id: int | None = Field(default=None, ge=1, le=2**31 - 1)
    due_on: dt.date | None = None


class NoteIn(_Body):
    note: str | None = Field(default=None, max_length=MAX_TEXT)


class PhaseIn(_Body):
    to_phase: str = Field(max_length=16, description="do | check | act | closed | cancelled")
    note: str | None = Field(default=None, max_length=MAX_TEXT, description="required when cancelling")


class WindowIn(_Body):
    start: dt.date
    end: dt.date


class CheckIn(_Body):
    before: WindowIn | None = None
    after: WindowIn | None = None


class StandardRefIn(_Body):
    kind: str = Field(max_length=16, description="workflow | checklist | policy | scorecard | document")
    code: str = Field(min_length=1, max_length=100)
    version: str | None = Field(default=None, max_length=64)
    digest: str | None = Field(default=None, max_length=64)
    note: str | None = Field(default=None, max_length=500)


class StandardiseIn(_Body):
    refs: list[StandardRefIn] = Field(min_length=1, max_length=20)
    note: str | None = Field(default=None, max_length=MAX_TEXT)


class NewCycleIn(_Body):
    due_on: dt.date | None = Field(default=None, description="required")
    owner_user_id: int | None = Field(default=None, ge=1, le=2**31 - 1)


class StepOut(BaseModel):
    id: int
    position: int
    text: str
    owner_user_id: int
    owner: str | None
    due_at: dt.datetime
    done_at: dt.datetime | None
    done_by: str | None
    note: str | None
    overdue: bool
    may_finish: bool


class HistoryOut(BaseModel):
    kind: str
    label: str
    at: dt.datetime
    actor: str
    data: dict[str, Any]


class ActionOut(BaseModel):
    id: int
    number: str
    title: str
    problem: str
    phase: str
    phase_label: str
    source: dict[str, Any]
    kpi_code: str | None
    kpi_name: str | None
    scope: dict[str, Any]
    owner_user_id: int
    owner: str | None
    due_at: dt.datetime
    light: str | None
    overdue: bool
    rca_method: str | None
    rca: Any
    root_cause: str | None
    cycle: int
    previous_action_id: int | None
    next_action_id: int | None
    done_at: dt.datetime | None
    check_verdict: str | None
    check_result: dict[str, Any] | None
    checked_at: dt.datetime | None
    standard_refs: list[dict[str, Any]]
    outcome: str | None
    outcome_note: str | None
    completed_at: dt.datetime | None
    created_at: dt.datetime
    created_by: str
    steps: list[StepOut]
    clocks: list[dict[str, Any]]
    history: list[HistoryOut]
    allowed: list[str]
    url: str


class BoardRowOut(BaseModel):
    id: int
    number: str
    title: str
    phase: str
    source_kind: str
    source_label: str
    kpi_code: str | None
    owner: str | None
    due_at: dt.datetime
    overdue: bool
    light: str | None
    steps_done: int
    steps_total: int
    check_verdict: str | None
    url: str


class SourceActionOut(BaseModel):
    id: int
    number: str
    title: str
    phase: str
    url: str
