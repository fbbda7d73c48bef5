"""The Alembic migrations build exactly the schema the models declare, on both backends."""

from __future__ import annotations

from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import inspect

from rtcconsole_server.store import open_store, upgrade
from rtcconsole_server.store.migrate import alembic_config
from rtcconsole_server.store.tables import metadata


def test_migrations_match_the_models(database_url: str) -> None:
    store = open_store(database_url)
    try:
        upgrade(store)  # already at head: a no-op that must not fail
        with store.engine.connect() as connection:
            assert compare_metadata(MigrationContext.configure(connection), metadata) == []
    finally:
        store.dispose()


def test_0008_downgrades_and_upgrades_again(database_url: str) -> None:
    """The calls index of room events (ListCalls, R17) comes and goes with 0008."""
    store = open_store(database_url)
    try:
        config = alembic_config()
        with store.engine.connect() as connection:
            config.attributes["connection"] = connection
            command.downgrade(config, "0007")
            connection.commit()
            names = {index["name"] for index in inspect(connection).get_indexes("room_events")}
            assert "ix_room_events_calls" not in names and "ix_room_events_entries" in names
        upgrade(store)
        with store.engine.connect() as connection:
            names = {index["name"] for index in inspect(connection).get_indexes("room_events")}
            assert "ix_room_events_calls" in names
            assert compare_metadata(MigrationContext.configure(connection), metadata) == []
    finally:
        store.dispose()


def test_0007_downgrades_and_upgrades_again(database_url: str) -> None:
    """Monitoring's data-plane tables (quality_samples, client_events) come and go with 0007."""
    store = open_store(database_url)
    try:
        config = alembic_config()
        with store.engine.connect() as connection:
            config.attributes["connection"] = connection
            command.downgrade(config, "0006")
            connection.commit()
            tables = set(inspect(connection).get_table_names())
            assert not tables & {"quality_samples", "client_events"}
            assert "room_events" in tables
        upgrade(store)
        with store.engine.connect() as connection:
            assert {"quality_samples", "client_events"} <= set(inspect(connection).get_table_names())
            assert compare_metadata(MigrationContext.configure(connection), metadata) == []
    finally:
        store.dispose()
