"""The store: SQLAlchemy models, the engine and its transactions, Alembic migrations.

It knows tables, not rules: the domain decides, the store keeps.
"""

from rtcconsole_server.store.engine import DEFAULT_STATEMENT_TIMEOUT, InlineBudgetExceeded, Store, open_store
from rtcconsole_server.store.group_commit import GroupCommit
from rtcconsole_server.store.migrate import upgrade

__all__ = [
    "DEFAULT_STATEMENT_TIMEOUT",
    "GroupCommit",
    "InlineBudgetExceeded",
    "Store",
    "open_store",
    "upgrade",
]
