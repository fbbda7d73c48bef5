"""Packages and the billing state of an account (R6), recomputed from settled usage.

An account with packages is *metered*: its ``package_state`` is computed from
its packages and its settled interactive audio/video usage (``usage_days``,
kept by the aggregator) every time something it depends on changes: an
operator adds a package or flips a flag (here, at once), usage is rolled up or
a package starts or ends (the aggregator's tick, :meth:`Billing.evaluate`).
An account without packages is not metered: its state stays what the operator
set. ``domain/apps.stop_reasons`` turns the state into STOPPED apps.

The computation itself is pure (``usage_math``): the state is a function of the
packages, the rolled-up usage and the time, so evaluating twice, or on two
replicas at once, gives the same answer; the account row is locked while the
new state is written.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session

from rtcconsole_server.clock import Clock
from rtcconsole_server.domain.usage._math import (
    PackageTerm,
    allocate,
    consumption_order,
    day_start,
    equivalent_minutes,
    package_state,
)
from rtcconsole_server.domain.usage._query import INTERACTIVE_AV, read_data_through
from rtcconsole_server.errors import (
    FailedPrecondition,
    FieldViolation,
    InvalidArgument,
    NotFound,
    PreconditionViolation,
)
from rtcconsole_server.store import Store
from rtcconsole_server.store.models import Account
from rtcconsole_server.store.models_usage import Package, UsageDay

__all__ = ["MAX_PACKAGE_MINUTES", "Billing", "BillingView", "PackageView"]

MAX_PACKAGE_MINUTES = 10**12
"""Largest package, in equivalent minutes."""


@dataclass(frozen=True)
class PackageView:
    package_id: int
    minutes: int
    """Equivalent minutes bought or granted."""
    used_minutes: int
    """Equivalent minutes consumed so far (never above ``minutes``)."""
    valid_from: datetime
    valid_to: datetime
    """Exclusive."""
    in_force: bool

    @property
    def remaining_minutes(self) -> int:
        return self.minutes - self.used_minutes


@dataclass(frozen=True)
class BillingView:
    """The R6 state of an account and its packages in consumption order."""

    account_id: int
    postpaid: bool
    arrears: bool
    package_state: str
    """``ok``, ``used_up`` or ``expired``: the stored state the apps' status follows."""
    metered: bool
    """The account has packages, so ``package_state`` is computed from them."""
    packages: tuple[PackageView, ...]
    uncovered_minutes: int
    """Equivalent minutes of settled usage that no package covered."""
    data_through: datetime | None
    """How far the rolled-up usage behind ``used_minutes`` reaches."""


@dataclass(frozen=True)
class _Computed:
    terms: list[PackageTerm]
    used: dict[int, int]
    uncovered: int
    state: str | None


def _lock_account(session: Session, account_id: int) -> Account:
    account = session.scalars(select(Account).where(Account.id == account_id).with_for_update()).first()
    if account is None:
        raise NotFound("account", str(account_id))
    return account


def _compute(session: Session, account_id: int, now: datetime) -> _Computed:
    """Allocate the account's settled usage to its packages and derive the state at ``now``."""
    terms = [
        PackageTerm(p.id, p.minutes, p.valid_from, p.valid_to)
        for p in session.scalars(select(Package).where(Package.account_id == account_id))
    ]
    if not terms:
        return _Computed([], {}, 0, None)
    first = day_start(min(t.valid_from for t in terms))
    last = max(t.valid_to for t in terms)
    per_day: dict[datetime, dict[str, int]] = defaultdict(dict)
    rows = session.execute(
        select(UsageDay.day, UsageDay.category, func.sum(UsageDay.seconds))
        .where(
            UsageDay.account_id == account_id,
            UsageDay.kind == INTERACTIVE_AV,
            UsageDay.day >= first,
            UsageDay.day < last,
        )
        .group_by(UsageDay.day, UsageDay.category)
    )
    for day, category, seconds in rows:
        per_day[day][category] = int(seconds)
    allocation = allocate(terms, {day: equivalent_minutes(c) for day, c in per_day.items()})
    return _Computed(terms, allocation.used, allocation.uncovered, package_state(terms, allocation.used, now))


def _view(session: Session, account: Account, computed: _Computed, now: datetime) -> BillingView:
    packages = tuple(
        PackageView(
            t.package_id, t.minutes, computed.used[t.package_id], t.valid_from, t.valid_to, t.in_force(now)
        )
        for t in consumption_order(computed.terms)
    )
    return BillingView(
        account_id=account.id,
        postpaid=account.postpaid,
        arrears=account.arrears,
        package_state=account.package_state,
        metered=bool(packages),
        packages=packages,
        uncovered_minutes=computed.uncovered,
        data_through=read_data_through(session),
    )


