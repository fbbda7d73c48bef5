"""Alembic environment: runs on the connection handed over by ``store.migrate``."""

from __future__ import annotations

from alembic import context
from sqlalchemy import Connection, create_engine

from rtcconsole_server.store.partitions import include_in_schema_checks
from rtcconsole_server.store.tables import metadata

config = context.config
connection: Connection | None = config.attributes.get("connection")


def _run(conn: Connection) -> None:
    context.configure(
        connection=conn,
        target_metadata=metadata,
        render_as_batch=conn.dialect.name == "sqlite",
        compare_type=True,
        include_object=include_in_schema_checks,  # day partitions are data (decision 0024)
    )
    with context.begin_transaction():
        context.run_migrations()


if connection is not None:
    _run(connection)
else:  # the alembic command line, for writing new revisions: -x url=...
    url = context.get_x_argument(as_dictionary=True).get("url", "sqlite:///alembic-dev.db")
    with create_engine(url).connect() as conn:
        _run(conn)
        conn.commit()
