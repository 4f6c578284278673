"""What a test worker pays before its first test, and what a process pays to import the web app, against a baseline
commit, in one run.

    .venv/bin/python bench/suite_startup.py --baseline REF [--repeat 3] [--pytest-args "..."]

Each xdist worker of `make test` collects the whole suite before it runs a test (both workers collect every test;
each runs about half). Measured here as one process, ``pytest --collect-only -q -p no:xdist``, and
``python -c "import claimwatch.app"`` (the start-up of the web app, the worker and every ``claimwatch`` command), in
three set-ups, interleaved ``--repeat`` times:

* ``baseline, no bytecode``: REF checked out into a temporary worktree; nothing compiled is read or kept
  (PYTHONDONTWRITEBYTECODE=1 and an empty PYTHONPYCACHEPREFIX): how `make test` ran where the environment sets
  PYTHONDONTWRITEBYTECODE and the venv was installed by uv without --compile-bytecode.
* ``this tree, no bytecode``: the same, with the working tree's code: what the code changes alone give.
* ``this tree, bytecode kept``: as `scripts/test.sh` now runs (it unsets PYTHONDONTWRITEBYTECODE): compiled modules
  and rewritten test modules kept in a PYTHONPYCACHEPREFIX folder of this run, filled by one unmeasured warm-up.

Printed: the median CPU (user + system of the child) and wall time of each, and the ratio of CPU to the baseline's.
The machine's load (``os.getloadavg``) is printed before and after: wall times depend on it, CPU much less.
"""

from __future__ import annotations

import argparse
import os
import resource
import shlex
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PYTHON = ROOT / ".venv" / "bin" / "python"


def _run(command: list[str], cwd: Path, env: dict[str, str]) -> tuple[float, float]:
    """CPU (user + system) and wall seconds of one child process."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    done = subprocess.run(command, cwd=cwd, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, check=False)
    wall = time.perf_counter() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if done.returncode != 0:
        sys.exit(f"{shlex.join(command)} in {cwd} failed:\n{done.stdout.decode()[-3000:]}")
    return after.ru_utime - before.ru_utime + after.ru_stime - before.ru_stime, wall


def _environment(tree: Path, cache: Path, keep_bytecode: bool) -> dict[str, str]:
    env = dict(os.environ)
    env.pop("PYTEST_XDIST_WORKER", None)
    env["PYTHONPATH"] = str(tree / "src")  # ahead of the venv's editable install of this tree
    env["PYTHONPYCACHEPREFIX"] = str(cache)
    if keep_bytecode:
        env.pop("PYTHONDONTWRITEBYTECODE", None)
    else:
        env["PYTHONDONTWRITEBYTECODE"] = "1"
    return env


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--baseline", required=True, help="the commit to compare with (e.g. the branch's base)")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--pytest-args", default="", help="extra arguments for the collection, e.g. a test folder")
    args = parser.parse_args()

    collect = [str(PYTHON), "-m", "pytest", "--collect-only", "-q", "-p", "no:xdist", "-p", "no:cacheprovider"]
    collect += shlex.split(args.pytest_args)
    app = [str(PYTHON), "-c", "import claimwatch.app"]
    print(f"load average before: {os.getloadavg()}")
    with tempfile.TemporaryDirectory(prefix="cw-bench-startup-") as scratch:
        base = Path(scratch) / "baseline"
        subprocess.run(
            ["git", "worktree", "add", "--detach", str(base), args.baseline],
            cwd=ROOT,
            check=True,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        try:
            empty = Path(scratch) / "no-bytecode"  # never written: PYTHONDONTWRITEBYTECODE=1
            kept = Path(scratch) / "bytecode"
            setups = {
                "baseline, no bytecode": (base, _environment(base, empty, keep_bytecode=False)),
                "this tree, no bytecode": (ROOT, _environment(ROOT, empty, keep_bytecode=False)),
                "this tree, bytecode kept": (ROOT, _environment(ROOT, kept, keep_bytecode=True)),
            }
            _run(collect, ROOT, setups["this tree, bytecode kept"][1])  # warm-up: fills the bytecode folder
            figures: dict[tuple[str, str], list[tuple[float, float]]] = {}
            for round_ in range(args.repeat):
                for name, (tree, env) in setups.items():
                    for what, command in (("collection", collect), ("app import", app)):
                        figures.setdefault((name, what), []).append(_run(command, tree, env))
                print(f"round {round_ + 1}/{args.repeat} done, load {os.getloadavg()}", flush=True)
        finally:
            subprocess.run(["git", "worktree", "remove", "--force", str(base)], cwd=ROOT, check=False)
    print(f"load average after: {os.getloadavg()}")
    print(f"{'set-up':28} {'measured':12} {'CPU s (median)':>15} {'wall s (median)':>16} {'CPU vs baseline':>16}")
    for what in ("collection", "app import"):
        reference = statistics.median(cpu for cpu, _ in figures[("baseline, no bytecode", what)])
        for name in setups:
            runs = figures[(name, what)]
            cpu = statistics.median(c for c, _ in runs)
            wall = statistics.median(w for _, w in runs)
            print(f"{name:28} {what:12} {cpu:15.1f} {wall:16.1f} {cpu / reference:15.2f}x")


if __name__ == "__main__":
    main()
