"""Applying the Alembic migrations from code (``rtc-console migrate`` and start-up).

On PostgreSQL the upgrade holds an advisory lock, so replicas starting together
migrate one after the other instead of racing on DDL.
"""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from sqlalchemy import text

from rtcconsole_server.store.engine import Store

__all__ = ["alembic_config", "upgrade"]

_MIGRATIONS = Path(__file__).resolve().parent / "migrations"
_ADVISORY_LOCK_KEY = 0x7274_6300  # "rtc\0": arbitrary, constant across versions


def alembic_config() -> Config:
    """An Alembic config pointing at the packaged migrations."""
    config = Config()
    config.set_main_option("script_location", str(_MIGRATIONS))
    return config


def upgrade(store: Store, revision: str = "head") -> None:
    """Bring the store's schema to ``revision``."""
    config = alembic_config()
    with store.engine.connect() as connection:
        if store.is_postgresql:
            connection.execute(text("SELECT pg_advisory_lock(:k)"), {"k": _ADVISORY_LOCK_KEY})
            connection.commit()
        try:
            config.attributes["connection"] = connection
            command.upgrade(config, revision)
            connection.commit()
        finally:
            if store.is_postgresql:
                connection.execute(text("SELECT pg_advisory_unlock(:k)"), {"k": _ADVISORY_LOCK_KEY})
                connection.commit()
