"""R7's secondary authentication: TOTP enrolment (RFC 6238) and 30-minute tokens.

A TOTP code is accepted once: the time step it belongs to is remembered, and a
code of that step or an earlier one is refused afterwards. Codes of the
previous, current and next 30-second step are accepted (clock drift).
"""

from __future__ import annotations

import hmac
import secrets
from datetime import datetime, timedelta

import pyotp
from sqlalchemy import delete, select

from rtcconsole_server.clock import Clock
from rtcconsole_server.domain.auth._accounts import sha256_hex
from rtcconsole_server.domain.common import Caller
from rtcconsole_server.errors import (
    FailedPrecondition,
    FieldViolation,
    InvalidArgument,
    PermissionDenied,
    PreconditionViolation,
)
from rtcconsole_server.store import Store
from rtcconsole_server.store.models import Account, SecondaryAuthToken

__all__ = ["SecondaryAuth"]

_DRIFT_STEPS = 1


def _accepted_step(secret: str, code: str, now: datetime) -> int | None:
    """The time step whose code is ``code``, within the drift window, or None."""
    totp = pyotp.TOTP(secret)
    current = totp.timecode(now)
    for step in range(current - _DRIFT_STEPS, current + _DRIFT_STEPS + 1):
        if hmac.compare_digest(totp.generate_otp(step), code):
            return step
    return None


class SecondaryAuth:
    """TOTP enrolment and secondary-authentication tokens of the caller's account."""

    def __init__(self, store: Store, clock: Clock, *, ttl: timedelta, issuer: str) -> None:
        self._store = store
        self._clock = clock
        self._ttl = ttl
        self._issuer = issuer

    def _use_code(self, account: Account, code: str, field: str) -> None:
        """Accept ``code`` once for ``account`` (whose row the caller holds for update)."""
        if not (len(code) == 6 and code.isdigit()):
            raise InvalidArgument(FieldViolation(field, "must be the 6-digit code of the authenticator"))
        assert account.totp_secret is not None
        step = _accepted_step(account.totp_secret, code, self._clock.now())
        if step is None or (account.totp_last_step is not None and step <= account.totp_last_step):
            raise PermissionDenied("the TOTP code is wrong, expired or already used")
        account.totp_last_step = step

    def enroll(self, caller: Caller, code: str = "") -> str:
        """A new TOTP seed for the account, as an otpauth:// URI (shown once).

        The first enrolment needs no code; replacing an enrolled seed needs a
        valid code of the current one.
        """
        with self._store.write() as session:
            account = session.scalars(
                select(Account).where(Account.id == caller.account_id).with_for_update()
            ).one()
            if account.totp_secret is not None:
                if not code:
                    raise FailedPrecondition(
                        PreconditionViolation(
                            "TOTP_ENROLLED",
                            f"accounts/{caller.account_id}",
                            "an authenticator is already enrolled; re-enrolling needs its current code",
                        )
                    )
                self._use_code(account, code, "totp_code")
            secret = pyotp.random_base32()
            account.totp_secret = secret
            account.totp_last_step = None
            name = account.name
        return pyotp.TOTP(secret).provisioning_uri(name=name, issuer_name=self._issuer)

    def create_token(self, caller: Caller, code: str) -> tuple[str, datetime]:
        """Exchange a TOTP code for a token valid ``ttl`` (30 minutes, R7)."""
        now = self._clock.now()
        with self._store.write() as session:
            account = session.scalars(
                select(Account).where(Account.id == caller.account_id).with_for_update()
            ).one()
            if account.totp_secret is None:
                raise FailedPrecondition(
                    PreconditionViolation(
                        "TOTP_NOT_ENROLLED",
                        f"accounts/{caller.account_id}",
                        "enrol an authenticator first (AuthService.EnrollTotp)",
                    )
                )
            self._use_code(account, code, "totp_code")
            token = secrets.token_urlsafe(32)
            expires_at = now + self._ttl
            session.execute(
                delete(SecondaryAuthToken).where(
                    SecondaryAuthToken.account_id == caller.account_id, SecondaryAuthToken.expires_at <= now
                )
            )
            session.add(
                SecondaryAuthToken(
                    token_sha256=sha256_hex(token),
                    account_id=caller.account_id,
                    created_at=now,
                    expires_at=expires_at,
                )
            )
        return token, expires_at

    def require(self, caller: Caller, token: str, *, field: str = "secondary_auth_token") -> None:
        """Raise unless ``token`` is a live secondary-authentication token of the caller (R7)."""
        if not token:
            raise InvalidArgument(
                FieldViolation(field, "is required: get one from AuthService.CreateSecondaryAuth (R7)")
            )
        with self._store.read() as session:
            row = session.get(SecondaryAuthToken, sha256_hex(token))
            valid = (
                row is not None and row.account_id == caller.account_id and self._clock.now() < row.expires_at
            )
        if not valid:
            raise PermissionDenied(
                "the secondary authentication is missing, expired or not this account's (R7)"
            )
