"""Accounts and their API keys: creation by the operator, authentication of every call.

An API key is ``rtc_<key id>_<secret>``. Only the SHA-256 of the secret is
stored: the secret has 256 bits of entropy, so a slow password hash would add
latency to every call and no protection (docs/decisions/0003-api-key-hashing.md).

An account holds at most :data:`API_KEY_QUOTA` live keys (issue 10 §5); the count
is taken under the account's row lock, so concurrent creates cannot pass it.

An account name follows :data:`ACCOUNT_NAME_RULE`, so that every command that takes
"account id or name" can take it as typed: no spaces or shell characters, no leading
``-`` (it would read as a flag), and never only digits (it would read as an id).
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import re
import secrets
import threading
import time
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import and_, delete, func, or_, select

from rtcconsole_server.clock import Clock
from rtcconsole_server.domain.common import Caller, Page, PageTokens, instant_position, page_size
from rtcconsole_server.errors import (
    AlreadyExists,
    FailedPrecondition,
    FieldViolation,
    InvalidArgument,
    NotFound,
    PreconditionViolation,
    QuotaExceeded,
    Unauthenticated,
)
from rtcconsole_server.store import Store
from rtcconsole_server.store.models import Account, ApiKey, SecondaryAuthToken

__all__ = [
    "ACCOUNT_NAME_RULE",
    "API_KEY_QUOTA",
    "Accounts",
    "ApiKeyView",
    "BillingState",
    "IssuedKey",
    "ServiceState",
    "TotpState",
    "sha256_hex",
]

log = logging.getLogger("rtcconsole_server.auth")

API_KEY_QUOTA = 20
"""Live API keys an account may hold at once (revoked keys do not count): the
21st ``CreateApiKey`` is ``RESOURCE_EXHAUSTED`` with a ``QuotaFailure``; revoking
a key frees its slot at once."""

ACCOUNT_NAME_RULE = (
    "must be 1-64 characters, each an English letter, a digit, '_', '-' or '.', starting with a "
    "letter, a digit or '_', and not only digits (those are account ids)"
)
"""The rule of an account name, in the words of the error that refuses one."""
_ACCOUNT_NAME = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.-]{0,63}")

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


@dataclass(frozen=True)
class TotpState:
    """The secondary-authentication state of an account, as the operator sees it (no secrets)."""

    active: bool
    """An authenticator is active (confirmed by a code)."""
    pending: bool
    """A seed was enrolled and awaits its first code."""
    failures: int
    """Wrong codes since the last success or lockout."""
    lockouts: int
    """Lockouts so far; each one lasts longer (docs/apps.md)."""
    locked_until: datetime | None
    """Until when attempts are refused; None or past when not locked."""


def _totp_state(account: Account) -> TotpState:
    return TotpState(
        active=account.totp_secret is not None,
        pending=account.totp_pending_secret is not None,
        failures=account.totp_failures,
        lockouts=account.totp_lockouts,
        locked_until=account.totp_locked_until,
    )


@dataclass(frozen=True)
class BillingState:
    """R6 inputs of an account, as the operator set them."""

    postpaid: bool
    arrears: bool
    package_state: str  # "ok", "used_up" or "expired"


@dataclass(frozen=True)
class ServiceState:
    """Which of the account's cloud services are active, as the operator set them (R12, R13)."""

    css_active: bool
    """Live streaming (CSS): needed to turn relayed push or cloud recording on."""
    vod_active: bool
    """Video on demand (VOD): needed to turn cloud recording on."""


def sha256_hex(text: str) -> str:
    """Lower-case hex SHA-256 of ``text`` (UTF-8): how keys and tokens are stored."""
    return hashlib.sha256(text.encode()).hexdigest()


def _new_key(account_id: int, display_name: str, now: datetime) -> tuple[ApiKey, IssuedKey]:
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


def _check_account_name(name: str) -> None:
    if _ACCOUNT_NAME.fullmatch(name) is None or name.isdigit():
        raise InvalidArgument(
            FieldViolation("name", ACCOUNT_NAME_RULE), f"account name {name!r} {ACCOUNT_NAME_RULE}"
        )


def _check_display_name(display_name: str, field: str) -> None:
    if len(display_name) > 64 or not display_name.isprintable():
        raise InvalidArgument(FieldViolation(field, "must be at most 64 printable characters"))


