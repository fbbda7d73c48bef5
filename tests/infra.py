"""Real PostgreSQL and Redis for the test suite (pytest plugin).

Register with ``pytest_plugins = ["tests.infra"]`` in ``tests/conftest.py``.
``scripts/services.sh`` starts both services and writes their URLs to
``.services.env`` at the repository root.

Where the servers are, per service, first match wins:

1. the environment: ``RTC_TEST_POSTGRES_URL`` / ``RTC_TEST_REDIS_URL``;
2. the same keys in ``.services.env`` at the repository root;
3. the defaults :data:`DEFAULT_POSTGRES_URL` / :data:`DEFAULT_REDIS_URL`.

A service that does not answer makes the tests that need it *skip*, or
*fail* when ``RTC_REQUIRE_SERVICES=1`` (set in CI, so a broken service
cannot turn the suite green by skipping it).

Fixtures:

``postgres_server_url`` (session) -> str
    Admin URL of a reachable server (its ``postgres`` database).
``postgres_database`` (function) -> :class:`PostgresDatabases`
    Factory: ``make(template=None) -> str`` creates a fresh database and
    returns its URL; all are dropped at teardown.
``postgres_url`` (function) -> str
    URL of one fresh, empty database, dropped at teardown.
``redis_server_url`` (session) -> str
    URL of a reachable Redis.
``redis_key_prefix`` (function) -> str
    A key prefix unique to the test; keys under it are deleted at teardown.
``redis_cluster_url`` (session) -> str
    URL (``redis+cluster://host:port``) of a Redis Cluster whose state is ok
    (``RTC_TEST_REDIS_CLUSTER_URL``; ``scripts/services.sh`` starts three nodes).
``redis_cluster_key_prefix`` (function) -> str
    Like ``redis_key_prefix``, on the cluster (deleted on every primary).

All PostgreSQL URLs are SQLAlchemy URLs with the ``postgresql+psycopg``
driver, usable with both ``create_engine`` and ``create_async_engine``.
"""

from __future__ import annotations

import itertools
import os
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from types import TracebackType
from typing import Any, NoReturn, Self

import psycopg
import pytest
import redis
from psycopg import sql
from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import ArgumentError

__all__ = [
    "DEFAULT_POSTGRES_URL",
    "DEFAULT_REDIS_URL",
    "POSTGRES_URL_ENV",
    "REDIS_CLUSTER_URL_ENV",
    "REDIS_URL_ENV",
    "REQUIRE_SERVICES_ENV",
    "RUN_ID",
    "SERVICES_ENV_FILE",
    "PostgresDatabases",
    "check_postgres",
    "check_redis",
    "check_redis_cluster",
    "configured_url",
    "delete_keys",
    "postgres_database",
    "postgres_server_url",
    "postgres_url",
    "redis_cluster_key_prefix",
    "redis_cluster_url",
    "redis_key_prefix",
    "redis_server_url",
    "require_services",
    "unavailable",
]

REQUIRE_SERVICES_ENV = "RTC_REQUIRE_SERVICES"
POSTGRES_URL_ENV = "RTC_TEST_POSTGRES_URL"
REDIS_URL_ENV = "RTC_TEST_REDIS_URL"
REDIS_CLUSTER_URL_ENV = "RTC_TEST_REDIS_CLUSTER_URL"
DEFAULT_POSTGRES_URL = "postgresql+psycopg://rtc_test:rtc_test@127.0.0.1:5432/postgres"
DEFAULT_REDIS_URL = "redis://127.0.0.1:6379/0"
DEFAULT_REDIS_CLUSTER_URL = "redis+cluster://127.0.0.1:7000"
SERVICES_ENV_FILE = Path(__file__).resolve().parent.parent / ".services.env"
CONNECT_TIMEOUT_SECONDS = 3
DATABASE_NAME_PREFIX = "rtc_t_"
_DROP_ATTEMPTS = 100
"""Retries of a DROP DATABASE that an autovacuum worker blocks (0.1 s apart)."""

RUN_ID: str = uuid.uuid4().hex
"""Unique per pytest process (so per xdist worker too); names every database and key prefix."""

_database_counter = itertools.count(1)
_key_prefix_counter = itertools.count(1)


# ------------------------------------------------------------------ policy


def require_services() -> bool:
    """True when ``RTC_REQUIRE_SERVICES=1``: missing services fail tests instead of skipping them."""
    return os.environ.get(REQUIRE_SERVICES_ENV, "").strip() == "1"


