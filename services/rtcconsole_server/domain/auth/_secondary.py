"""R7's secondary authentication: TOTP enrolment (RFC 6238), lockout, and 30-minute tokens.

A TOTP code is accepted once: the time step it belongs to is remembered, and a
code of that step or an earlier one is refused afterwards. Codes of the
previous, current and next 30-second step are accepted (clock drift). A code is
six ASCII digits ``0-9``; anything else (full-width or Arabic-Indic digits
included, which ``str.isdigit`` accepts) is ``INVALID_ARGUMENT`` on the field
before the store is touched, and is not counted as a failure.

Brute force (issue 10 §4): every wrong, expired or replayed code of an account
counts (``accounts.totp_failures``, incremented by one UPDATE under the row
lock, so concurrent wrong codes all count). The :data:`TOTP_MAX_FAILURES`-th
one locks the account's secondary authentication for
:func:`lockout_duration` (15 minutes, doubling with each later lockout, at most
24 hours) and resets the count; while locked every attempt, a right code
included, is :class:`~rtcconsole_server.errors.LockedOut` (``RESOURCE_EXHAUSTED``
with ``RetryInfo``). A success resets the failure count, never the lockout
count: only the operator does (``Accounts.reset_totp``).

Enrolment: ``EnrollTotp`` stores a *pending* seed; the first successful
``CreateSecondaryAuth`` with one of its codes makes it the active authenticator
(failures before that count toward the same lockout). While one is active,
``EnrollTotp`` is ``FAILED_PRECONDITION`` (``TOTP_ENROLLED``): replacing an
active authenticator is an operator action (``Accounts.reset_totp(...,
remove_authenticator=True)``), so an API key alone can neither replace it nor
use enrolment to test codes.
"""

from __future__ import annotations

import hmac
import logging
import re
import secrets
from datetime import datetime, timedelta

import pyotp
from sqlalchemy import delete, select, update
from sqlalchemy.orm import Session

from rtcconsole_server.clock import Clock
from rtcconsole_server.domain.auth._accounts import sha256_hex
from rtcconsole_server.domain.common import Caller
from rtcconsole_server.errors import (
    FailedPrecondition,
    FieldViolation,
    InvalidArgument,
    LockedOut,
    PermissionDenied,
    PreconditionViolation,
    RtcError,
)
from rtcconsole_server.store import Store
from rtcconsole_server.store.models import Account, SecondaryAuthToken

__all__ = [
    "TOTP_LOCKOUT_FIRST",
    "TOTP_LOCKOUT_MAX",
    "TOTP_MAX_FAILURES",
    "SecondaryAuth",
    "check_totp_code",
    "lockout_duration",
]

log = logging.getLogger("rtcconsole_server.auth")

_DRIFT_STEPS = 1
_CODE = re.compile(r"[0-9]{6}")

TOTP_MAX_FAILURES = 5
"""Wrong codes in a row (since the last success or lockout) that lock secondary authentication."""
TOTP_LOCKOUT_FIRST = timedelta(minutes=15)
"""How long the first lockout lasts; each later one lasts twice the one before."""
TOTP_LOCKOUT_MAX = timedelta(hours=24)
"""The longest a lockout lasts, however many came before."""


def lockout_duration(lockouts: int) -> timedelta:
    """How long the ``lockouts``-th lockout (1-based) lasts: 15 min × 2^(n-1), at most 24 h."""
    if lockouts <= 0:
        return timedelta(0)
    doubled: timedelta = TOTP_LOCKOUT_FIRST * (1 << min(lockouts - 1, 16))
    return min(doubled, TOTP_LOCKOUT_MAX)


def check_totp_code(code: str, field: str = "totp_code") -> None:
    """``InvalidArgument`` on ``field`` unless ``code`` is exactly six ASCII digits 0-9.

    ``str.isdigit`` (and pyotp, through NFKC) would take full-width digits, and
    the constant-time comparison raises on non-ASCII text: both are refused here.
    """
    if _CODE.fullmatch(code) is None:
        raise InvalidArgument(
            FieldViolation(field, "must be the 6-digit code of the authenticator, ASCII digits 0-9 only")
        )


def _accepted_step(secret: str, code: str, now: datetime) -> int | None:
    """The time step whose code is ``code``, within the drift window, or None."""
    totp = pyotp.TOTP(secret)
    current = totp.timecode(now)
    for step in range(current - _DRIFT_STEPS, current + _DRIFT_STEPS + 1):
        if hmac.compare_digest(totp.generate_otp(step).encode(), code.encode()):
            return step
    return None


def _subject(account_id: int) -> str:
    return f"accounts/{account_id}/totp"


def _locked(account_id: int, until: datetime, now: datetime) -> LockedOut:
    return LockedOut(
        subject=_subject(account_id),
        retry_after=until - now,
        reason=f"secondary authentication is locked after {TOTP_MAX_FAILURES} wrong TOTP codes",
    )


