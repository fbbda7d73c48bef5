"""The Alembic migrations build exactly the schema the models declare, on both backends."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from rtcconsole_server.store import open_store, upgrade
from rtcconsole_server.store.tables import metadata


def test_migrations_match_the_models(database_url: str) -> None:
    store = open_store(database_url)
    try:
        upgrade(store)  # already at head: a no-op that must not fail
        with store.engine.connect() as connection:
            assert compare_metadata(MigrationContext.configure(connection), metadata) == []
    finally:
        store.dispose()
