"""API keys: their format and hashing, authentication of every call, and the caller's own keys.

An API key is ``rtc_<key id>_<secret>``. Only the SHA-256 of the secret is
stored: the secret has 256 bits of entropy, so a slow password hash would add
latency to every call and no protection (docs/decisions/0003-api-key-hashing.md).
A verified key stays cached in the process for :data:`_CACHE_SECONDS`.

An account holds at most :data:`API_KEY_QUOTA` live keys (issue 10 §5); the count
is taken under the account's row lock, so concurrent creates cannot pass it.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import threading
import time
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import and_, func, or_, select

from rtcconsole_server.clock import Clock
from rtcconsole_server.domain.common import Caller, Page, PageTokens, instant_position, page_size
from rtcconsole_server.errors import (
    FailedPrecondition,
    FieldViolation,
    InvalidArgument,
    NotFound,
    PreconditionViolation,
    QuotaExceeded,
    Unauthenticated,
)
from rtcconsole_server.store import Store
from rtcconsole_server.store.models import Account, ApiKey

__all__ = [
    "API_KEY_QUOTA",
    "ApiKeyView",
    "ApiKeys",
    "IssuedKey",
    "check_display_name",
    "new_key",
    "sha256_hex",
]

API_KEY_QUOTA = 20
"""Live API keys an account may hold at once (revoked keys do not count): the
21st ``CreateApiKey`` is ``RESOURCE_EXHAUSTED`` with a ``QuotaFailure``; revoking
a key frees its slot at once."""

_KEY_PREFIX = "rtc"
_LAST_USED_GRANULARITY = timedelta(minutes=1)
_CACHE_SECONDS = 10.0
"""How long a verified key stays cached in this process; a revocation made on
another replica takes at most this long to reach this one."""


@dataclass(frozen=True)
class IssuedKey:
    """A newly created key: ``api_key`` is shown once and never stored."""

    account_id: int
    key_id: str
    api_key: str
    display_name: str
    created_at: datetime


@dataclass(frozen=True)
class ApiKeyView:
    key_id: str
    display_name: str
    created_at: datetime
    last_used_at: datetime | None


def sha256_hex(text: str) -> str:
    """Lower-case hex SHA-256 of ``text`` (UTF-8): how keys and tokens are stored."""
    return hashlib.sha256(text.encode()).hexdigest()


def new_key(account_id: int, display_name: str, now: datetime) -> tuple[ApiKey, IssuedKey]:
    """A new key of ``account_id``: the row to store (the secret's hash) and what is shown once."""
    key_id = secrets.token_hex(8)
    secret = secrets.token_urlsafe(32)
    row = ApiKey(
        key_id=key_id,
        account_id=account_id,
        secret_sha256=sha256_hex(secret),
        display_name=display_name,
        created_at=now,
    )
    issued = IssuedKey(account_id, key_id, f"{_KEY_PREFIX}_{key_id}_{secret}", display_name, now)
    return row, issued


def check_display_name(display_name: str, field: str) -> None:
    """``InvalidArgument`` on ``field`` unless ``display_name`` is at most 64 printable characters."""
    if len(display_name) > 64 or not display_name.isprintable():
        raise InvalidArgument(FieldViolation(field, "must be at most 64 printable characters"))


class ApiKeys:
    """Authentication by API key, and the API keys of the caller's account (tenant side)."""

    def __init__(self, store: Store, clock: Clock, *, tokens: PageTokens | None = None) -> None:
        self._store = store
        self._clock = clock
        self._tokens = tokens or PageTokens.ephemeral()
        self._cache: dict[str, tuple[str, int, float]] = {}
        self._cache_lock = threading.Lock()

    # -- authentication -------------------------------------------------------------

    @staticmethod
    def _parse(api_key: str) -> tuple[str, str]:
        parts = api_key.split("_", 2)
        if len(parts) != 3 or parts[0] != _KEY_PREFIX or not parts[1] or not parts[2]:
            raise Unauthenticated("invalid API key")
        return parts[1], sha256_hex(parts[2])

    def authenticate_cached(self, api_key: str) -> Caller | None:
        """The caller if this process verified ``api_key`` recently, without I/O; None if it must look."""
        key_id, secret_hash = self._parse(api_key)
        with self._cache_lock:
            cached = self._cache.get(key_id)
        if cached is None or cached[2] <= time.monotonic():
            return None
        if not hmac.compare_digest(cached[0], secret_hash):
            raise Unauthenticated("invalid API key")
        return Caller(cached[1], key_id)

    def authenticate(self, api_key: str) -> Caller:
        """The caller behind ``api_key``, or ``Unauthenticated`` (never saying which part was wrong)."""
        cached = self.authenticate_cached(api_key)
        if cached is not None:
            return cached
        key_id, secret_hash = self._parse(api_key)
        now = self._clock.now()
        with self._store.read() as session:
            row = session.get(ApiKey, key_id)
            valid = row is not None and row.revoked_at is None
            if row is None or not hmac.compare_digest(row.secret_sha256, secret_hash) or not valid:
                raise Unauthenticated("invalid API key")
            account_id, stale = (
                row.account_id,
                row.last_used_at is None or (now - row.last_used_at >= _LAST_USED_GRANULARITY),
            )
        if stale:
            with self._store.write() as session:
                fresh = session.get(ApiKey, key_id)
                if fresh is not None:
                    fresh.last_used_at = now
        with self._cache_lock:
            self._cache[key_id] = (secret_hash, account_id, time.monotonic() + _CACHE_SECONDS)
        return Caller(account_id, key_id)

    # -- API keys of the caller ------------------------------------------------------

    def create_key(self, caller: Caller, display_name: str) -> IssuedKey:
        """A new key of the caller's account, within :data:`API_KEY_QUOTA`."""
        check_display_name(display_name, "display_name")
        with self._store.write() as session:
            # The account row lock serialises key creates of one account on PostgreSQL;
            # on SQLite BEGIN IMMEDIATE already serialises every writer.
            session.execute(select(Account.id).where(Account.id == caller.account_id).with_for_update())
            live = session.scalar(
                select(func.count())
                .select_from(ApiKey)
                .where(ApiKey.account_id == caller.account_id, ApiKey.revoked_at.is_(None))
            )
            assert live is not None
            if live >= API_KEY_QUOTA:
                raise QuotaExceeded(
                    subject=f"accounts/{caller.account_id}",
                    resource="api_keys",
                    limit=API_KEY_QUOTA,
                    current=live,
                )
            row, issued = new_key(caller.account_id, display_name, self._clock.now())
            session.add(row)
            return issued

    def list_keys(
        self, caller: Caller, *, page_size_requested: int = 0, page_token: str = ""
    ) -> Page[ApiKeyView]:
        """The caller's live keys, oldest first, ``page_size`` 1-100 (0 means 20)."""
        size = page_size(page_size_requested)
        filters: dict[str, object] = {}
        after = self._tokens.decode(page_token, "api_keys", filters, instant_position)
        conditions = [ApiKey.account_id == caller.account_id, ApiKey.revoked_at.is_(None)]
        if after is not None:
            created_at, key_id = after
            conditions.append(
                or_(
                    ApiKey.created_at > created_at,
                    and_(ApiKey.created_at == created_at, ApiKey.key_id > key_id),
                )
            )
        with self._store.read() as session:
            rows = session.scalars(
                select(ApiKey).where(*conditions).order_by(ApiKey.created_at, ApiKey.key_id).limit(size + 1)
            ).all()
            views = [ApiKeyView(r.key_id, r.display_name, r.created_at, r.last_used_at) for r in rows[:size]]
        token = ""
        if len(rows) > size:
            last = views[-1]
            token = self._tokens.encode("api_keys", [last.created_at.isoformat(), last.key_id], filters)
        return Page(views, token)

    def revoke_key(self, caller: Caller, key_id: str) -> None:
        if key_id == caller.key_id:
            raise FailedPrecondition(
                PreconditionViolation("API_KEY", f"api-keys/{key_id}", "a key cannot revoke itself")
            )
        with self._store.write() as session:
            row = session.get(ApiKey, key_id)
            if row is None or row.account_id != caller.account_id or row.revoked_at is not None:
                raise NotFound("api key", key_id)
            row.revoked_at = self._clock.now()
        with self._cache_lock:
            self._cache.pop(key_id, None)
