"""store/retry.py: which errors are lost races, how often and how patiently a transaction runs again.

The PostgreSQL errors are the driver's own classes wrapped the way SQLAlchemy
wraps them; the SQLite ones are produced by a real database file. The real
races are in tests/service/test_ingest_*.py and tests/e2e/test_aggregator*.py.
"""

from __future__ import annotations

import logging
import random
from collections.abc import Callable
from pathlib import Path

import psycopg.errors
import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.exc import DBAPIError, IntegrityError, OperationalError

from rtcconsole_server.errors import Aborted
from rtcconsole_server.store.retry import TRANSIENT, Race, RetryPolicy, lost_race, run_with_retries

LOG = "tests.retry"


def _pg(error: Exception, wrapper: type[DBAPIError] = OperationalError) -> DBAPIError:
    return wrapper("UPDATE t SET x = 1", None, error)


SERIALIZATION = _pg(psycopg.errors.SerializationFailure("could not serialize access"))
DEADLOCK = _pg(psycopg.errors.DeadlockDetected("deadlock detected"))
UNIQUE = _pg(psycopg.errors.UniqueViolation("duplicate key value"), IntegrityError)
FOREIGN_KEY = _pg(psycopg.errors.ForeignKeyViolation("violates foreign key constraint"), IntegrityError)
LOCK_TIMEOUT = _pg(psycopg.errors.LockNotAvailable("canceling statement due to lock timeout"))


class Flaky:
    """A transaction that raises ``errors`` one per run, then returns ``"done"``."""

    def __init__(self, *errors: BaseException) -> None:
        self.errors = list(errors)
        self.runs = 0

    def __call__(self) -> str:
        self.runs += 1
        if self.errors:
            raise self.errors.pop(0)
        return "done"


class Sleeps:
    def __init__(self) -> None:
        self.waits: list[float] = []

    def __call__(self, seconds: float) -> None:
        self.waits.append(seconds)


def _run(fn: Callable[[], str], policy: RetryPolicy, sleeps: Sleeps, *, seed: int = 7) -> str:
    return run_with_retries(
        fn,
        what="test batch",
        policy=policy,
        log=logging.getLogger(LOG),
        sleep=sleeps,
        rng=random.Random(seed),
    )


def test_a_function_failing_n_times_succeeds_on_run_n_plus_1(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger=LOG)
    flaky, sleeps = Flaky(SERIALIZATION, DEADLOCK, SERIALIZATION), Sleeps()
    assert _run(flaky, RetryPolicy(attempts=5), sleeps) == "done"
    assert flaky.runs == 4 and len(sleeps.waits) == 3
    messages = [r.getMessage() for r in caplog.records if r.name == LOG]
    assert [m.partition(";")[0] for m in messages] == [
        "test batch lost a race (serialization failure, run 1 of 5)",
        "test batch lost a race (deadlock detected, run 2 of 5)",
        "test batch lost a race (serialization failure, run 3 of 5)",
    ]
    assert all(r.levelno == logging.INFO for r in caplog.records if r.name == LOG)


def test_after_the_last_run_the_last_error_is_raised_unchanged(caplog: pytest.LogCaptureFixture) -> None:
    last = _pg(psycopg.errors.DeadlockDetected("the third one"))
    flaky, sleeps = Flaky(DEADLOCK, SERIALIZATION, last, DEADLOCK), Sleeps()
    with pytest.raises(OperationalError) as raised:
        _run(flaky, RetryPolicy(attempts=3), sleeps)
    assert raised.value is last
    assert flaky.runs == 3 and len(sleeps.waits) == 2
    [gave_up] = [r for r in caplog.records if r.name == LOG and r.levelno == logging.WARNING]
    assert "3 time(s); giving up" in gave_up.getMessage()


def test_one_attempt_means_no_retry() -> None:
    flaky, sleeps = Flaky(DEADLOCK), Sleeps()
    with pytest.raises(OperationalError):
        _run(flaky, RetryPolicy(attempts=1), sleeps)
    assert flaky.runs == 1 and sleeps.waits == []


@pytest.mark.parametrize(
    "error",
    [
        FOREIGN_KEY,
        LOCK_TIMEOUT,
        Aborted("a domain error"),
        ValueError("a bug"),
        psycopg.errors.DeadlockDetected(),
    ],
    ids=["foreign-key", "lock-timeout", "domain-error", "bug", "unwrapped-driver-error"],
)
def test_anything_else_propagates_at_once(error: BaseException) -> None:
    flaky, sleeps = Flaky(error), Sleeps()
    with pytest.raises(type(error)) as raised:
        _run(flaky, RetryPolicy(attempts=5, retry_on=frozenset(Race)), sleeps)
    assert raised.value is error
    assert flaky.runs == 1 and sleeps.waits == []


