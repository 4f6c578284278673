from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

UnmaskField = Literal["phone", "id_number"]
# Printable text only: no NUL or other control characters (PostgreSQL refuses NUL in text).
PRINTABLE = r"^[^\x00-\x08\x0b\x0c\x0e-\x1f\x7f]*$"


class UnmaskIn(BaseModel):
    """What to show in clear, and why (kept in the access log)."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    field: UnmaskField
    reason: str = Field(
        min_length=5, max_length=500, pattern=PRINTABLE, description="why the clear value is needed (≥ 5 characters)"
    )


class UnmaskOut(BaseModel):
    field: UnmaskField
    value: str
