"""The coverage cases made when a test runs are those schemathesis would have made when collecting it."""

from __future__ import annotations

from typing import Any

import pytest
from schemathesis.generation.feedback import FeedbackSources
from schemathesis.generation.hypothesis import builder
from schemathesis.pytest._test_builder import build_operation_test
from schemathesis.python._constants.orchestrator import make_constants_value_source

from tests.fuzz import coverage_on_run
from tests.fuzz.test_openapi import invalid, valid


def _probe(case: Any) -> None:
    """The operation's test body: never called here."""


def _request(example: Any) -> tuple[Any, ...]:
    case = example.kwargs["case"]
    return (
        case.method,
        case.path,
        repr(case.path_parameters),
        repr(sorted(dict(case.headers or {}).items())),
        repr(case.cookies),
        repr(case.query),
        repr(case.body),
        case.media_type,
    )


def _build(schema: Any, operation: Any) -> Any:
    return build_operation_test(
        config=schema.config,
        operation=operation,
        test_func=_probe,
        given_kwargs={},
        feedback=FeedbackSources(constants_value_source=make_constants_value_source(schema)),
    )


# Operations with path parameters, a query and a JSON body, in both generation modes.
OPERATIONS = [
    ("GET", "/api/v1/claims/{number}"),
    ("GET", "/api/v1/claims"),
    ("POST", "/api/v1/events"),
]


@pytest.mark.parametrize("schema", [valid, invalid], ids=["valid", "invalid"])
@pytest.mark.parametrize(("method", "path"), OPERATIONS)
def test_cases_made_on_run_are_those_made_at_collection(
    schema: Any, method: str, path: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    operation = schema[path][method]

    # The schema remembers the paths it has probed with undeclared methods (one probe per path and method): each
    # build starts from none, and the fuzz tests' record is put back afterwards.
    monkeypatch.setattr(schema, "coverage_unexpected_methods_seen", set())
    monkeypatch.setattr(builder, "add_coverage", coverage_on_run._add_coverage_now)
    at_collection = list(_build(schema, operation).hypothesis_explicit_examples)
    monkeypatch.setattr(schema, "coverage_unexpected_methods_seen", set())
    monkeypatch.setattr(builder, "add_coverage", coverage_on_run.add_coverage_on_run)
    on_run = _build(schema, operation).hypothesis_explicit_examples

    assert isinstance(on_run, coverage_on_run.CasesWhenRead)
    assert on_run._make is not None, "the cases were made while the test was built"
    assert at_collection, "schemathesis made no coverage cases: nothing is compared"
    assert [_request(example) for example in on_run] == [_request(example) for example in at_collection]
    assert on_run._make is None