class Accounts:
    """Accounts (operator side) and API keys (tenant side)."""

    def __init__(self, store: Store, clock: Clock, *, tokens: PageTokens | None = None) -> None:
        self._store = store
        self._clock = clock
        self._tokens = tokens or PageTokens.ephemeral()
        self._cache: dict[str, tuple[str, int, float]] = {}
        self._cache_lock = threading.Lock()

    # -- operator -----------------------------------------------------------------

    def create(self, name: str) -> IssuedKey:
        """Create an account and its first API key; ``name`` follows :data:`ACCOUNT_NAME_RULE`."""
        _check_account_name(name)
        now = self._clock.now()
        with self._store.write() as session:
            if session.scalars(select(Account.id).where(Account.name == name)).first() is not None:
                raise AlreadyExists("account", name, f"an account named {name!r} already exists")
            account = Account(name=name, created_at=now, postpaid=False, arrears=False, package_state="ok")
            session.add(account)
            session.flush()
            row, issued = _new_key(account.id, "initial", now)
            session.add(row)
            return issued

    def find(self, name_or_id: str) -> int:
        """The id of the account named (or numbered) ``name_or_id``. Names from before
        :data:`ACCOUNT_NAME_RULE` are still found; a NUL (which no store holds) or an id
        beyond the id column's range is simply not found."""
        if "\x00" in name_or_id:
            raise NotFound("account", name_or_id)
        with self._store.read() as session:
            query = select(Account.id).where(Account.name == name_or_id)
            if name_or_id.isascii() and name_or_id.isdigit() and int(name_or_id) < 2**63:  # "²": isdigit()
                query = select(Account.id).where(
                    (Account.id == int(name_or_id)) | (Account.name == name_or_id)
                )
            found = session.scalars(query).first()
        if found is None:
            raise NotFound("account", name_or_id)
        return found

    def set_billing(
        self,
        account_id: int,
        *,
        postpaid: bool | None = None,
        arrears: bool | None = None,
        package_state: str | None = None,
    ) -> BillingState:
        """Set the R6 inputs; None leaves a field as it is."""
        if package_state is not None and package_state not in ("ok", "used_up", "expired"):
            raise InvalidArgument(FieldViolation("package_state", "must be ok, used_up or expired"))
        with self._store.write() as session:
            account = session.get(Account, account_id)
            if account is None:
                raise NotFound("account", str(account_id))
            if postpaid is not None:
                account.postpaid = postpaid
            if arrears is not None:
                account.arrears = arrears
            if package_state is not None:
                account.package_state = package_state
            return BillingState(account.postpaid, account.arrears, account.package_state)

    def set_services(
        self, account_id: int, *, css: bool | None = None, vod: bool | None = None
    ) -> ServiceState:
        """Activate or deactivate CSS and VOD; None leaves a service as it is.

        Only *turning on* relayed push or cloud recording checks these; turning a
        service off leaves every app's settings as they are (docs/config.md).
        """
        with self._store.write() as session:
            account = session.get(Account, account_id)
            if account is None:
                raise NotFound("account", str(account_id))
            if css is not None:
                account.css_active = css
            if vod is not None:
                account.vod_active = vod
            return ServiceState(account.css_active, account.vod_active)

    def totp_state(self, account_id: int) -> TotpState:
        """The account's secondary-authentication state (R7 lockout), for the operator."""
        with self._store.read() as session:
            account = session.get(Account, account_id)
            if account is None:
                raise NotFound("account", str(account_id))
            return _totp_state(account)

    def reset_totp(self, account_id: int, *, remove_authenticator: bool = False) -> TotpState:
        """Operator reset of secondary authentication: clear the failure count, the lockout
        count and any lock. With ``remove_authenticator`` also remove the active and any
        pending seed, and the account's live secondary-auth tokens, so that the account
        enrols again (``EnrollTotp``) - the only way to replace an active authenticator."""
        with self._store.write() as session:
            account = session.scalars(
                select(Account).where(Account.id == account_id).with_for_update()
            ).first()
            if account is None:
                raise NotFound("account", str(account_id))
            account.totp_failures = 0
            account.totp_lockouts = 0
            account.totp_locked_until = None
            if remove_authenticator:
                account.totp_secret = None
                account.totp_pending_secret = None
                account.totp_last_step = None
                session.execute(delete(SecondaryAuthToken).where(SecondaryAuthToken.account_id == account_id))
            state = _totp_state(account)
        log.warning(
            "operator reset secondary authentication of account %d (authenticator removed: %s)",
            account_id,
            "yes" if remove_authenticator else "no",
        )
        return state

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

    def identity(self, caller: Caller) -> tuple[str, bool, str, str]:
        """The caller's account name, whether a TOTP authenticator is enrolled, its time zone,
        its dashboard edition (R21: ``free``, ``basic`` or ``advanced``)."""
        with self._store.read() as session:
            account = session.get_one(Account, caller.account_id)
            return account.name, account.totp_secret is not None, account.time_zone, account.edition

    # -- API keys of the caller ------------------------------------------------------

    def create_key(self, caller: Caller, display_name: str) -> IssuedKey:
        """A new key of the caller's account, within :data:`API_KEY_QUOTA`."""
        _check_display_name(display_name, "display_name")
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
            row, issued = _new_key(caller.account_id, display_name, self._clock.now())
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
