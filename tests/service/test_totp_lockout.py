"""R7 secondary authentication cannot be brute-forced (issue 10 §4), over real gRPC on both backends.

Wrong codes are counted per account in the store; the 5th locks the account's
secondary authentication (15 minutes, doubling, at most 24 hours) and every
attempt while locked, a right code included, is RESOURCE_EXHAUSTED with a
RetryInfo. Enrolment is pending until the first right code; replacing an active
authenticator is the operator's reset. Time is a ManualClock: nothing sleeps.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Awaitable
from datetime import timedelta
from typing import Any

import grpc
import pyotp
import pytest
from google.rpc import error_details_pb2
from grpc_status import rpc_status

from rtcconsole.v1 import app_service_pb2 as app_pb
from rtcconsole.v1 import auth_service_pb2 as auth_pb
from rtcconsole_server.clock import ManualClock
from rtcconsole_server.domain.auth import (
    TOTP_LOCKOUT_FIRST,
    TOTP_LOCKOUT_MAX,
    TOTP_MAX_FAILURES,
    TotpState,
    check_totp_code,
    lockout_duration,
)
from rtcconsole_server.errors import InvalidArgument, NotFound
from rtcconsole_server.settings import Settings
from tests.support import Tenant, fails, totp_of

CODE = grpc.StatusCode


def _wrong(totp: pyotp.TOTP, clock: ManualClock) -> str:
    """Six ASCII digits that no step of the drift window (previous, current, next) accepts."""
    now = clock.now()
    valid = {totp.at(now + timedelta(seconds=s)) for s in (-30, 0, 30)}
    return next(c for c in ("000000", "111111", "222222", "333333") if c not in valid)


def _to(digits: str, zero: str) -> str:
    """``digits`` written with the ten digits that start at code point ``zero``."""
    return "".join(chr(ord(zero) + int(d)) for d in digits)


def _attempt(tenant: Tenant, code: str) -> Awaitable[auth_pb.CreateSecondaryAuthResponse]:
    return tenant.auth.CreateSecondaryAuth(
        auth_pb.CreateSecondaryAuthRequest(totp_code=code), metadata=tenant.metadata
    )


async def _outcome(call: Awaitable[Any]) -> tuple[grpc.StatusCode, timedelta | None]:
    """The call's status code and, when it carries one, its RetryInfo delay."""
    try:
        await call
    except grpc.aio.AioRpcError as error:
        status = rpc_status.from_call(error)  # type: ignore[arg-type]
        for packed in status.details if status else ():
            if packed.Is(error_details_pb2.RetryInfo.DESCRIPTOR):
                info = error_details_pb2.RetryInfo()
                packed.Unpack(info)
                return error.code(), info.retry_delay.ToTimedelta()
        return error.code(), None
    return CODE.OK, None


async def _try(tenant: Tenant, code: str) -> tuple[grpc.StatusCode, timedelta | None]:
    return await _outcome(_attempt(tenant, code))


async def _state(tenant: Tenant) -> TotpState:
    return await asyncio.to_thread(tenant.server.console.accounts.totp_state, tenant.account_id)


async def _active(tenant: Tenant, clock: ManualClock) -> pyotp.TOTP:
    """An enrolled authenticator, made active by its first code; the clock moved past that step."""
    totp = await tenant.enroll()
    await tenant.secondary_token(totp, clock)
    clock.advance(seconds=30)
    return totp


async def _lock(
    tenant: Tenant, totp: pyotp.TOTP, clock: ManualClock
) -> tuple[grpc.StatusCode, timedelta | None]:
    """Send TOTP_MAX_FAILURES wrong codes; the outcome of the last one."""
    for _ in range(TOTP_MAX_FAILURES - 1):
        assert (await _try(tenant, _wrong(totp, clock)))[0] == CODE.PERMISSION_DENIED
    return await _try(tenant, _wrong(totp, clock))


# -- the policy ---------------------------------------------------------------------------


def test_lockouts_double_from_15_minutes_up_to_24_hours() -> None:
    assert TOTP_MAX_FAILURES == 5
    assert [lockout_duration(n) for n in range(1, 5)] == [timedelta(minutes=m) for m in (15, 30, 60, 120)]
    assert lockout_duration(1) == TOTP_LOCKOUT_FIRST
    assert lockout_duration(7) == timedelta(hours=16)
    assert lockout_duration(8) == lockout_duration(10**6) == TOTP_LOCKOUT_MAX == timedelta(hours=24)


