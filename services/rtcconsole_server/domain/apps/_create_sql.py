"""CreateApp's statements as driver SQL, per dialect: the account row lock, the retry's lookup
of an earlier create with the same ``request_id``, and R1's count-and-insert.

A create is the hottest write (``CreateApp`` under load), and on PostgreSQL SQLAlchemy's
execute layers cost more CPU than psycopg itself: the compiled cache lookup, the execution
context, bind and result processing and the result objects. These statements run through
:func:`~rtcconsole_server.store.engine.driver_batch` instead (the engine's listeners still see
them; on PostgreSQL the whole batch is one pipeline, one round trip with the transaction's
``BEGIN``, decision 0043) with their SQL written once per dialect, exactly as SQLAlchemy
compiles the Core statements they replace, and their values converted by the columns' own
SQLAlchemy types (their bind and result processors, taken once per dialect), so what is stored
and read is the same to the byte (``tests/service/test_apps_create_sql.py`` holds the two paths
side by side).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection
from sqlalchemy.engine import Dialect

from rtcconsole_server.store.engine import driver_batch
from rtcconsole_server.store.models import Account, App

__all__ = ["NEW_APP_COLUMNS", "Billing", "Created", "Earlier", "create_under_lock"]

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


@dataclass(frozen=True, slots=True)
class Earlier:
    """The app an earlier create with the same ``request_id`` made (a retry's answer)."""

    sdk_app_id: int
    name: str
    description: str


@dataclass(frozen=True, slots=True)
class Created:
    """What :func:`create_under_lock` found and did."""

    billing: Billing
    earlier: Earlier | None
    """The app of an earlier create with the same ``request_id``; nothing was inserted then."""
    sdk_app_id: int | None
    """The new app's SDKAppID; None when nothing was inserted (an earlier create, or R1's full quota)."""


Processor = Callable[[Any], Any] | None


@dataclass(frozen=True, slots=True)
class _Statements:
    """Both statements and their value processors for one dialect."""

    lock: str
    earlier: str
    insert: str
    insert_new_request: str
    """:attr:`insert`, unless the account already has an app of the same ``request_id``."""
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
    request = parameter("request_id")
    earlier = (
        "SELECT apps.sdk_app_id, apps.name, apps.description FROM apps "  # noqa: S608
        f"WHERE apps.account_id = {account} AND apps.request_id = {request}"
    )
    under_quota = (
        f"INSERT INTO apps ({', '.join(NEW_APP_COLUMNS)}) SELECT {values} "  # noqa: S608
        f"WHERE (SELECT count(*) FROM apps WHERE apps.account_id = {account} "
        f"AND apps.deleted_at IS NULL) < {parameter('quota')}"
    )
    returning = " RETURNING apps.sdk_app_id"
    new_request = (
        " AND NOT EXISTS (SELECT 1 FROM apps WHERE apps.account_id = "  # noqa: S608
        f"{account} AND apps.request_id = {request})"
    )
    binds = {
        column: columns[column].type.dialect_impl(dialect).bind_processor(dialect)
        for column in NEW_APP_COLUMNS
    }
    results = tuple(
        Account.__table__.c[column].type.dialect_impl(dialect).result_processor(dialect, None)
        for column in _BILLING_COLUMNS
    )
    return _Statements(
        lock=lock,
        earlier=earlier,
        insert=under_quota + returning,
        insert_new_request=under_quota + new_request + returning,
        binds=binds,
        results=results,
    )


def create_under_lock(connection: Connection, values: dict[str, Any], quota: int) -> Created:
    """Lock the account's row (PostgreSQL; SQLite's writer lock is already held) and read its
    billing state; with a ``request_id`` in ``values``, look for the app an earlier create with
    it made; then insert the app of ``values`` (every :data:`NEW_APP_COLUMNS`) unless that app
    exists or the account already has ``quota`` live apps (R1).

    The count and the insert are one statement, which runs after the lock's: on PostgreSQL (READ
    COMMITTED) its snapshot, and the lookup's, see every create of the account committed before
    the lock was granted. On PostgreSQL the two or three statements are one pipeline (one round
    trip); the account exists (the caller was authenticated as it).
    """
    statements = _statements(connection.dialect)
    account = {"account_id": values["account_id"]}
    request_id = values["request_id"]
    parameters = {
        column: value if (process := statements.binds[column]) is None else process(value)
        for column, value in values.items()
    }
    parameters["quota"] = quota
    batch: list[tuple[str, Mapping[str, Any]]] = [(statements.lock, account)]
    if request_id is None:
        batch.append((statements.insert, parameters))
    else:
        batch.append((statements.earlier, {**account, "request_id": parameters["request_id"]}))
        batch.append((statements.insert_new_request, parameters))
    (lock_row,), *found, inserted = driver_batch(connection, batch)
    postpaid, arrears, package_state = (
        value if process is None else process(value)
        for process, value in zip(statements.results, lock_row, strict=True)
    )
    billing = Billing(postpaid=bool(postpaid), arrears=bool(arrears), package_state=str(package_state))
    earlier = None
    if found and found[0]:
        ((sdk_app_id, name, description),) = found[0]
        earlier = Earlier(sdk_app_id=int(sdk_app_id), name=str(name), description=str(description))
    return Created(billing=billing, earlier=earlier, sdk_app_id=int(inserted[0][0]) if inserted else None)
