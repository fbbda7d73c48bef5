"""The Alembic migrations build exactly the schema the models declare, on both backends."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import Connection, insert, inspect, select, text

from rtcconsole_server.store import open_store, upgrade
from rtcconsole_server.store.migrate import alembic_config
from rtcconsole_server.store.models_monitor import ClientEvent, QualitySample
from rtcconsole_server.store.partitions import include_in_schema_checks, is_partition, partition_days
from rtcconsole_server.store.tables import metadata


def differences(connection: Connection) -> list[Any]:
    """What the migrated schema lacks or has beyond the models; day partitions (data, decision
    0024) are not schema, and :func:`test_0009_partitions_the_monitor_tables_on_postgresql`
    checks the partitioning itself."""
    context = MigrationContext.configure(connection, opts={"include_object": include_in_schema_checks})
    return list(compare_metadata(context, metadata))


def test_migrations_match_the_models(database_url: str) -> None:
    store = open_store(database_url)
    try:
        upgrade(store)  # already at head: a no-op that must not fail
        with store.engine.connect() as connection:
            assert differences(connection) == []
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
            assert differences(connection) == []
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
            assert differences(connection) == []
    finally:
        store.dispose()


_DAYS = (datetime(2025, 12, 20, 23, 59, 59, 999999, tzinfo=UTC), datetime(2026, 1, 1, tzinfo=UTC))


def _monitor_rows(connection: Connection) -> tuple[list[Any], list[Any]]:
    samples = connection.execute(
        select(QualitySample.sample_time, QualitySample.bitrate_kbps).order_by(QualitySample.sample_time)
    ).all()
    events = connection.execute(
        select(ClientEvent.event_id, ClientEvent.event_time).order_by(ClientEvent.event_id)
    ).all()
    return [tuple(row) for row in samples], [tuple(row) for row in events]


def _kinds(connection: Connection) -> dict[str, str]:
    """relkind of the monitor tables on PostgreSQL: ``p`` partitioned, ``r`` plain."""
    found = connection.execute(
        text("SELECT relname, relkind FROM pg_class WHERE relname IN ('quality_samples', 'client_events')")
    ).all()
    return {name: str(kind) for name, kind in found}


def test_0009_keeps_the_rows_both_ways_and_partitions_by_day_on_postgresql(database_url: str) -> None:
    store = open_store(database_url)
    postgresql = store.is_postgresql
    try:
        config = alembic_config()
        with store.engine.connect() as connection:
            config.attributes["connection"] = connection
            command.downgrade(config, "0008")
            connection.commit()
            assert inspect(connection).get_pk_constraint("client_events")["constrained_columns"] == [
                "sdk_app_id",
                "event_id",
            ]
            for i, at in enumerate(_DAYS):
                connection.execute(
                    insert(QualitySample).values(
                        sdk_app_id=1, room_key="n:1", user_id="u", peer_id="", media=1, sample_time=at,
                        interval_ms=2000, bitrate_kbps=100 + i,
                    )
                )  # fmt: skip
                connection.execute(
                    insert(ClientEvent).values(
                        sdk_app_id=1, event_id=f"e{i}", room_key="n:1", user_id="u", peer_id="", event_type=1,
                        media=0, event_time=at, parameters="{}", received_at=at,
                    )
                )  # fmt: skip
            connection.commit()
            before = _monitor_rows(connection)
            assert len(before[0]) == len(before[1]) == 2
        upgrade(store)
        with store.engine.connect() as connection:
            assert _monitor_rows(connection) == before
            assert differences(connection) == []
            key = inspect(connection).get_pk_constraint("client_events")["constrained_columns"]
            assert key == ["sdk_app_id", "event_id", "event_time"]  # the partition key joins the key
            if postgresql:
                assert _kinds(connection) == {"quality_samples": "p", "client_events": "p"}
                today = datetime.now(UTC).date()
                expected = {d.date() for d in _DAYS} | {today + timedelta(days=n) for n in range(3)}
                for table in ("quality_samples", "client_events"):
                    assert set(partition_days(connection, table)) == expected, table
            config.attributes["connection"] = connection
            command.downgrade(config, "0008")
            connection.commit()
            assert _monitor_rows(connection) == before
            assert inspect(connection).get_pk_constraint("client_events")["constrained_columns"] == [
                "sdk_app_id",
                "event_id",
            ]
            if postgresql:
                assert _kinds(connection) == {"quality_samples": "r", "client_events": "r"}
                assert not [t for t in inspect(connection).get_table_names() if is_partition(t)]
        upgrade(store)
        with store.engine.connect() as connection:
            assert _monitor_rows(connection) == before
            assert differences(connection) == []
    finally:
        store.dispose()
