"""Who handled a record: the users a subject kind names in ``handled_by`` (an inspector is never given a record
they handled). Each kind knows where its handlers are written (the record's current handler, its ``assigned``
events, its events' actors); this gathers them by record and resolves usernames to the tenant's user ids."""

from __future__ import annotations

from collections.abc import Iterable, Iterator

from sqlalchemy.orm import Session

from claimwatch.auth import repository as auth_repository

CHUNK = 500  # ids per IN (…) list: well under every database's parameter limit


def chunks(ids: Iterable[int]) -> Iterator[list[int]]:
    wanted = sorted(set(ids))
    for start in range(0, len(wanted), CHUNK):
        yield wanted[start : start + CHUNK]


class HandlerTrail:
    """Per record: the user ids and usernames found so far; :meth:`resolve` turns them into user ids."""

    def __init__(self, ids: Iterable[int]) -> None:
        self.user_ids: dict[int, set[int]] = {record_id: set() for record_id in ids}
        self.names: dict[int, set[str]] = {record_id: set() for record_id in self.user_ids}

    def add_user(self, record_id: int, user_id: int | None) -> None:
        if user_id is not None:
            self.user_ids[record_id].add(user_id)

    def add_name(self, record_id: int, name: str | None) -> None:
        """An actor (``user:zhang.wei`` or a bare username); an API key or system actor matches no user."""
        if name:
            self.names[record_id].add(str(name).removeprefix("user:"))

    def resolve(self, session: Session, tenant_id: int) -> dict[int, set[int]]:
        every = {name for found in self.names.values() for name in found}
        ids_by_name = auth_repository.user_ids_by_username(session, tenant_id, every)
        for record_id, found in self.names.items():
            self.user_ids[record_id].update(ids_by_name[name] for name in found if name in ids_by_name)
        return self.user_ids
