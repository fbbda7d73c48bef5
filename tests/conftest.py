"""Fixtures shared by every test: the store on both backends, a real server, tenants.

``backend`` parametrises service tests over a real SQLite file and a real
PostgreSQL database. Each test gets a fresh database cloned from a template
migrated once per run (a file copy on SQLite, ``CREATE DATABASE … TEMPLATE``
on PostgreSQL), and a real grpc.aio server on an ephemeral port whose clock
the test moves by hand.
"""

from __future__ import annotations

import shutil
from collections.abc import AsyncIterator, Iterator
from datetime import timedelta
from pathlib import Path
from typing import TYPE_CHECKING

import httpx
import pytest

from rtcconsole_server.clock import ManualClock
from rtcconsole_server.server import Server
from rtcconsole_server.settings import Settings
from rtcconsole_server.store import open_store, upgrade
from tests.support import Tenant, new_tenant, running_server

if TYPE_CHECKING:
    from tests.infra import PostgresDatabases

pytest_plugins = ["tests.infra"]


@pytest.fixture(autouse=True)
def private_cache_home(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Keep what ``rtcctl`` caches (secondary-auth tokens) and the default store of
    ``rtc-console`` (``RTC_DATA_DIR``) out of the real home directory: a command that a test
    runs without ``--database-url`` must not touch, or depend on, the developer's own store."""
    home = tmp_path_factory.mktemp("cache-home")
    monkeypatch.setenv("XDG_CACHE_HOME", str(home))
    monkeypatch.setenv("RTC_DATA_DIR", str(home / "rtc-console"))
    return home


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A SQLite file migrated to head, copied for each test."""
    path = tmp_path_factory.mktemp("template") / "template.db"
    store = open_store(f"sqlite:///{path}")
    upgrade(store)
    store.dispose()
    return path


@pytest.fixture(scope="session")
def postgres_template(postgres_server_url: str) -> Iterator[str]:
    """A PostgreSQL database migrated to head, cloned for each test."""
    from tests.infra import PostgresDatabases

    with PostgresDatabases(postgres_server_url) as databases:
        url = databases()
        store = open_store(url)
        upgrade(store)
        store.dispose()
        yield url


@pytest.fixture(params=["sqlite", "postgresql"])
def backend(request: pytest.FixtureRequest) -> str:
    """The store backend of this test run."""
    return str(request.param)


@pytest.fixture
def database_url(backend: str, request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """A fresh, migrated database of ``backend``, private to this test."""
    if backend == "sqlite":
        template: Path = request.getfixturevalue("sqlite_template")
        copy = tmp_path / "rtc.db"
        shutil.copyfile(template, copy)
        return f"sqlite:///{copy}"
    databases: PostgresDatabases = request.getfixturevalue("postgres_database")
    return databases(template=request.getfixturevalue("postgres_template"))


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock()


@pytest.fixture
def settings(database_url: str, request: pytest.FixtureRequest) -> Settings:
    """The server under test: gRPC on port 0; the HTTP door only in a test marked ``http_door``
    (then on port 0 too, and the ``http`` fixture is a client of it)."""
    door = request.node.get_closest_marker("http_door") is not None
    return Settings(
        listen="127.0.0.1:0",
        http_listen="127.0.0.1:0" if door else "off",
        database_url=database_url,
        run_workers=False,
        migrate=False,
        operation_delay=timedelta(minutes=3),
        data_plane_token="data-plane-test-token",
        callback_allow_loopback=True,  # receivers of the tests listen on 127.0.0.1
    )


@pytest.fixture
async def server(settings: Settings, clock: ManualClock) -> AsyncIterator[Server]:
    """A started server on an ephemeral port; workers are driven by the test (``run_once``)."""
    async with running_server(settings, clock) as built:
        yield built


@pytest.fixture
async def http(server: Server) -> AsyncIterator[httpx.AsyncClient]:
    """A client of the server's HTTP door (the test is marked ``http_door``)."""
    assert server.http is not None, "mark the test with @pytest.mark.http_door"
    async with httpx.AsyncClient(base_url=server.http.url, timeout=10.0) as client:
        yield client


@pytest.fixture
async def tenant(server: Server) -> AsyncIterator[Tenant]:
    """An account with an API key and connected stubs."""
    async with new_tenant(server, "tenant-a") as created:
        yield created


@pytest.fixture
async def other_tenant(server: Server) -> AsyncIterator[Tenant]:
    """A second account, to prove tenants are walled off."""
    async with new_tenant(server, "tenant-b") as created:
        yield created
