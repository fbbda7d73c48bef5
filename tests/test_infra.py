"""Proof that the PostgreSQL and Redis fixtures of tests/infra.py do what they say.

Tests needing a service skip without it (fail under ``RTC_REQUIRE_SERVICES=1``);
the policy tests at the bottom need no service. Some tests check, in a later
test, what an earlier test's teardown did, so they rely on pytest's default
in-file order; run alone they skip rather than pass vacuously.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import psycopg
import pytest
import redis
from sqlalchemy import Engine, create_engine, inspect, text
from sqlalchemy.engine import make_url
from sqlalchemy.pool import NullPool

from tests import infra

DB_NAME = re.compile(rf"^rtc_t_{infra.RUN_ID[:8]}_\d+$")

# Filled by earlier tests, checked by later ones once teardown has run.
_created_databases: list[str] = []
_used_key_prefixes: list[str] = []


@contextmanager
def engine_for(url: str) -> Iterator[Engine]:
    engine = create_engine(url, poolclass=NullPool)
    try:
        yield engine
    finally:
        engine.dispose()


def existing_databases(server_url: str) -> set[str]:
    with engine_for(server_url) as engine, engine.connect() as conn:
        return set(conn.scalars(text("SELECT datname FROM pg_database")))


def redis_client(url: str) -> redis.Redis:
    return redis.Redis.from_url(url, socket_connect_timeout=3, socket_timeout=3)


# -------------------------------------------------------------- PostgreSQL


def test_postgres_server_url_is_usable_admin_url(postgres_server_url: str) -> None:
    url = make_url(postgres_server_url)
    assert url.drivername == "postgresql+psycopg"
    with engine_for(postgres_server_url) as engine, engine.connect() as conn:
        assert conn.scalar(text("SELECT 1")) == 1
        can_create = conn.scalar(text("SELECT rolcreatedb FROM pg_roles WHERE rolname = current_user"))
    assert can_create is True


def test_fresh_databases_are_distinct_and_isolated(
    postgres_database: infra.PostgresDatabases, postgres_server_url: str
) -> None:
    first, second = postgres_database(), postgres_database()
    first_name, second_name = make_url(first).database, make_url(second).database
    assert first_name is not None and second_name is not None
    assert first_name != second_name
    assert DB_NAME.match(first_name) and DB_NAME.match(second_name)
    assert postgres_database.names == (first_name, second_name)
    assert {first_name, second_name} <= existing_databases(postgres_server_url)

    with engine_for(first) as engine, engine.begin() as conn:
        assert conn.scalar(text("SELECT current_database()")) == first_name
        conn.execute(text("CREATE TABLE only_in_first (id int PRIMARY KEY)"))
        conn.execute(text("INSERT INTO only_in_first VALUES (1)"))

    with engine_for(second) as engine, engine.connect() as conn:
        assert conn.scalar(text("SELECT current_database()")) == second_name
        assert not inspect(conn).has_table("only_in_first")

    with engine_for(first) as engine, engine.connect() as conn:
        assert conn.scalar(text("SELECT count(*) FROM only_in_first")) == 1

    _created_databases.extend([first_name, second_name])


def test_postgres_url_is_one_fresh_empty_database(postgres_url: str) -> None:
    name = make_url(postgres_url).database
    assert name is not None and DB_NAME.match(name)
    with engine_for(postgres_url) as engine, engine.connect() as conn:
        assert conn.scalar(text("SELECT current_database()")) == name
        assert inspect(conn).get_table_names() == []
    _created_databases.append(name)


def test_make_from_template_copies_schema_and_data(postgres_database: infra.PostgresDatabases) -> None:
    template = postgres_database()
    with engine_for(template) as engine, engine.begin() as conn:
        conn.execute(text("CREATE TABLE seeded (v text)"))
        conn.execute(text("INSERT INTO seeded VALUES ('from template')"))

    template_name = make_url(template).database
    assert template_name is not None
    by_url, by_name = postgres_database(template=template), postgres_database(template=template_name)
    assert len({template, by_url, by_name}) == 3
    for clone in (by_url, by_name):
        with engine_for(clone) as engine, engine.begin() as conn:
            assert conn.scalar(text("SELECT v FROM seeded")) == "from template"
            conn.execute(text("INSERT INTO seeded VALUES ('clone only')"))

    with engine_for(template) as engine, engine.connect() as conn:
        assert conn.scalar(text("SELECT count(*) FROM seeded")) == 1
    _created_databases.extend(postgres_database.names)


def test_databases_of_earlier_tests_were_dropped(postgres_server_url: str) -> None:
    if not _created_databases:
        pytest.skip("checks databases made by earlier tests in this file; run the whole file")
    assert not set(_created_databases) & existing_databases(postgres_server_url)


def test_close_drops_databases_that_still_have_connections(postgres_server_url: str) -> None:
    databases = infra.PostgresDatabases(postgres_server_url)
    with databases:
        url = databases()
        name = make_url(url).database
        assert name is not None
        # A session left open (as by an engine nobody disposed) must not keep the database alive.
        lingering = psycopg.connect(
            **make_url(url).translate_connect_args(username="user", database="dbname"), connect_timeout=3
        )
    try:
        with pytest.raises(psycopg.OperationalError):
            lingering.execute("SELECT 1")
    finally:
        lingering.close()
    assert databases.names == ()
    assert name not in existing_databases(postgres_server_url)


# ------------------------------------------------------------------- Redis


def test_redis_server_url_answers_ping(redis_server_url: str) -> None:
    client = redis_client(redis_server_url)
    try:
        assert client.ping() is True
    finally:
        client.close()


def test_redis_key_prefix_scopes_keys(redis_server_url: str, redis_key_prefix: str) -> None:
    assert re.fullmatch(rf"rtc-test:{infra.RUN_ID}:\d+:", redis_key_prefix)
    client = redis_client(redis_server_url)
    try:
        assert list(client.scan_iter(match=redis_key_prefix + "*")) == []
        client.set(redis_key_prefix + "a", "1")
        client.hset(redis_key_prefix + "h", "f", "v")
        client.rpush(redis_key_prefix + "nested:list", "x")
        assert len(list(client.scan_iter(match=redis_key_prefix + "*"))) == 3
    finally:
        client.close()
    _used_key_prefixes.append(redis_key_prefix)


def test_redis_keys_of_earlier_test_were_deleted(redis_server_url: str, redis_key_prefix: str) -> None:
    if not _used_key_prefixes:
        pytest.skip("checks keys left by an earlier test in this file; run the whole file")
    assert redis_key_prefix not in _used_key_prefixes
    client = redis_client(redis_server_url)
    try:
        for prefix in _used_key_prefixes:
            assert list(client.scan_iter(match=prefix + "*")) == []
    finally:
        client.close()


def test_delete_keys_treats_prefix_literally(redis_server_url: str, redis_key_prefix: str) -> None:
    client = redis_client(redis_server_url)
    try:
        odd = redis_key_prefix + "g*[ab]?\\:"
        client.set(odd + "1", "x")
        client.set(odd + "2", "x")
        # Would match the prefix were it used as an unescaped glob.
        client.set(redis_key_prefix + "gZZa!\\:1", "keep")
        client.set(redis_key_prefix + "g*[ab]?", "keep")
        assert infra.delete_keys(client, odd) == 2
        assert client.exists(odd + "1", odd + "2") == 0
        assert client.exists(redis_key_prefix + "gZZa!\\:1", redis_key_prefix + "g*[ab]?") == 2
    finally:
        client.close()


# ---------------------------------------------- policy (no services needed)


def test_require_services_reads_env(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(infra.REQUIRE_SERVICES_ENV, raising=False)
    assert infra.require_services() is False
    monkeypatch.setenv(infra.REQUIRE_SERVICES_ENV, "0")
    assert infra.require_services() is False
    monkeypatch.setenv(infra.REQUIRE_SERVICES_ENV, "1")
    assert infra.require_services() is True


def test_unavailable_skips_unless_services_required(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(infra.REQUIRE_SERVICES_ENV, raising=False)
    with pytest.raises(pytest.skip.Exception, match="Thing unavailable: because"):
        infra.unavailable("Thing", "because")
    monkeypatch.setenv(infra.REQUIRE_SERVICES_ENV, "1")
    with pytest.raises(pytest.fail.Exception, match="Thing unavailable: because"):
        infra.unavailable("Thing", "because")


@pytest.mark.parametrize("required", [False, True])
def test_unreachable_services_skip_or_fail(monkeypatch: pytest.MonkeyPatch, required: bool) -> None:
    monkeypatch.setenv(infra.REQUIRE_SERVICES_ENV, "1" if required else "0")
    expected = pytest.fail.Exception if required else pytest.skip.Exception
    # Port 1 on loopback: nothing listens, the connection is refused at once.
    with pytest.raises(expected, match="PostgreSQL unavailable"):
        infra.check_postgres("postgresql+psycopg://nobody:secret@127.0.0.1:1/postgres")
    with pytest.raises(expected, match="Redis unavailable"):
        infra.check_redis("redis://127.0.0.1:1/0")


def test_configured_url_precedence(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    env_file = tmp_path / ".services.env"
    monkeypatch.delenv("RTC_TEST_X_URL", raising=False)
    assert infra.configured_url("RTC_TEST_X_URL", "default://", env_file) == "default://"
    env_file.write_text("# comment\n\nRTC_TEST_X_URL='file://x'\nOTHER=1\n", encoding="utf-8")
    assert infra.configured_url("RTC_TEST_X_URL", "default://", env_file) == "file://x"
    monkeypatch.setenv("RTC_TEST_X_URL", "env://x")
    assert infra.configured_url("RTC_TEST_X_URL", "default://", env_file) == "env://x"
