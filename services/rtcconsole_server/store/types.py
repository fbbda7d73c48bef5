"""Column types shared by the models."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import BigInteger, DateTime, Integer
from sqlalchemy.engine import Dialect
from sqlalchemy.types import TypeDecorator

__all__ = ["BigIntPK", "UTCDateTime"]

BigIntPK = BigInteger().with_variant(Integer(), "sqlite")
"""A 64-bit key that is SQLite's rowid alias there (so AUTOINCREMENT works)."""


class UTCDateTime(TypeDecorator[datetime]):
    """An instant stored as UTC and always read back timezone-aware.

    SQLite keeps no zone, PostgreSQL keeps ``timestamptz``; both come back as aware UTC.
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: Any, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        assert isinstance(value, datetime)
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)