@pytest.mark.parametrize("code", ["123456", "000000", "999999"])
def test_six_ascii_digits_are_a_code(code: str) -> None:
    check_totp_code(code)


@pytest.mark.parametrize(
    "code",
    [
        _to("123456", "\uff10"),  # full-width: str.isdigit() and pyotp (NFKC) take them
        _to("123456", "\u0660"),  # Arabic-Indic
        _to("123456", "\u06f0"),  # extended Arabic-Indic (Persian)
        _to("123456", "\u0966"),  # Devanagari
        "\u00b9\u00b2\u00b3456",  # superscripts: isdigit() is True
        "12345",
        "1234567",
        " 12345",
        "12345\n",
        "+12345",
        "12 456",
        "",
    ],
)
def test_anything_else_is_invalid_argument_on_the_field(code: str) -> None:
    with pytest.raises(InvalidArgument) as raised:
        check_totp_code(code)
    assert [v.field for v in raised.value.violations] == ["totp_code"]


# -- lockout ----------------------------------------------------------------------------------


async def test_r7_five_wrong_codes_lock_even_the_right_one_out(tenant: Tenant, clock: ManualClock) -> None:
    totp = await _active(tenant, clock)
    code, retry = await _lock(tenant, totp, clock)
    assert (code, retry) == (CODE.RESOURCE_EXHAUSTED, timedelta(minutes=15))  # the 5th locks
    state = await _state(tenant)
    assert (state.failures, state.lockouts) == (0, 1)
    assert state.locked_until == clock.now() + timedelta(minutes=15)

    clock.advance(minutes=10)
    assert await _try(tenant, totp.at(clock.now())) == (CODE.RESOURCE_EXHAUSTED, timedelta(minutes=5))
    assert await _try(tenant, _wrong(totp, clock)) == (CODE.RESOURCE_EXHAUSTED, timedelta(minutes=5))
    assert (await _state(tenant)).failures == 0  # attempts while locked are refused unseen

    clock.advance(minutes=5)
    assert await _try(tenant, totp.at(clock.now())) == (CODE.OK, None)


async def test_r7_each_later_lockout_lasts_longer(tenant: Tenant, clock: ManualClock) -> None:
    totp = await _active(tenant, clock)
    for minutes in (15, 30, 60):
        assert await _lock(tenant, totp, clock) == (CODE.RESOURCE_EXHAUSTED, timedelta(minutes=minutes))
        clock.advance(minutes=minutes)
    assert (await _state(tenant)).lockouts == 3


async def test_r7_a_success_resets_the_failures_not_the_lockouts(tenant: Tenant, clock: ManualClock) -> None:
    totp = await _active(tenant, clock)
    for _ in range(TOTP_MAX_FAILURES - 1):
        await fails(_attempt(tenant, _wrong(totp, clock)), CODE.PERMISSION_DENIED)
    assert (await _state(tenant)).failures == TOTP_MAX_FAILURES - 1
    await tenant.secondary_token(totp, clock)
    assert (await _state(tenant)).failures == 0
    clock.advance(seconds=30)
    for _ in range(TOTP_MAX_FAILURES - 1):  # four more are not the fifth
        await fails(_attempt(tenant, _wrong(totp, clock)), CODE.PERMISSION_DENIED)

    await tenant.secondary_token(totp, clock)
    clock.advance(seconds=30)
    await _lock(tenant, totp, clock)
    clock.advance(minutes=15)
    await tenant.secondary_token(totp, clock)
    clock.advance(seconds=30)
    state = await _state(tenant)
    assert (state.failures, state.lockouts) == (0, 1)  # the next lockout will last 30 minutes
    assert await _lock(tenant, totp, clock) == (CODE.RESOURCE_EXHAUSTED, timedelta(minutes=30))


async def test_r7_a_reused_code_counts_as_a_failure(tenant: Tenant, clock: ManualClock) -> None:
    totp = await tenant.enroll()
    code = totp.at(clock.now())
    await tenant.auth.CreateSecondaryAuth(
        auth_pb.CreateSecondaryAuthRequest(totp_code=code), metadata=tenant.metadata
    )
    await fails(_attempt(tenant, code), CODE.PERMISSION_DENIED)
    assert (await _state(tenant)).failures == 1


async def test_r7_lockout_is_per_account(tenant: Tenant, other_tenant: Tenant, clock: ManualClock) -> None:
    totp = await _active(tenant, clock)
    theirs = await _active(other_tenant, clock)
    await _lock(tenant, totp, clock)
    assert await _try(other_tenant, theirs.at(clock.now())) == (CODE.OK, None)


