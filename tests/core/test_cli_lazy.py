"""The domains' commands are imported when used (claimwatch.cli.LAZY_COMMANDS), and every one is still there."""

from __future__ import annotations

import subprocess
import sys

import typer
from typer.testing import CliRunner

from claimwatch.cli import LAZY_COMMANDS, app

# What a command of one domain imports, run in a fresh interpreter: the other domains' command modules stay out.
_PROBE = """
import sys
from claimwatch.cli import app
try:
    app(["import", "events", "--help"])
except SystemExit:
    pass
print(" ".join(sorted(name for name in sys.modules if name.startswith("claimwatch.") and name.endswith("cli"))))
"""


def test_a_command_imports_only_its_own_domains_commands() -> None:
    done = subprocess.run([sys.executable, "-c", _PROBE], capture_output=True, text=True, timeout=120, check=True)
    loaded = set(done.stdout.strip().splitlines()[-1].split())
    assert "claimwatch.imports.cli" in loaded
    others = {module for module, _, _ in LAZY_COMMANDS.values()} - {"claimwatch.imports.cli"}
    assert not loaded & others, sorted(loaded & others)


def test_every_lazy_command_loads_under_its_name_and_is_listed() -> None:
    root = typer.main.get_command(app)
    context = root.context_class(root)
    for name, (_, _, kind) in LAZY_COMMANDS.items():
        command = root.get_command(context, name)
        assert command is not None and command.name == name, name
        assert hasattr(command, "commands") == (kind == "group"), name
    listed = CliRunner().invoke(app, ["--help"], terminal_width=200)
    assert listed.exit_code == 0, listed.output
    for name in LAZY_COMMANDS:
        assert f" {name} " in listed.output, name


def test_a_lazy_groups_commands_run_as_before() -> None:
    result = CliRunner().invoke(app, ["calendar", "--help"])
    assert result.exit_code == 0, result.output
    refused = CliRunner().invoke(app, ["no-such-command"])
    assert refused.exit_code == 2 and "No such command" in refused.output