class SecondaryAuth:
    """TOTP enrolment and secondary-authentication tokens of the caller's account."""

    def __init__(self, store: Store, clock: Clock, *, ttl: timedelta, issuer: str) -> None:
        self._store = store
        self._clock = clock
        self._ttl = ttl
        self._issuer = issuer

    def enroll(self, caller: Caller, code: str = "") -> str:
        """A new, pending TOTP seed for the account, as an otpauth:// URI (shown once).

        The seed becomes the active authenticator with the first successful
        :meth:`create_token` using one of its codes; enrolling again before that
        replaces the pending seed. While an authenticator is active this is
        ``FailedPrecondition`` (``TOTP_ENROLLED``): replacing it is the operator's
        ``Accounts.reset_totp``. ``code`` is the deprecated ``EnrollTotpRequest.totp_code``:
        checked for shape when given, otherwise ignored (it is never compared with a seed).
        """
        if code:
            check_totp_code(code)
        with self._store.write() as session:
            account = session.scalars(
                select(Account).where(Account.id == caller.account_id).with_for_update()
            ).one()
            if account.totp_secret is not None:
                raise FailedPrecondition(
                    PreconditionViolation(
                        "TOTP_ENROLLED",
                        f"accounts/{caller.account_id}",
                        "an authenticator is already active; replacing it is an operator action "
                        "(rtc-console admin account totp-reset)",
                    )
                )
            secret = pyotp.random_base32()
            account.totp_pending_secret = secret
            account.totp_last_step = None
            name = account.name
        return pyotp.TOTP(secret).provisioning_uri(name=name, issuer_name=self._issuer)

    def create_token(self, caller: Caller, code: str) -> tuple[str, datetime]:
        """Exchange a TOTP code for a token valid ``ttl`` (30 minutes, R7).

        A code of the pending seed activates it. A wrong code is recorded before
        ``PermissionDenied`` (or ``LockedOut`` when it is the one that locks) is raised.
        """
        check_totp_code(code)
        now = self._clock.now()
        with self._store.read() as session:  # a flood while locked costs reads, not write transactions
            locked_until = session.scalar(
                select(Account.totp_locked_until).where(Account.id == caller.account_id)
            )
        if locked_until is not None and now < locked_until:
            raise _locked(caller.account_id, locked_until, now)
        refusal: RtcError | None = None
        issued: tuple[str, datetime] | None = None
        with self._store.write() as session:
            account = session.scalars(
                select(Account).where(Account.id == caller.account_id).with_for_update()
            ).one()
            if account.totp_locked_until is not None and now < account.totp_locked_until:
                raise _locked(caller.account_id, account.totp_locked_until, now)
            if account.totp_secret is None and account.totp_pending_secret is None:
                raise FailedPrecondition(
                    PreconditionViolation(
                        "TOTP_NOT_ENROLLED",
                        f"accounts/{caller.account_id}",
                        "enrol an authenticator first (AuthService.EnrollTotp)",
                    )
                )
            secret = account.totp_secret or account.totp_pending_secret
            assert secret is not None
            step = _accepted_step(secret, code, now)
            if step is None or (account.totp_last_step is not None and step <= account.totp_last_step):
                refusal = self._count_failure(session, caller.account_id, now)
            else:
                if account.totp_secret is None:  # the first code of a pending seed activates it
                    account.totp_secret = secret
                    account.totp_pending_secret = None
                    log.info("account %d activated its TOTP authenticator", caller.account_id)
                account.totp_last_step = step
                account.totp_failures = 0
                token = secrets.token_urlsafe(32)
                expires_at = now + self._ttl
                session.execute(
                    delete(SecondaryAuthToken).where(
                        SecondaryAuthToken.account_id == caller.account_id,
                        SecondaryAuthToken.expires_at <= now,
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
                issued = token, expires_at
        if refusal is not None:  # raised after the commit: the failure stays counted
            raise refusal
        assert issued is not None
        return issued

    @staticmethod
    def _count_failure(session: Session, account_id: int, now: datetime) -> RtcError:
        """Count one wrong code (atomically, in the store); lock on the last allowed one."""
        failures, lockouts = session.execute(
            update(Account)
            .where(Account.id == account_id)
            .values(totp_failures=Account.totp_failures + 1)
            .returning(Account.totp_failures, Account.totp_lockouts)
            .execution_options(synchronize_session=False)
        ).one()
        if failures < TOTP_MAX_FAILURES:
            return PermissionDenied("the TOTP code is wrong, expired or already used")
        lockouts += 1
        until = now + lockout_duration(lockouts)
        session.execute(
            update(Account)
            .where(Account.id == account_id)
            .values(totp_failures=0, totp_lockouts=lockouts, totp_locked_until=until)
            .execution_options(synchronize_session=False)
        )
        log.warning(
            "account %d: secondary authentication locked until %s after %d wrong TOTP codes (lockout %d, %s)",
            account_id,
            until.isoformat(),
            failures,
            lockouts,
            lockout_duration(lockouts),
        )
        return _locked(account_id, until, now)

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
