from __future__ import annotations

import datetime as dt

from pydantic import BaseModel

from claimwatch.auth.models import LoginOutcome


class LoginRecordOut(BaseModel):
    at: dt.datetime
    username: str | None
    address: str
    outcome: LoginOutcome


class LoginRecordPage(BaseModel):
    total: int
    page: int
    page_size: int
    items: list[LoginRecordOut]
