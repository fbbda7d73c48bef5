"""Every table of the store in one ``MetaData`` (for Alembic and schema checks)."""

from __future__ import annotations

from rtcconsole_server.store import models, models_commands, models_monitor, models_usage
from rtcconsole_server.store.models import Base

__all__ = ["metadata"]

metadata = Base.metadata
_ = (models, models_commands, models_monitor, models_usage)  # imported for their tables
