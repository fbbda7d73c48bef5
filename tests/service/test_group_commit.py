"""store/group_commit.py on a real database: grouped on SQLite, alone on PostgreSQL; each
caller's outcome is the one its body would have had alone, and nothing is acknowledged before
it is committed.

The grouping is made certain without sleeping: the first body holds the single store thread
(on a threading.Event) until the others have queued behind it, so they form one group.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor

import pytest
from sqlalchemy import Connection, text

from rtcconsole_server.errors import NotFound
from rtcconsole_server.store import GroupCommit, Store, open_store


@pytest.fixture
def store(database_url: str) -> Iterator[Store]:
    store = open_store(database_url)
    with store.write_core() as connection:
        connection.exec_driver_sql("CREATE TABLE group_commit_t (k TEXT PRIMARY KEY)")
    yield store
    store.dispose()


@pytest.fixture
def executor(store: Store) -> Iterator[ThreadPoolExecutor]:
    pool = ThreadPoolExecutor(max_workers=1 if store.dialect == "sqlite" else 4)
    yield pool
    pool.shutdown(wait=True)


def _insert(key: str) -> Callable[[Connection], str]:
    def body(connection: Connection) -> str:
        connection.execute(text("INSERT INTO group_commit_t (k) VALUES (:k)"), {"k": key})
        return key

    return body


def _keys(store: Store) -> set[str]:
    with store.read_core() as connection:
        return {row[0] for row in connection.execute(text("SELECT k FROM group_commit_t"))}


async def _behind_a_held_body(
    writes: GroupCommit, bodies: list[Callable[[Connection], str]]
) -> list[str | BaseException]:
    """Run ``bodies`` while a first body holds the store thread, so they queue up together."""
    started, release = threading.Event(), threading.Event()

    def held(connection: Connection) -> str:
        started.set()
        release.wait(timeout=30)
        return _insert("first")(connection)

    first = asyncio.ensure_future(writes.write(held))
    assert await asyncio.to_thread(started.wait, 30)  # the store thread is in the first body
    rest = [asyncio.ensure_future(writes.write(body)) for body in bodies]
    await asyncio.sleep(0)  # each of them queued (a write() runs to its await at once)
    release.set()
    assert await first == "first"
    return list(await asyncio.gather(*rest, return_exceptions=True))


async def test_waiting_writes_commit_together_each_with_its_own_answer(
    store: Store, executor: ThreadPoolExecutor
) -> None:
    writes = GroupCommit(store, executor)
    keys = [f"k{n}" for n in range(20)]
    answers = await _behind_a_held_body(writes, [_insert(key) for key in keys])
    assert answers == keys
    assert _keys(store) == {"first", *keys}  # every acknowledged write is committed
    # SQLite: the first alone, the 20 waiting in one transaction; PostgreSQL: each alone
    assert writes.groups == (2 if store.dialect == "sqlite" else 0)


async def test_a_domain_error_undoes_only_its_own_body(store: Store, executor: ThreadPoolExecutor) -> None:
    writes = GroupCommit(store, executor)

    def refused(connection: Connection) -> str:
        _insert("refused")(connection)  # written, then undone with its savepoint
        raise NotFound("thing", "refused")

    answers = await _behind_a_held_body(writes, [_insert("a"), refused, _insert("b")])
    assert answers[0] == "a" and answers[2] == "b"
    assert isinstance(answers[1], NotFound)
    assert _keys(store) == {"first", "a", "b"}


async def test_a_broken_body_fails_alone_and_the_others_still_commit(
    store: Store, executor: ThreadPoolExecutor
) -> None:
    """A duplicate key (a driver error, not a domain error) breaks the group's transaction: each
    body runs again alone, so only the broken one fails."""
    writes = GroupCommit(store, executor)
    answers = await _behind_a_held_body(writes, [_insert("a"), _insert("first"), _insert("b")])
    assert answers[0] == "a" and answers[2] == "b"
    assert isinstance(answers[1], Exception) and "UNIQUE" in str(answers[1]).upper()
    assert _keys(store) == {"first", "a", "b"}


async def test_a_body_sees_the_writes_of_those_before_it_in_its_group(
    store: Store, executor: ThreadPoolExecutor
) -> None:
    """One after the other in arrival order, as alone (R1's count under grouped creates)."""
    writes = GroupCommit(store, executor)

    def count_then_insert(key: str) -> Callable[[Connection], str]:
        def body(connection: Connection) -> str:
            seen = connection.execute(text("SELECT count(*) FROM group_commit_t")).scalar_one()
            connection.execute(text("INSERT INTO group_commit_t (k) VALUES (:k)"), {"k": key})
            return f"{key}:{seen}"

        return body

    answers = await _behind_a_held_body(writes, [count_then_insert(f"k{n}") for n in range(5)])
    if store.dialect == "sqlite":
        assert answers == [f"k{n}:{n + 1}" for n in range(5)]
    assert _keys(store) == {"first", *(f"k{n}" for n in range(5))}


async def test_a_write_after_the_store_threads_stopped_fails_instead_of_waiting(store: Store) -> None:
    pool = ThreadPoolExecutor(max_workers=1)
    writes = GroupCommit(store, pool)
    pool.shutdown(wait=True)
    for key in ("late", "later"):  # the second too: nothing is left marked as scheduled
        with pytest.raises(RuntimeError):
            await asyncio.wait_for(writes.write(_insert(key)), timeout=10)
    assert _keys(store) == set()
