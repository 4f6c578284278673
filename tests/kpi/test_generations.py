"""A published generation is opened once per process and lent as cursors (claimwatch.kpi.generations)."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path

import duckdb
import pytest

from claimwatch.kpi import columns, generations


def _generation(root: Path, name: str, tenants: list[tuple[int, str]]) -> Path:
    folder = root / name
    folder.mkdir(parents=True)
    con = duckdb.connect(":memory:")
    con.execute("CREATE TABLE t (id BIGINT, code VARCHAR, name VARCHAR)")
    con.executemany("INSERT INTO t VALUES (?, ?, ?)", [(id_, code, code.title()) for id_, code in tenants])
    con.execute(f"COPY t TO '{folder / 'tenants.parquet'}' (FORMAT parquet)")
    con.close()
    return folder


@pytest.fixture(autouse=True)
def _nothing_open() -> Iterator[None]:
    generations.forget()
    yield
    generations.forget()


def _codes(con: duckdb.DuckDBPyConnection) -> list[str]:
    return [row[0] for row in con.execute("SELECT code FROM tenants ORDER BY code").fetchall()]


def test_a_generation_is_opened_once_and_each_caller_gets_its_own_cursor(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    first = _generation(tmp_path, "gen-1", [(1, "ACME"), (2, "BBB")])
    opened: list[Path] = []

    def counting(directory: Path, *args: object, **kwargs: object) -> duckdb.DuckDBPyConnection:
        opened.append(directory)
        return columns.open_snapshot(directory)

    monkeypatch.setattr(generations, "open_snapshot", counting)
    one, two = generations.cursor(first), generations.cursor(first)
    assert one is not two
    assert _codes(one) == _codes(two) == ["ACME", "BBB"]
    one.close()
    assert _codes(two) == ["ACME", "BBB"]  # closing one caller's cursor leaves the others and the generation
    assert _codes(generations.cursor(first)) == ["ACME", "BBB"]
    assert opened == [first]


def test_a_newer_generation_is_read_and_a_cursor_on_the_old_one_still_answers(tmp_path: Path) -> None:
    old = _generation(tmp_path, "gen-1", [(1, "ACME")])
    in_flight = generations.cursor(old)

    new = _generation(tmp_path, "gen-2", [(1, "ACME"), (3, "CCC")])
    assert _codes(generations.cursor(new)) == ["ACME", "CCC"]
    assert _codes(in_flight) == ["ACME"]  # a request that began on the old generation finishes on it


def test_cursors_are_lent_to_threads_at_the_same_time(tmp_path: Path) -> None:
    generation = _generation(tmp_path, "gen-1", [(n, f"T{n:03d}") for n in range(200)])
    answers: list[int] = []
    failures: list[BaseException] = []

    def read() -> None:
        try:
            for _ in range(20):
                con = generations.cursor(generation)
                answers.append(con.execute("SELECT count(*) FROM tenants").fetchone()[0])  # type: ignore[index]
                con.close()
        except BaseException as exc:  # noqa: BLE001 - reported by the test
            failures.append(exc)

    threads = [threading.Thread(target=read) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not failures
    assert answers == [200] * 80


def test_the_roots_kept_open_are_bounded(tmp_path: Path) -> None:
    for n in range(generations.MAX_ROOTS + 3):
        generations.cursor(_generation(tmp_path / f"root-{n}", "gen-1", [(1, "ACME")])).close()
    assert len(generations._open) == generations.MAX_ROOTS
