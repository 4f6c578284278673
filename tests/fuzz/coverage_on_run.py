"""Schemathesis's coverage cases for an operation, made when the operation's test runs instead of when it is
collected.

schemathesis 4 builds each operation's coverage cases (boundary and just-invalid values of every parameter and
body field) while pytest collects the module, and attaches them to the test as Hypothesis explicit examples.
Under xdist every worker collects every test, so each worker built the cases of all ~1 280 operation tests, half
of which the other worker runs: about half of a worker's CPU before its first test (cProfile of the collection,
2026-12-07). Here ``add_coverage`` attaches a list that makes the same cases, with schemathesis's own generator
and the same arguments, in the same order, the first time Hypothesis reads it: in the test, once. What each test
tries does not change (tests/fuzz/test_coverage_on_run.py compares the two). One thing moves: schemathesis probes
each path with the HTTP methods it does not declare once per schema, with the first of the path's operations built;
built on run, that is the first of them a worker runs, so a path whose operations the two workers share is probed
by both (before, once in the run).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any, SupportsIndex

from schemathesis.generation.hypothesis import builder

_add_coverage_now = builder.add_coverage


class CasesWhenRead(list[Any]):
    """A test's explicit examples: those attached before, then the coverage cases, made on first read."""

    def __init__(self, make: Callable[[], list[Any]]) -> None:
        super().__init__()
        self._make: Callable[[], list[Any]] | None = make

    def _made(self) -> None:
        if self._make is not None:
            make, self._make = self._make, None
            super().extend(make())

    def __iter__(self) -> Iterator[Any]:
        self._made()
        return super().__iter__()

    def __reversed__(self) -> Iterator[Any]:
        self._made()
        return super().__reversed__()

    def __len__(self) -> int:
        self._made()
        return super().__len__()

    def __bool__(self) -> bool:
        return len(self) > 0

    def __getitem__(self, index: Any) -> Any:
        self._made()
        return super().__getitem__(index)

    def append(self, item: Any) -> None:
        self._made()
        super().append(item)

    def extend(self, items: Any) -> None:
        self._made()
        super().extend(items)

    def insert(self, index: SupportsIndex, item: Any) -> None:
        self._made()
        super().insert(index, item)


def add_coverage_on_run(test: Callable, *args: Any, **kwargs: Any) -> Callable:
    """``builder.add_coverage`` with the cases made when Hypothesis first reads the test's explicit examples."""
    before = list(getattr(test, "hypothesis_explicit_examples", ()))

    def make() -> list[Any]:
        def holder() -> None:
            """Collects the cases ``add_coverage`` attaches (and its marks)."""

        made = _add_coverage_now(holder, *args, **kwargs)
        unserializable = builder.UnserializablePayloadMark.get(made)
        if unserializable is not None:  # read after the test ran (schemathesis's pytest_pyfunc_call): a warning
            builder.UnserializablePayloadMark.set(test, unserializable)
        return before + list(getattr(made, "hypothesis_explicit_examples", ()))

    test.hypothesis_explicit_examples = CasesWhenRead(make)  # type: ignore[attr-defined]
    return test


def install() -> None:
    """Make coverage cases on run for every schemathesis test built from now on in this process."""
    builder.add_coverage = add_coverage_on_run
