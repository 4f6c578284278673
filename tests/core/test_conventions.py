"""The conventions of DESIGN §8 that an import contract cannot see, checked on the source itself.

`lint-imports` (run by `make test`) keeps the layers; these keep the rest: services and read models take
the session they are given, permissions live in the one role matrix, one error base, one module scheme.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

import claimwatch

PACKAGE = Path(claimwatch.__file__).resolve().parent
DOMAINS = sorted(p.parent for p in PACKAGE.glob("*/__init__.py") if p.parent.name not in ("migrations", "locale"))
# The modules that own a transaction (DESIGN §8: the request, CLI or job wrapper): routes and pages, commands and
# jobs (``api.py``, ``disclosure_cli.py``, ``scorecard_jobs.py``), the request dependencies, the watchers. Every other
# module of a domain (services, read models, repositories, rules, letters, notices) takes the session it is given.
OWNER_STEMS = ("api", "pages", "cli", "jobs", "deps", "watch")
# Entry points named otherwise: a CLI command module, and the operations tools (backup, health, metrics, partitions).
OWNER_MODULES = {"complaints/import_command.py"}
OWNER_DOMAINS = {"ops", "demo"}
# Module names that the scheme replaced (DESIGN §8: no synonyms).
SYNONYMS = ("views.py", "screens.py", "dashboard.py")


def _modules(names: tuple[str, ...]) -> list[Path]:
    return [domain / name for domain in DOMAINS for name in names if (domain / name).exists()]


def _tree(path: Path) -> ast.Module:
    return ast.parse(path.read_text(encoding="utf-8"), filename=str(path))


def _label(path: Path) -> str:
    return str(path.relative_to(PACKAGE))


def _owns_transactions(path: Path) -> bool:
    stem = path.stem
    return (
        stem in OWNER_STEMS
        or stem.endswith(tuple(f"_{owner}" for owner in OWNER_STEMS))
        or _label(path) in OWNER_MODULES
        or path.relative_to(PACKAGE).parts[0] in OWNER_DOMAINS
    )


def _domain_modules() -> list[Path]:
    return sorted(p for domain in DOMAINS for p in domain.rglob("*.py") if not _owns_transactions(p))


def test_the_owner_rule_leaves_the_rule_modules_checked():
    checked = {_label(p) for p in _domain_modules()}
    assert {"cases/service.py", "kpi/queries.py", "notify/staff_notices.py", "complaints/letters.py"} <= checked
    assert not {"cases/api.py", "sla/jobs.py", "reports/disclosure_cli.py", "auth/deps.py"} & checked


@pytest.mark.parametrize("path", _domain_modules(), ids=_label)
def test_services_and_queries_never_open_a_unit_of_work(path: Path):
    uses = [
        node.lineno
        for node in ast.walk(_tree(path))
        if isinstance(node, ast.Name | ast.Attribute)
        and (node.id if isinstance(node, ast.Name) else node.attr) in ("unit_of_work", "new_session")
    ]
    assert not uses, f"{_label(path)} lines {uses}: take the caller's session; the route, CLI or job owns it"


def _role_sets(tree: ast.Module) -> list[int]:
    """Lines that build a set of roles or compare a role inline (``Role.X`` inside a set/tuple/list literal,
    or ``… is Role.REGULATOR``)."""
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Set | ast.Tuple | ast.List) and any(
            isinstance(element, ast.Attribute) and isinstance(element.value, ast.Name) and element.value.id == "Role"
            for element in node.elts
        ):
            found.append(node.lineno)
        if isinstance(node, ast.Compare) and any(
            isinstance(c, ast.Attribute) and c.attr == "REGULATOR" for c in [node.left, *node.comparators]
        ):
            found.append(node.lineno)
    return found


# Role lists that are data, not permissions: who the demo creates, who a staff notice goes to, and the
# account rules of auth itself (a regulator belongs to no tenant).
_ROLE_DATA = {"auth/principal.py", "auth/service.py", "auth/models.py", "complaints/service.py"}


@pytest.mark.parametrize(
    "path",
    [p for p in PACKAGE.rglob("*.py") if "demo" not in p.parts and _label(p) not in _ROLE_DATA],
    ids=_label,
)
def test_permissions_live_in_the_one_role_matrix(path: Path):
    lines = _role_sets(_tree(path))
    assert not lines, (
        f"{_label(path)} lines {lines}: add a Permission to auth/principal.py's matrix, or use principal.is_regulator"
    )


def test_the_role_matrix_is_where_permissions_are():
    assert _role_sets(_tree(PACKAGE / "auth" / "principal.py")), "the matrix itself lists roles"


def test_one_error_base():
    """Every refusal a route can answer is a ``claimwatch.errors.Problem``: no other exception class
    carries an HTTP status of its own."""
    offenders = []
    for path in PACKAGE.rglob("*.py"):
        for node in ast.walk(_tree(path)):
            if not isinstance(node, ast.ClassDef) or _label(path) == "errors.py":
                continue
            for item in node.body:
                if isinstance(item, ast.FunctionDef) and item.name == "__init__":
                    names = [a.arg for a in item.args.args]
                    if "status" in names and "field" in names and "message" in names:
                        offenders.append(f"{_label(path)}:{node.lineno} {node.name}")
    assert not offenders, f"(status, field, message) classes outside errors.py: {offenders}"


def test_one_module_scheme():
    found = [_label(p) for p in _modules(SYNONYMS)]
    assert not found, f"renamed by the scheme (queries.py / pages.py): {found}"
    assert not (PACKAGE / "web" / "service.py").exists(), "web/ is the shell: screens live in their domains"