def unavailable(what: str, why: str) -> NoReturn:
    """Skip the current test because *what* is unavailable, or fail it if services are required."""
    message = f"{what} unavailable: {why}"
    if require_services():
        pytest.fail(f"{message} [{REQUIRE_SERVICES_ENV}=1, so this is an error]", pytrace=False)
    pytest.skip(message)


def _read_env_file(path: Path) -> dict[str, str]:
    """Parse ``KEY=VALUE`` lines (``#`` comments, blank lines and optional quotes allowed)."""
    values: dict[str, str] = {}
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return values
    for raw in text.splitlines():
        line = raw.strip()
        if not line or line.startswith("#") or "=" not in line:
            continue
        key, _, value = line.removeprefix("export ").partition("=")
        value = value.strip()
        if len(value) >= 2 and value[0] == value[-1] and value[0] in "\"'":
            value = value[1:-1]
        values[key.strip()] = value
    return values


def configured_url(env_var: str, default: str, env_file: Path = SERVICES_ENV_FILE) -> str:
    """The URL from the environment, else from *env_file*, else *default*."""
    from_env = os.environ.get(env_var, "").strip()
    if from_env:
        return from_env
    return _read_env_file(env_file).get(env_var) or default


# -------------------------------------------------------------- PostgreSQL


def _normalize_postgres_url(url: str) -> URL:
    """Parse *url* and force the ``postgresql+psycopg`` driver."""
    parsed = make_url(url)
    if parsed.get_backend_name() != "postgresql":
        raise ValueError(f"not a PostgreSQL URL: {parsed.render_as_string(hide_password=True)}")
    return parsed.set(drivername="postgresql+psycopg")


def _connect_kwargs(url: URL) -> dict[str, Any]:
    """psycopg keyword arguments for *url* (user, password, host, port, dbname and query options)."""
    kwargs: dict[str, Any] = url.translate_connect_args(username="user", database="dbname")
    kwargs.update(url.query)
    kwargs.setdefault("connect_timeout", CONNECT_TIMEOUT_SECONDS)
    return kwargs


def _admin_connect(url: URL) -> psycopg.Connection[Any]:
    """An autocommit connection to *url*, for CREATE/DROP DATABASE."""
    return psycopg.connect(**_connect_kwargs(url), autocommit=True)


def check_postgres(url: str) -> str:
    """Return *url* normalized to ``postgresql+psycopg`` if a server answers there; else skip/fail."""
    hint = f"run `bash scripts/services.sh` or set {POSTGRES_URL_ENV}"
    try:
        parsed = _normalize_postgres_url(url)
    except (ArgumentError, ValueError) as exc:
        problem = f"bad URL {url!r}: {exc}"
    else:
        try:
            with _admin_connect(parsed) as conn:
                conn.execute("SELECT 1")
        except psycopg.Error as exc:
            where = parsed.render_as_string(hide_password=True)
            problem = f"cannot connect to {where}: {' '.join(str(exc).split())}"
        else:
            return parsed.render_as_string(hide_password=False)
    # Called outside the except blocks so the report carries no exception chain.
    unavailable("PostgreSQL", f"{problem} ({hint})")