class Billing:
    """Packages (operator side), the billing view (tenant side) and the state's evaluation."""

    def __init__(self, store: Store, clock: Clock) -> None:
        self._store = store
        self._clock = clock

    def add_package(
        self, account_id: int, *, minutes: int, valid_from: datetime, valid_to: datetime
    ) -> BillingView:
        """Give the account ``minutes`` equivalent minutes valid over [valid_from, valid_to); re-evaluate."""
        problems = []
        if not 1 <= minutes <= MAX_PACKAGE_MINUTES:
            problems.append(FieldViolation("minutes", f"must be 1-{MAX_PACKAGE_MINUTES:,}"))
        if valid_from.tzinfo is None or valid_to.tzinfo is None:
            problems.append(FieldViolation("valid_from", "times must carry a time zone"))
        elif valid_to <= valid_from:
            problems.append(FieldViolation("valid_to", "must be after valid_from"))
        if problems:
            raise InvalidArgument(problems)
        now = self._clock.now()
        with self._store.write() as session:
            account = _lock_account(session, account_id)
            session.add(
                Package(
                    account_id=account_id,
                    minutes=minutes,
                    valid_from=valid_from,
                    valid_to=valid_to,
                    created_at=now,
                )
            )
            session.flush()
            return self._settle(session, account, now)

    def set_flags(
        self,
        account_id: int,
        *,
        postpaid: bool | None = None,
        arrears: bool | None = None,
        package_state: str | None = None,
    ) -> BillingView:
        """Set the operator's R6 inputs (None leaves one as it is) and re-evaluate at once.

        ``package_state`` may be set only on an account without packages; with
        packages it is computed (``FailedPrecondition``).
        """
        if package_state is not None and package_state not in ("ok", "used_up", "expired"):
            raise InvalidArgument(FieldViolation("package_state", "must be ok, used_up or expired"))
        now = self._clock.now()
        with self._store.write() as session:
            account = _lock_account(session, account_id)
            if package_state is not None:
                metered = select(Package.id).where(Package.account_id == account_id).limit(1)
                if session.scalar(metered) is not None:
                    raise FailedPrecondition(
                        PreconditionViolation(
                            "ACCOUNT_METERED",
                            f"accounts/{account_id}",
                            "the account has packages, so its package state is computed from them "
                            "(docs/usage.md); add a package or turn postpaid on instead",
                        )
                    )
                account.package_state = package_state
            if postpaid is not None:
                account.postpaid = postpaid
            if arrears is not None:
                account.arrears = arrears
            return self._settle(session, account, now)

    def view(self, account_id: int) -> BillingView:
        """The account's billing state with each package's consumption (reads only)."""
        now = self._clock.now()
        with self._store.read() as session:
            account = session.get(Account, account_id)
            if account is None:
                raise NotFound("account", str(account_id))
            return _view(session, account, _compute(session, account_id, now), now)

    def evaluate(self, account_id: int, *, now: datetime | None = None) -> str:
        """Recompute a metered account's state at ``now`` (default: the clock) and store it."""
        at = now or self._clock.now()
        with self._store.write() as session:
            return self._settle(session, _lock_account(session, account_id), at).package_state

    def evaluate_many(self, account_ids: Sequence[int], *, now: datetime | None = None) -> dict[int, str]:
        """:meth:`evaluate` each account in id order (one short transaction each)."""
        return {a: self.evaluate(a, now=now) for a in sorted(set(account_ids))}

    def metered_accounts(self) -> list[int]:
        """Every account that has at least one package."""
        with self._store.read() as session:
            return list(session.scalars(select(Package.account_id).distinct().order_by(Package.account_id)))

    def accounts_crossing(self, after: datetime, until: datetime) -> list[int]:
        """Accounts with a package starting or ending in (after, until]: their state may change by time."""
        with self._store.read() as session:
            crossing = or_(
                (Package.valid_from > after) & (Package.valid_from <= until),
                (Package.valid_to > after) & (Package.valid_to <= until),
            )
            return list(
                session.scalars(
                    select(Package.account_id).distinct().where(crossing).order_by(Package.account_id)
                )
            )

    @staticmethod
    def _settle(session: Session, account: Account, now: datetime) -> BillingView:
        """Store the computed state of a locked account (metered only) and return its view."""
        computed = _compute(session, account.id, now)
        if computed.state is not None and account.package_state != computed.state:
            account.package_state = computed.state
        return _view(session, account, computed, now)