def test_a_unique_violation_is_a_lost_race_only_where_the_caller_says_so() -> None:
    flaky, sleeps = Flaky(UNIQUE), Sleeps()
    with pytest.raises(IntegrityError):
        _run(flaky, RetryPolicy(attempts=5), sleeps)  # the default: TRANSIENT
    assert flaky.runs == 1
    flaky = Flaky(UNIQUE, UNIQUE)
    assert _run(flaky, RetryPolicy(attempts=3, retry_on=frozenset({Race.UNIQUE_VIOLATION})), sleeps) == "done"
    assert flaky.runs == 3


def test_only_the_races_of_the_policy_are_run_again() -> None:
    """As the usage ingest: unique violations only, so a deadlock is raised at once."""
    flaky, sleeps = Flaky(DEADLOCK), Sleeps()
    with pytest.raises(OperationalError):
        _run(flaky, RetryPolicy(attempts=3, retry_on=frozenset({Race.UNIQUE_VIOLATION})), sleeps)
    assert flaky.runs == 1 and sleeps.waits == []


def test_the_waits_are_jittered_below_a_doubling_capped_bound() -> None:
    policy = RetryPolicy(attempts=12, base_delay=0.01, max_delay=0.05)
    sleeps = Sleeps()
    assert _run(Flaky(*[DEADLOCK] * 11), policy, sleeps, seed=1) == "done"
    bounds = [min(0.05, 0.01 * 2**i) for i in range(11)]
    assert all(0 <= wait <= bound for wait, bound in zip(sleeps.waits, bounds, strict=True))
    assert len(set(sleeps.waits)) == len(sleeps.waits)  # jittered, not a fixed schedule
    assert RetryPolicy().base_delay == 0.005 and RetryPolicy().max_delay == 0.1
    assert RetryPolicy().attempts == 5 and RetryPolicy().retry_on == TRANSIENT
    assert Race.UNIQUE_VIOLATION not in TRANSIENT


@pytest.mark.parametrize(
    "kwargs", [{"attempts": 0}, {"base_delay": -1.0}, {"base_delay": 0.2, "max_delay": 0.1}]
)
def test_a_policy_out_of_range_is_refused(kwargs: dict[str, float]) -> None:
    with pytest.raises(ValueError):
        RetryPolicy(**kwargs)  # type: ignore[arg-type]


def test_postgresql_codes() -> None:
    assert lost_race(SERIALIZATION) is Race.SERIALIZATION_FAILURE
    assert lost_race(DEADLOCK) is Race.DEADLOCK
    assert lost_race(UNIQUE) is Race.UNIQUE_VIOLATION
    assert lost_race(FOREIGN_KEY) is None and lost_race(LOCK_TIMEOUT) is None
    assert lost_race(psycopg.errors.DeadlockDetected()) is None  # not wrapped by SQLAlchemy


def test_sqlite_database_is_locked_and_unique_violations(tmp_path: Path) -> None:
    """Real SQLite errors: a writer that finds the write lock taken (no busy timeout), a duplicate key."""
    url = f"sqlite:///{tmp_path / 'retry.db'}"
    holder = create_engine(url, connect_args={"isolation_level": None})
    waiter = create_engine(url, connect_args={"isolation_level": None, "timeout": 0})
    try:
        with holder.connect() as first:
            first.exec_driver_sql("CREATE TABLE t (id INTEGER PRIMARY KEY, name TEXT UNIQUE)")
            first.exec_driver_sql("INSERT INTO t VALUES (1, 'a')")
            first.exec_driver_sql("BEGIN IMMEDIATE")
            with waiter.connect() as second, pytest.raises(OperationalError) as locked:
                second.exec_driver_sql("BEGIN IMMEDIATE")
            first.exec_driver_sql("ROLLBACK")
            duplicates = []
            for statement in ("INSERT INTO t VALUES (1, 'b')", "INSERT INTO t VALUES (2, 'a')"):
                with pytest.raises(IntegrityError) as duplicate:
                    first.execute(text(statement))
                duplicates.append(duplicate.value)
    finally:
        holder.dispose()
        waiter.dispose()
    assert "database is locked" in str(locked.value)
    assert lost_race(locked.value) is Race.DATABASE_LOCKED
    assert [lost_race(d) for d in duplicates] == [Race.UNIQUE_VIOLATION] * 2  # primary key, unique index