async def test_r7_concurrent_wrong_codes_all_count(tenant: Tenant, clock: ManualClock) -> None:
    """Ten wrong codes at once: the 5th to be counted locks, the rest find the lock (no lost update)."""
    totp = await _active(tenant, clock)
    wrong = _wrong(totp, clock)
    outcomes = await asyncio.gather(*[_outcome(_attempt(tenant, wrong)) for _ in range(10)])
    codes = sorted(code.name for code, _ in outcomes)
    assert codes == ["PERMISSION_DENIED"] * 4 + ["RESOURCE_EXHAUSTED"] * 6
    state = await _state(tenant)
    assert (state.failures, state.lockouts) == (0, 1)


async def test_r7_concurrent_wrong_codes_are_counted_by_the_store(tenant: Tenant, clock: ManualClock) -> None:
    """Four at once stay under the limit and are all counted (an UPDATE +1 under the row lock)."""
    totp = await _active(tenant, clock)
    wrong = _wrong(totp, clock)
    outcomes = await asyncio.gather(*[_outcome(_attempt(tenant, wrong)) for _ in range(4)])
    assert {code for code, _ in outcomes} == {CODE.PERMISSION_DENIED}
    assert (await _state(tenant)).failures == 4


async def test_r7_a_lockout_is_logged_without_secrets(
    tenant: Tenant, clock: ManualClock, caplog: pytest.LogCaptureFixture
) -> None:
    totp = await _active(tenant, clock)
    wrong = _wrong(totp, clock)
    with caplog.at_level(logging.WARNING, logger="rtcconsole_server.auth"):
        await _lock(tenant, totp, clock)
    [record] = [r for r in caplog.records if r.name == "rtcconsole_server.auth"]
    assert record.levelno == logging.WARNING
    text = record.getMessage()
    assert f"account {tenant.account_id}" in text and "locked until" in text
    assert totp.secret not in caplog.text and wrong not in caplog.text and tenant.api_key not in caplog.text


# -- codes in other scripts -----------------------------------------------------------------


@pytest.mark.parametrize("zero", ["\uff10", "\u0660", "\u06f0", "\u0966"])
async def test_r7_codes_in_other_digits_are_invalid_argument(
    tenant: Tenant, clock: ManualClock, zero: str
) -> None:
    totp = await _active(tenant, clock)
    disguised = _to(totp.at(clock.now()), zero)  # the right code, in other digits
    failure = await fails(_attempt(tenant, disguised), CODE.INVALID_ARGUMENT)
    assert "totp_code" in failure.field_violations
    failure = await fails(
        tenant.auth.EnrollTotp(auth_pb.EnrollTotpRequest(totp_code=disguised), metadata=tenant.metadata),
        CODE.INVALID_ARGUMENT,
    )
    assert "totp_code" in failure.field_violations
    assert (await _state(tenant)).failures == 0  # a malformed code is not an attempt
    assert await _try(tenant, totp.at(clock.now())) == (CODE.OK, None)


# -- enrolment ------------------------------------------------------------------------------


async def _enrolled(tenant: Tenant) -> bool:
    me = await tenant.auth.GetCallerIdentity(auth_pb.GetCallerIdentityRequest(), metadata=tenant.metadata)
    return me.totp_enrolled


async def test_r7_an_enrolled_seed_is_pending_until_its_first_code(
    tenant: Tenant, clock: ManualClock
) -> None:
    totp = await tenant.enroll()
    state = await _state(tenant)
    assert (state.active, state.pending) == (False, True)
    assert not await _enrolled(tenant)
    await tenant.secondary_token(totp, clock)
    state = await _state(tenant)
    assert (state.active, state.pending) == (True, False)
    assert await _enrolled(tenant)


async def test_r7_enrolling_again_before_the_first_code_replaces_the_pending_seed(
    tenant: Tenant, clock: ManualClock
) -> None:
    first = await tenant.enroll()
    second = await tenant.enroll()
    assert first.secret != second.secret
    await fails(_attempt(tenant, first.at(clock.now())), CODE.PERMISSION_DENIED)
    assert await _try(tenant, second.at(clock.now())) == (CODE.OK, None)


async def test_r7_failures_before_activation_count_toward_the_lockout(
    tenant: Tenant, clock: ManualClock
) -> None:
    totp = await tenant.enroll()
    assert await _lock(tenant, totp, clock) == (CODE.RESOURCE_EXHAUSTED, timedelta(minutes=15))
    assert (await _try(tenant, totp.at(clock.now())))[0] == CODE.RESOURCE_EXHAUSTED
    assert not (await _state(tenant)).active
    await tenant.enroll()  # a new pending seed does not lift the lock
    assert (await _try(tenant, _wrong(totp, clock)))[0] == CODE.RESOURCE_EXHAUSTED


