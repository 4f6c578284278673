"""One error vocabulary for every domain, and the one error body every route answers with.

A service refuses a request by raising a :class:`Problem` (or a subclass named for the case); it never
builds an HTTP response. The app installs :func:`install_handlers`, which turns any ``Problem``,
``AccessDenied``, ``HTTPException`` and validation error into the same JSON body::

    {"detail": "…", "problems": [{"field": "…", "message": "…"}]}

HTML pages catch ``Problem`` in the web shell's page route and show an error page instead.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class FieldProblem:
    field: str
    message: str

    def as_dict(self) -> dict[str, Any]:
        return {"field": self.field, "message": self.message}


class Problem(Exception):
    """A refused request: ``status`` is the HTTP status that fits, ``field`` the input at fault.

    ``problems`` carries further field problems (e.g. every bad field of a form); ``headers`` extra
    response headers (e.g. ``Retry-After``).
    """

    status: int = 400

    def __init__(
        self,
        status: int | None,
        field: str,
        message: str,
        *,
        problems: Sequence[FieldProblem | dict[str, Any]] = (),
        headers: dict[str, str] | None = None,
    ) -> None:
        if status is not None:
            self.status = status
        self.field = field
        self.message = message
        self.problems: list[dict[str, Any]] = [
            p.as_dict() if isinstance(p, FieldProblem) else dict(p) for p in problems
        ] or [FieldProblem(field, message).as_dict()]
        self.headers = headers or {}
        super().__init__(f"{field}: {message}" if field else message)

    @property
    def detail(self) -> str:
        return self.message

    def body(self) -> dict[str, Any]:
        return error_body(self.detail, self.problems)


class NotFound(Problem):
    """404. Also for another tenant's record: its existence is not revealed."""

    status = 404

    def __init__(self, field: str, message: str, **kwargs: Any) -> None:
        super().__init__(404, field, message, **kwargs)


class Conflict(Problem):
    status = 409

    def __init__(self, field: str, message: str, **kwargs: Any) -> None:
        super().__init__(409, field, message, **kwargs)


class Invalid(Problem):
    """422: the input is well-formed but the rules refuse it."""

    status = 422

    def __init__(self, field: str, message: str, **kwargs: Any) -> None:
        super().__init__(422, field, message, **kwargs)


class Forbidden(Problem):
    status = 403

    def __init__(self, field: str, message: str, **kwargs: Any) -> None:
        super().__init__(403, field, message, **kwargs)


def error_body(detail: str, problems: Sequence[FieldProblem | dict[str, Any]] = ()) -> dict[str, Any]:
    """The one error body shape."""
    return {
        "detail": detail,
        "problems": [p.as_dict() if isinstance(p, FieldProblem) else p for p in problems],
    }
