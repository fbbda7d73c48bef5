"""Accounts: creation by the operator, their billing and service state, secondary-auth resets.

An account name follows :data:`ACCOUNT_NAME_RULE`, so that every command that takes
"account id or name" can take it as typed: no spaces or shell characters, no leading
``-`` (it would read as a flag), and never only digits (it would read as an id).

:class:`Accounts` is also the tenant side of the accounts' API keys: it inherits
authentication and key management from ``_api_keys.ApiKeys``.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import delete, select

from rtcconsole_server.domain.auth._api_keys import (
    API_KEY_QUOTA,
    ApiKeys,
    ApiKeyView,
    IssuedKey,
    new_key,
    sha256_hex,
)
from rtcconsole_server.domain.common import Caller
from rtcconsole_server.errors import AlreadyExists, FieldViolation, InvalidArgument, NotFound
from rtcconsole_server.store.models import Account, SecondaryAuthToken

# API_KEY_QUOTA, ApiKeyView, IssuedKey and sha256_hex live in _api_keys; named here too for their callers
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

ACCOUNT_NAME_RULE = (
    "must be 1-64 characters, each an English letter, a digit, '_', '-' or '.', starting with a "
    "letter, a digit or '_', and not only digits (those are account ids)"
)
"""The rule of an account name, in the words of the error that refuses one."""
_ACCOUNT_NAME = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.-]{0,63}")


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


def _check_account_name(name: str) -> None:
    if _ACCOUNT_NAME.fullmatch(name) is None or name.isdigit():
        raise InvalidArgument(
            FieldViolation("name", ACCOUNT_NAME_RULE), f"account name {name!r} {ACCOUNT_NAME_RULE}"
        )


class Accounts(ApiKeys):
    """Accounts (operator side) and, from :class:`ApiKeys`, their API keys (tenant side)."""

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
            row, issued = new_key(account.id, "initial", now)
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

    # -- the caller's own account ------------------------------------------------------

    def identity(self, caller: Caller) -> tuple[str, bool, str, str]:
        """The caller's account name, whether a TOTP authenticator is enrolled, its time zone,
        its dashboard edition (R21: ``free``, ``basic`` or ``advanced``)."""
        with self._store.read() as session:
            account = session.get_one(Account, caller.account_id)
            return account.name, account.totp_secret is not None, account.time_zone, account.edition
