"""CreateApp's two statements as driver SQL, per dialect: the account row lock and R1's insert.

A create is the hottest write (``CreateApp`` under load), and on PostgreSQL SQLAlchemy's
execute layers cost more CPU than psycopg itself: the compiled cache lookup, the execution
context, bind and result processing and the result objects, for two statements. These two run
through :func:`~rtcconsole_server.store.engine.driver_rows` instead (the engine's listeners still
see them) with their SQL written once per dialect, exactly as SQLAlchemy compiles the Core
statements they replace, and their values converted by the columns' own SQLAlchemy types
(their bind and result processors, taken once per dialect), so what is stored and read is the
same to the byte (``tests/service/test_apps_create_sql.py`` holds the two paths side by side).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection
from sqlalchemy.engine import Dialect

from rtcconsole_server.store.engine import driver_rows
from rtcconsole_server.store.models import Account, App

__all__ = ["NEW_APP_COLUMNS", "Billing", "insert_under_quota", "lock_account"]

NEW_APP_COLUMNS = (
    "account_id", "name", "description", "source", "secret_key", "lifecycle", "request_id",
    "push_domain", "relayed_push_enabled", "created_at", "updated_at",
)  # fmt: skip
"""The columns a create sets, in the insert's order."""

_BILLING_COLUMNS = ("postpaid", "arrears", "package_state")

_PLACEHOLDER = {"postgresql": "%({})s", "sqlite": ":{}"}
"""A named parameter in each driver's style (psycopg: pyformat; sqlite3: named)."""
_PG_CASTS = {
    "account_id": "::BIGINT", "name": "::VARCHAR", "description": "::VARCHAR", "source": "::VARCHAR",
    "secret_key": "::VARCHAR", "lifecycle": "::VARCHAR", "request_id": "::VARCHAR",
    "push_domain": "::VARCHAR", "relayed_push_enabled": "", "created_at": "::TIMESTAMP WITH TIME ZONE",
    "updated_at": "::TIMESTAMP WITH TIME ZONE", "quota": "::INTEGER",
}  # fmt: skip
"""PostgreSQL gives a bare parameter in a select list no type: each is cast as SQLAlchemy's
psycopg dialect casts it (VARCHAR without a length: a longer value is an error, not cut)."""
_FOR_UPDATE = {"postgresql": " FOR UPDATE", "sqlite": ""}
"""SQLite has no row locks: its ``BEGIN IMMEDIATE`` already serialises every writer."""


@dataclass(frozen=True, slots=True)
class Billing:
    """The account's billing state, read under its row lock (for R6's stop reasons)."""

    postpaid: bool
    arrears: bool
    package_state: str


Processor = Callable[[Any], Any] | None


@dataclass(frozen=True, slots=True)
class _Statements:
    """Both statements and their value processors for one dialect."""

    lock: str
    insert: str
    binds: Mapping[str, Processor]
    results: tuple[Processor, ...]


_BY_DIALECT: dict[str, _Statements] = {}


def _statements(dialect: Dialect) -> _Statements:
    """The statements for ``dialect``, built at its first use."""
    found = _BY_DIALECT.get(dialect.name)
    if found is None:
        found = _BY_DIALECT[dialect.name] = _build(dialect)
    return found


def _build(dialect: Dialect) -> _Statements:
    name = dialect.name
    casts = _PG_CASTS if name == "postgresql" else {}

    def parameter(key: str) -> str:
        return _PLACEHOLDER[name].format(key) + casts.get(key, "")

    columns = App.__table__.c
    account = parameter("account_id")
    # Constant names only (this module's own and the table's): no value is ever spliced in.
    lock = (
        f"SELECT {', '.join(_BILLING_COLUMNS)} FROM accounts "  # noqa: S608
        f"WHERE accounts.id = {account}{_FOR_UPDATE[name]}"
    )
    values = ", ".join(parameter(column) for column in NEW_APP_COLUMNS)
    insert = (
        f"INSERT INTO apps ({', '.join(NEW_APP_COLUMNS)}) SELECT {values} "  # noqa: S608
        f"WHERE (SELECT count(*) FROM apps WHERE apps.account_id = {account} "
        f"AND apps.deleted_at IS NULL) < {parameter('quota')} RETURNING apps.sdk_app_id"
    )
    binds = {
        column: columns[column].type.dialect_impl(dialect).bind_processor(dialect)
        for column in NEW_APP_COLUMNS
    }
    results = tuple(
        Account.__table__.c[column].type.dialect_impl(dialect).result_processor(dialect, None)
        for column in _BILLING_COLUMNS
    )
    return _Statements(lock=lock, insert=insert, binds=binds, results=results)


def lock_account(connection: Connection, account_id: int) -> Billing:
    """Lock the account's row (PostgreSQL; SQLite's writer lock is already held) and read its
    billing state. The account exists: the caller was authenticated as it."""
    statements = _statements(connection.dialect)
    (row,) = driver_rows(connection, statements.lock, {"account_id": account_id})
    postpaid, arrears, package_state = (
        value if process is None else process(value)
        for process, value in zip(statements.results, row, strict=True)
    )
    return Billing(postpaid=bool(postpaid), arrears=bool(arrears), package_state=str(package_state))


def insert_under_quota(connection: Connection, values: dict[str, Any], quota: int) -> int | None:
    """Insert the app of ``values`` (every :data:`NEW_APP_COLUMNS`) unless its account already has
    ``quota`` live apps (R1); its SDKAppID, or None when the quota is full. The count and the
    insert are one statement (one round trip); run after :func:`lock_account`, so on PostgreSQL
    (READ COMMITTED) its snapshot sees every create of the account committed before it."""
    statements = _statements(connection.dialect)
    parameters = {
        column: value if (process := statements.binds[column]) is None else process(value)
        for column, value in values.items()
    }
    parameters["quota"] = quota
    rows = driver_rows(connection, statements.insert, parameters)
    return int(rows[0][0]) if rows else None