async def test_r7_enrolment_while_active_is_refused_and_tests_no_code(
    tenant: Tenant, clock: ManualClock
) -> None:
    totp = await _active(tenant, clock)
    for code in ("", _wrong(totp, clock), totp.at(clock.now())):
        failure = await fails(
            tenant.auth.EnrollTotp(auth_pb.EnrollTotpRequest(totp_code=code), metadata=tenant.metadata),
            CODE.FAILED_PRECONDITION,
        )
        [violation] = failure.details["google.rpc.PreconditionFailure"].violations
        assert (violation.type, violation.subject) == ("TOTP_ENROLLED", f"accounts/{tenant.account_id}")
        assert "operator" in violation.description
    assert (await _state(tenant)).failures == 0  # EnrollTotp is no oracle for codes
    assert await _try(tenant, totp.at(clock.now())) == (CODE.OK, None)  # the seed is unchanged


# -- the operator's reset -------------------------------------------------------------------


async def test_r7_the_operator_lifts_a_lockout(
    tenant: Tenant, clock: ManualClock, caplog: pytest.LogCaptureFixture
) -> None:
    totp = await _active(tenant, clock)
    for _ in range(2):
        await _lock(tenant, totp, clock)
        clock.advance(hours=1)
    await _lock(tenant, totp, clock)
    accounts = tenant.server.console.accounts
    with caplog.at_level(logging.WARNING, logger="rtcconsole_server.auth"):
        state = await asyncio.to_thread(accounts.reset_totp, tenant.account_id)
    assert state == TotpState(active=True, pending=False, failures=0, lockouts=0, locked_until=None)
    assert "reset secondary authentication" in caplog.text
    assert await _try(tenant, totp.at(clock.now())) == (CODE.OK, None)
    clock.advance(seconds=30)
    assert await _lock(tenant, totp, clock) == (CODE.RESOURCE_EXHAUSTED, timedelta(minutes=15))


async def test_r7_the_operator_removes_an_authenticator_and_its_tokens(
    tenant: Tenant, clock: ManualClock
) -> None:
    app = await tenant.create_app("guarded")
    old = await tenant.enroll()
    token = await tenant.secondary_token(old, clock)
    accounts = tenant.server.console.accounts
    state = await asyncio.to_thread(accounts.reset_totp, tenant.account_id, remove_authenticator=True)
    assert (state.active, state.pending) == (False, False)
    assert not await _enrolled(tenant)
    await fails(
        tenant.apps.DisableApp(
            app_pb.DisableAppRequest(sdk_app_id=app.sdk_app_id, secondary_auth_token=token),
            metadata=tenant.metadata,
        ),
        CODE.PERMISSION_DENIED,  # tokens of the removed authenticator died with it
    )
    await fails(_attempt(tenant, old.at(clock.now())), CODE.FAILED_PRECONDITION)  # nothing enrolled
    response = await tenant.auth.EnrollTotp(auth_pb.EnrollTotpRequest(), metadata=tenant.metadata)
    new = totp_of(response.otpauth_uri)
    assert new.secret != old.secret
    await tenant.secondary_token(new, clock)
    assert await _enrolled(tenant)


async def test_r7_resetting_an_unknown_account_is_not_found(tenant: Tenant) -> None:
    accounts = tenant.server.console.accounts
    with pytest.raises(NotFound):
        await asyncio.to_thread(accounts.reset_totp, tenant.account_id + 1000)


async def test_r7_the_operator_resets_from_the_command_line(
    tenant: Tenant, clock: ManualClock, settings: Settings, capsys: pytest.CaptureFixture[str]
) -> None:
    from rtcconsole_server.cli import main

    totp = await _active(tenant, clock)
    await _lock(tenant, totp, clock)
    argv = ["admin", "account", "totp-reset", "tenant-a", "--json", "--database-url", settings.database_url]
    assert await asyncio.to_thread(main, argv) == 0
    shown = json.loads(capsys.readouterr().out)
    assert shown.pop("store").split("://")[0] in ("sqlite", "postgresql+psycopg")  # which store (issue 11)
    assert shown == {
        "account_id": tenant.account_id,
        "active": True,
        "pending": False,
        "failures": 0,
        "lockouts": 0,
    }
    assert await _try(tenant, totp.at(clock.now())) == (CODE.OK, None)  # the lock is lifted at once
