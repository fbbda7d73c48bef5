"""Applying the Alembic migrations from code (``rtc-console migrate`` and start-up).

On PostgreSQL the upgrade holds an advisory lock, so replicas starting together
migrate one after the other instead of racing on DDL. :func:`shown_url` is how a
store is named in logs and command output: never with its password.
"""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from sqlalchemy import text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError

from rtcconsole_server.store.engine import Store

__all__ = ["alembic_config", "shown_url", "upgrade"]

_SECRET_QUERY_KEYS = frozenset({"password", "sslpassword", "passfile"})
"""Query parameters libpq reads a secret from: masked like the URL's password."""

_MIGRATIONS = Path(__file__).resolve().parent / "migrations"
_ADVISORY_LOCK_KEY = 0x7274_6300  # "rtc\0": arbitrary, constant across versions


def alembic_config() -> Config:
    """An Alembic config pointing at the packaged migrations."""
    config = Config()
    config.set_main_option("script_location", str(_MIGRATIONS))
    return config


def shown_url(url: str) -> str:
    """``url`` as logs and command output show it: the password (also one given as a query
    parameter) replaced by ``***``; a SQLite file as its absolute path
    (``sqlite:////abs/rtc-console.db``), so that two commands can be seen to use one file.
    A URL that does not parse is shown with everything before its last ``@`` masked."""
    try:
        parsed = make_url(url)
    except ArgumentError:
        head, at, tail = url.rpartition("@")
        scheme, slashes, _ = head.partition("//")
        return f"{scheme}{slashes}***@{tail}" if at else url
    database = parsed.database
    if parsed.get_backend_name() == "sqlite" and database and not database.startswith((":memory:", "file:")):
        parsed = parsed.set(database=str(Path(database).expanduser().absolute()))
    secret = {k: "***" for k in parsed.query if k.lower() in _SECRET_QUERY_KEYS}
    if secret:
        parsed = parsed.update_query_dict(secret)
    return parsed.render_as_string(hide_password=True).replace("%2A%2A%2A", "***")


def upgrade(store: Store, revision: str = "head") -> str | None:
    """Bring the store's schema to ``revision``; returns the revision it is at then."""
    config = alembic_config()
    with store.engine.connect() as connection:
        if store.is_postgresql:
            connection.execute(text("SELECT pg_advisory_lock(:k)"), {"k": _ADVISORY_LOCK_KEY})
            connection.commit()
        try:
            config.attributes["connection"] = connection
            command.upgrade(config, revision)
            connection.commit()
            current = MigrationContext.configure(connection).get_current_revision()
            connection.commit()
            return current
        finally:
            if store.is_postgresql:
                connection.execute(text("SELECT pg_advisory_unlock(:k)"), {"k": _ADVISORY_LOCK_KEY})
                connection.commit()
