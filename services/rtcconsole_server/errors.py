"""The domain's exceptions. The domain raises these and knows nothing of gRPC;
``api/errors.py`` maps each class to a status code and ``google.rpc`` details
in one table.

    RtcError
     ├── InvalidArgument      a field breaks a rule (R2, R9, …): field violations (+ ErrorInfo past a limit)
     ├── NotFound             no such resource for this account (also another account's)
     ├── AlreadyExists        an id is taken, or reused with a different payload
     ├── FailedPrecondition   the state forbids it (delete a NORMAL app, R7): precondition violations
     ├── QuotaExceeded        a limit is reached (R1): limit and current count
     ├── Unauthenticated      no or unknown credential
     ├── PermissionDenied     a credential that may not do this
     ├── Aborted              lost a race with a concurrent change; safe to retry
     ├── StatementTimeout     a store statement ran past its time budget (DEADLINE_EXCEEDED)
     └── LockedOut            too many failed attempts; retry after a delay (RetryInfo)
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import timedelta

__all__ = [
    "Aborted",
    "AlreadyExists",
    "FailedPrecondition",
    "FieldViolation",
    "InvalidArgument",
    "LockedOut",
    "NotFound",
    "PermissionDenied",
    "PreconditionViolation",
    "QuotaExceeded",
    "RtcError",
    "StatementTimeout",
    "Unauthenticated",
]


@dataclass(frozen=True)
class FieldViolation:
    """One field and the rule it breaks. ``field`` is a proto field path such as ``app.name``."""

    field: str
    description: str


@dataclass(frozen=True)
class PreconditionViolation:
    """One unmet condition: ``type`` is a stable code (``APP_STATUS``, ``CSS_SERVICE``),
    ``subject`` what it is about (``apps/1400000001``), ``description`` for people."""

    type: str
    subject: str
    description: str


class RtcError(Exception):
    """Base of every error the domain raises on purpose."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class InvalidArgument(RtcError):
    """The request breaks a rule; ``violations`` names each field.

    A request beyond a documented limit (R18's 5-hour details range) also sets ``reason``, a
    stable code such as ``DETAILS_RANGE_TOO_LONG``, and ``metadata`` (the limit, the value
    asked for): the status then carries an ``ErrorInfo`` besides its ``BadRequest``.
    """

    def __init__(
        self,
        violations: list[FieldViolation] | FieldViolation,
        message: str | None = None,
        *,
        reason: str = "",
        metadata: Mapping[str, str] | None = None,
    ) -> None:
        self.violations = [violations] if isinstance(violations, FieldViolation) else list(violations)
        self.reason = reason
        self.metadata = dict(metadata or {})
        super().__init__(message or "; ".join(f"{v.field}: {v.description}" for v in self.violations))


class NotFound(RtcError):
    """The resource does not exist, or belongs to another account (indistinguishable)."""

    def __init__(self, resource_type: str, resource_name: str) -> None:
        self.resource_type = resource_type
        self.resource_name = resource_name
        super().__init__(f"{resource_type} {resource_name} not found")


class AlreadyExists(RtcError):
    """The resource exists, or an idempotency key was reused with a different payload."""

    def __init__(
        self, resource_type: str, resource_name: str, message: str, *, others: Sequence[str] = ()
    ) -> None:
        self.resource_type = resource_type
        self.resource_name = resource_name
        self.others = tuple(others)
        """Further resources of the same type in the same conflict (a batch reusing several ids)."""
        super().__init__(message)


class FailedPrecondition(RtcError):
    """The current state forbids the request; ``violations`` says which condition.

    A condition a client acts on by its code (R21's ``EDITION_REQUIRED``) also sets ``reason``
    and ``metadata``: the status then carries an ``ErrorInfo`` besides its ``PreconditionFailure``.
    """

    def __init__(
        self,
        violations: list[PreconditionViolation] | PreconditionViolation,
        *,
        reason: str = "",
        metadata: Mapping[str, str] | None = None,
    ) -> None:
        self.violations = [violations] if isinstance(violations, PreconditionViolation) else list(violations)
        self.reason = reason
        self.metadata = dict(metadata or {})
        super().__init__("; ".join(v.description for v in self.violations))


class QuotaExceeded(RtcError):
    """A limit is reached: ``limit`` and ``current`` count of ``subject``'s ``resource``."""

    def __init__(self, *, subject: str, resource: str, limit: int, current: int) -> None:
        self.subject = subject
        self.resource = resource
        self.limit = limit
        self.current = current
        super().__init__(f"{subject} has {current} {resource}; the limit is {limit}")


class Unauthenticated(RtcError):
    """Missing, malformed or unknown credential."""


class PermissionDenied(RtcError):
    """The credential is valid but may not make this call."""


class Aborted(RtcError):
    """A concurrent change won; the caller may retry."""


class StatementTimeout(RtcError):
    """A store statement ran past its time budget and was cancelled (DEADLINE_EXCEEDED).

    ``budget`` is the store's ``statement_timeout``. The request asked for more work than
    one call may do: narrow its filters or range.
    """

    def __init__(self, budget: timedelta) -> None:
        self.budget = budget
        super().__init__(
            f"the request took longer than the store's budget of {budget.total_seconds():g} s "
            "per statement and was cancelled; narrow it"
        )


class LockedOut(RtcError):
    """Too many failed attempts: refused until ``until`` (RESOURCE_EXHAUSTED with RetryInfo).

    ``subject`` is what is locked (e.g. ``accounts/7/totp``), ``retry_after`` how long
    from now the caller should wait.
    """

    def __init__(self, *, subject: str, retry_after: timedelta, reason: str) -> None:
        self.subject = subject
        self.retry_after = retry_after
        super().__init__(f"{reason}; try again in {max(1, round(retry_after.total_seconds()))} s")