class PostgresDatabases:
    """Creates fresh PostgreSQL databases and drops them all on :meth:`close`.

    Calling the instance, ``make(template=None)``, runs ``CREATE DATABASE`` for a
    new name ``rtc_t_<first 8 hex of RUN_ID>_<n>`` and returns its SQLAlchemy URL
    (``postgresql+psycopg://…/<name>``). With *template* (a database name, or a
    URL whose database is used) the new database is a copy of that one: migrate a
    template once, then clone it per test. PostgreSQL refuses to copy a database
    that has open connections, so dispose engines on the template first.

    :meth:`close` drops every database this instance created with
    ``DROP DATABASE … WITH (FORCE)``, which also ends connections still open to
    them (an undisposed engine does not leak a database). Usable as a context
    manager, e.g. in a session-scoped fixture that builds a template.
    """

    def __init__(self, server_url: str) -> None:
        self._server = _normalize_postgres_url(server_url)
        self._conn: psycopg.Connection[Any] | None = None
        self._names: list[str] = []

    @property
    def names(self) -> tuple[str, ...]:
        """Names of the databases created so far (and not yet dropped), oldest first."""
        return tuple(self._names)

    def _admin(self) -> psycopg.Connection[Any]:
        if self._conn is None or self._conn.closed:
            self._conn = _admin_connect(self._server)
        return self._conn

    def url_for(self, name: str) -> str:
        """SQLAlchemy URL of database *name* on this server (password included)."""
        return self._server.set(database=name).render_as_string(hide_password=False)

    def __call__(self, template: str | None = None) -> str:
        """Create a fresh database (optionally copied from *template*) and return its URL."""
        name = f"{DATABASE_NAME_PREFIX}{RUN_ID[:8]}_{next(_database_counter)}"
        statement = sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name))
        if template is not None:
            template_name = make_url(template).database if "://" in template else template
            if not template_name:
                raise ValueError(f"template URL names no database: {template!r}")
            statement = sql.SQL("{} TEMPLATE {}").format(statement, sql.Identifier(template_name))
        self._admin().execute(statement)
        self._names.append(name)
        return self.url_for(name)

    def close(self) -> None:
        """Drop every database created here (forcing off other sessions), then disconnect.

        Tries every drop even if one fails; re-raises the first failure.
        """
        first_error: BaseException | None = None
        try:
            while self._names:
                name = self._names.pop()
                try:
                    self._drop(name)
                except psycopg.Error as exc:
                    first_error = first_error or exc
        finally:
            if self._conn is not None:
                self._conn.close()
                self._conn = None
        if first_error is not None:
            raise first_error

    def _drop(self, name: str) -> None:
        """DROP … WITH (FORCE); retried while an autovacuum worker holds the database (a test role
        may not terminate it: InsufficientPrivilege), which it does only for a moment."""
        statement = sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
        for attempt in itertools.count():
            try:
                self._admin().execute(statement)
                return
            except (psycopg.errors.InsufficientPrivilege, psycopg.errors.ObjectInUse):
                if attempt >= _DROP_ATTEMPTS:
                    raise
                time.sleep(0.1)

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()


@pytest.fixture(scope="session")
def postgres_server_url() -> str:
    """Admin SQLAlchemy URL (``postgresql+psycopg://…/postgres``) of a reachable PostgreSQL.

    The role may create databases. Skips (or fails under ``RTC_REQUIRE_SERVICES=1``)
    when the server does not answer within 3 seconds. Do not create tables here:
    use ``postgres_url`` or ``postgres_database``.
    """
    return check_postgres(configured_url(POSTGRES_URL_ENV, DEFAULT_POSTGRES_URL))


@pytest.fixture
def postgres_database(postgres_server_url: str) -> Iterator[PostgresDatabases]:
    """Factory ``make(template: str | None = None) -> str`` of fresh databases for this test.

    Each call creates a new, empty database (or a copy of *template*) and returns its
    SQLAlchemy URL; all of them are dropped with ``WITH (FORCE)`` after the test.
    """
    databases = PostgresDatabases(postgres_server_url)
    with databases:
        yield databases


@pytest.fixture
def postgres_url(postgres_database: PostgresDatabases) -> str:
    """SQLAlchemy URL of one fresh, empty database, private to this test and dropped after it."""
    return postgres_database()


# ------------------------------------------------------------------- Redis


def admin_url_of(url: str) -> str:
    """A libpq URL (``postgresql://``) for psycopg from a SQLAlchemy one (``postgresql+psycopg://``)."""
    return make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)


def waiting_for(admin: psycopg.Connection[Any], table: str) -> int:
    """Backends of other sessions waiting for a lock on ``table`` in ``admin``'s database: a test
    that holds the table (``LOCK TABLE``) starts competing processes together once they all wait
    for it. (Databases made from one template share table oids, hence the database filter: a
    test of another worker waiting on its own ``apps`` is not counted.)"""
    row = admin.execute(
        "SELECT count(DISTINCT pid) FROM pg_locks WHERE NOT granted AND relation = %s::regclass"
        " AND database = (SELECT oid FROM pg_database WHERE datname = current_database())",
        (table,),
    ).fetchone()
    return int(str(row[0])) if row else 0


def _redis_client(url: str) -> redis.Redis:
    return redis.Redis.from_url(
        url,
        socket_connect_timeout=CONNECT_TIMEOUT_SECONDS,
        socket_timeout=CONNECT_TIMEOUT_SECONDS,
    )


