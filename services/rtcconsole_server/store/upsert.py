"""INSERT … ON CONFLICT for both backends (SQLite and PostgreSQL share the syntax)."""

from __future__ import annotations

from typing import Any

from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

__all__ = ["insert_for"]


def insert_for(session: Session, table: Any) -> Any:
    """A dialect ``insert(table)`` that has ``on_conflict_do_nothing`` / ``on_conflict_do_update``."""
    if session.get_bind().dialect.name == "postgresql":
        return postgresql.insert(table)
    return sqlite.insert(table)