def check_redis(url: str) -> str:
    """Return *url* if a Redis there answers PING; else skip/fail."""
    hint = f"run `bash scripts/services.sh` or set {REDIS_URL_ENV}"
    try:
        client = _redis_client(url)
    except ValueError as exc:
        problem = f"bad URL {url!r}: {exc}"
    else:
        try:
            client.ping()
        except redis.RedisError as exc:
            problem = f"cannot reach {url}: {exc}"
        else:
            return url
        finally:
            client.close()
    # Called outside the except blocks so the report carries no exception chain.
    unavailable("Redis", f"{problem} ({hint})")


def delete_keys(client: redis.Redis, prefix: str, batch: int = 500) -> int:
    """Delete every key starting with *prefix* (SCAN + DEL, glob characters escaped); return the count."""
    pattern = "".join("\\" + ch if ch in "*?[]\\" else ch for ch in prefix) + "*"
    deleted = 0
    pending: list[bytes] = []
    for key in client.scan_iter(match=pattern, count=batch):
        pending.append(key)
        if len(pending) >= batch:
            deleted += int(client.delete(*pending))
            pending.clear()
    if pending:
        deleted += int(client.delete(*pending))
    return deleted


@pytest.fixture(scope="session")
def redis_server_url() -> str:
    """URL (``redis://host:port/db``) of a Redis that answers PING.

    The database is shared: touch only keys under ``redis_key_prefix``. Skips (or
    fails under ``RTC_REQUIRE_SERVICES=1``) when Redis does not answer within 3 seconds.
    """
    return check_redis(configured_url(REDIS_URL_ENV, DEFAULT_REDIS_URL))


@pytest.fixture
def redis_key_prefix(redis_server_url: str) -> Iterator[str]:
    """Key prefix ``rtc-test:<RUN_ID>:<n>:`` unique to this test on ``redis_server_url``.

    Every key starting with it is deleted after the test (SCAN + DEL).
    """
    prefix = f"rtc-test:{RUN_ID}:{next(_key_prefix_counter)}:"
    yield prefix
    client = _redis_client(redis_server_url)
    try:
        delete_keys(client, prefix)
    finally:
        client.close()


# ----------------------------------------------------------- Redis Cluster


def _redis_cluster_client(url: str) -> redis.RedisCluster:
    scheme, sep, rest = url.partition("://")
    return redis.RedisCluster.from_url(
        scheme.replace("+cluster", "") + sep + rest,
        socket_connect_timeout=CONNECT_TIMEOUT_SECONDS,
        socket_timeout=CONNECT_TIMEOUT_SECONDS,
    )


def check_redis_cluster(url: str) -> str:
    """Return *url* if a Redis Cluster there answers and its state is ok; else skip/fail."""
    hint = f"run `bash scripts/services.sh` or set {REDIS_CLUSTER_URL_ENV}"
    try:
        client = _redis_cluster_client(url)
    except (ValueError, redis.RedisError) as exc:
        problem = f"cannot reach {url}: {exc}"
    else:
        try:
            state = client.cluster_info().get("cluster_state")
        except redis.RedisError as exc:
            problem = f"cannot reach {url}: {exc}"
        else:
            if state == "ok":
                return url
            problem = f"cluster_state is {state!r} at {url}"
        finally:
            client.close()
    unavailable("Redis Cluster", f"{problem} ({hint})")


@pytest.fixture(scope="session")
def redis_cluster_url() -> str:
    """URL (``redis+cluster://host:port``) of a Redis Cluster whose state is ok; else skip (or fail)."""
    return check_redis_cluster(configured_url(REDIS_CLUSTER_URL_ENV, DEFAULT_REDIS_CLUSTER_URL))


@pytest.fixture
def redis_cluster_key_prefix(redis_cluster_url: str) -> Iterator[str]:
    """Key prefix ``rtc-test:<RUN_ID>:<n>:`` unique to this test; its keys are deleted on every primary."""
    prefix = f"rtc-test:{RUN_ID}:{next(_key_prefix_counter)}:"
    yield prefix
    client = _redis_cluster_client(redis_cluster_url)
    try:
        pattern = "".join("\\" + ch if ch in "*?[]\\" else ch for ch in prefix) + "*"
        for node in client.get_primaries():  # type: ignore[no-untyped-call]  # untyped in redis-py 8.1
            node_client = client.get_redis_connection(node)
            pipe = node_client.pipeline(transaction=False)  # one DEL per key: keys span cluster slots
            for key in node_client.scan_iter(match=pattern, count=500):
                pipe.delete(key)
            pipe.execute()
    finally:
        client.close()
