"""The ``rtcctl`` traps of issue 11, each held by a run of the real ``rtcctl`` against a real server.

In-process (``await amain([...])``) where the test's clock or store must move in between,
as a subprocess of the installed binary where the process boundary is the point (exit
status, ``--version``, an unreachable server).
"""

from __future__ import annotations

import asyncio
import json
import os
import socket
import subprocess
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from importlib import metadata
from pathlib import Path
from typing import Any

import pyotp
import pytest

from rtcconsole.cli import amain
from rtcconsole.cli._framework import EXIT_OK, EXIT_REFUSED, EXIT_REJECTED, EXIT_USAGE
from rtcconsole.cli._secondary import NEEDS_TOTP, cache_file
from rtcconsole.v1 import app_service_pb2 as app_pb
from rtcconsole_server.clock import ManualClock
from rtcconsole_server.server import Server
from tests.e2e.processes import BIN
from tests.support import Tenant, free_port
from tests.usage_support import ingest, record, tick


class Rtcctl:
    """``rtcctl --target … --api-key … ARGV`` in the test's loop: (status, stdout, stderr)."""

    def __init__(self, tenant: Tenant, capsys: pytest.CaptureFixture[str]) -> None:
        self.tenant = tenant
        self._capsys = capsys

    async def __call__(self, *argv: str) -> tuple[int, str, str]:
        self._capsys.readouterr()
        status = await amain(["--target", self.tenant.server.target, "--api-key", self.tenant.api_key, *argv])
        out, err = self._capsys.readouterr()
        assert self.tenant.api_key not in out + err
        return status, out, err

    async def json(self, *argv: str, expect: int = EXIT_OK) -> Any:
        """``ARGV --json``: the response (stdout), or the error object (stderr) when refused."""
        status, out, err = await self(*argv, "--json")
        assert status == expect, (argv, status, out, err)
        return json.loads(out if status in (EXIT_OK, EXIT_REJECTED) else err)


@pytest.fixture
def rtcctl(tenant: Tenant, capsys: pytest.CaptureFixture[str]) -> Rtcctl:
    return Rtcctl(tenant, capsys)


def _error_lines(err: str) -> list[str]:
    return [line for line in err.splitlines() if "error" in line.lower() and not line.startswith("  ")]


# -- --json prints every field; invalid tokens exit 3 (R22, R14) -------------------------


async def test_a_failed_usersig_verify_prints_valid_false_and_exits_3(rtcctl: Rtcctl) -> None:
    app = await rtcctl.tenant.create_app("verifying")
    sdk_app_id = str(app.sdk_app_id)
    sig = (await rtcctl.json("usersig", "gen", "--sdk-app-id", sdk_app_id, "--user", "alice"))["user_sig"]
    good = await rtcctl.json("usersig", "verify", "--sdk-app-id", sdk_app_id, "--user", "alice", "--sig", sig)
    assert good["valid"] is True
    argv = ("usersig", "verify", "--sdk-app-id", sdk_app_id, "--user", "bob", "--sig", sig)
    bad = await rtcctl.json(*argv, expect=EXIT_REJECTED)
    assert bad["valid"] is False  # a field at its default is printed, not left out
    assert bad["failure"] == "SIGNATURE_FAILURE_IDENTIFIER_MISMATCH"
    status, out, err = await rtcctl(*argv)  # the text form: the result, and status 3
    assert (status, err) == (EXIT_REJECTED, "")
    assert out.splitlines()[0].split() == ["valid:", "no", "(IDENTIFIER_MISMATCH)"]


async def test_a_failed_privatemapkey_verify_exits_3(rtcctl: Rtcctl) -> None:
    app = await rtcctl.tenant.create_app("tickets")
    room = ("--sdk-app-id", str(app.sdk_app_id), "--user", "alice")
    ticket = await rtcctl.json("privatemapkey", "gen", *room, "--room-id", "7", "--privileges", "enter-room")
    key = str(ticket["private_map_key"])
    ok = await rtcctl.json("privatemapkey", "verify", *room, "--key", key, "--room-id", "7")
    assert ok["valid"] is True
    other_room = await rtcctl.json(
        "privatemapkey", "verify", *room, "--key", key, "--room-id", "8", expect=EXIT_REJECTED
    )
    assert other_room["valid"] is False
    status, out, _ = await rtcctl("privatemapkey", "verify", *room, "--key", key, "--room-id", "8")
    assert status == EXIT_REJECTED and out.startswith("valid:")


async def test_billing_json_prints_postpaid_false(rtcctl: Rtcctl) -> None:
    billing = await rtcctl.json("usage", "billing")
    assert (billing["postpaid"], billing["arrears"]) == (False, False)
    assert billing["uncovered_minutes"] == "0"


# -- every error once; an unreachable server in one line ---------------------------------


async def test_a_server_refusal_is_printed_once(rtcctl: Rtcctl) -> None:
    status, out, err = await rtcctl("apps", "create", "--name", "bad-name")
    assert (status, out) == (EXIT_REFUSED, "")
    [line] = err.splitlines()  # the message is the field violation: no detail line repeats it
    assert line.startswith("error: INVALID_ARGUMENT: name: ") and "'-'" in line

    status, _, err = await rtcctl("apps", "create", "--name", "bad-name", "--description", "bad-text!")
    header, *details = err.splitlines()
    assert header == "error: INVALID_ARGUMENT: 2 fields are invalid"
    assert [d.split(":")[0].strip() for d in details] == ["name", "description"]

    status, _, err = await rtcctl("apps", "get", "1400999999")
    assert (status, err) == (EXIT_REFUSED, "error: NOT_FOUND: app 1400999999 not found\n")


async def test_a_bad_key_and_a_usage_error_are_printed_once(
    server: Server, capsys: pytest.CaptureFixture[str]
) -> None:
    assert await amain(["--target", server.target, "--api-key", "rtc_not_a_key", "apps", "get", "1"]) == 1
    assert capsys.readouterr().err == "error: UNAUTHENTICATED: invalid API key\n"
    assert await amain(["--target", server.target, "--api-key", "rtc_x", "apps", "update", "1"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("usage: rtcctl apps update ")
    assert _error_lines(err) == [
        "rtcctl apps update: error: nothing to update: give --name and/or --description"
    ]


@pytest.fixture
def closed_port() -> int:
    """A loopback port nothing listens on."""
    return free_port()


def _rtcctl(*argv: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    """The installed ``rtcctl`` binary, run to completion."""
    return subprocess.run(
        [str(BIN / "rtcctl"), *argv], capture_output=True, text=True, timeout=60, check=False, env=env
    )


def test_an_unreachable_server_is_one_line_that_says_what_to_do(closed_port: int) -> None:
    target = f"127.0.0.1:{closed_port}"
    done = _rtcctl("--target", target, "--api-key", "rtc_x", "apps", "list")
    assert (done.returncode, done.stdout) == (EXIT_REFUSED, "")
    [line] = done.stderr.splitlines()
    assert line == (
        f"rtcctl: cannot reach rtc-console at {target} (connection refused): "
        "is `rtc-console serve` running there? set RTC_TARGET or --target"
    )
    as_json = _rtcctl("--target", target, "--api-key", "rtc_x", "apps", "list", "--json")
    assert as_json.returncode == EXIT_REFUSED
    error = json.loads(as_json.stderr)["error"]
    assert error["code"] == "UNAVAILABLE" and target in error["message"] and "RTC_TARGET" in error["message"]


async def test_tls_to_a_plaintext_server_is_one_line_too(server: Server) -> None:
    """gRPC's C core logs a failed handshake on stderr by itself; rtcctl keeps it quiet (the one
    line says it all) unless GRPC_VERBOSITY asks for more."""
    process = await asyncio.create_subprocess_exec(
        str(BIN / "rtcctl"), "--target", server.target, "--api-key", "rtc_x", "--secure", "apps", "list",
        stdout=subprocess.PIPE, stderr=subprocess.PIPE,
        env={k: v for k, v in os.environ.items() if k != "GRPC_VERBOSITY"},  # rtcctl's default
    )  # fmt: skip
    out, err = await asyncio.wait_for(process.communicate(), timeout=60)
    assert (process.returncode, out) == (EXIT_REFUSED, b"")
    assert err.decode().splitlines() == [
        f"rtcctl: cannot reach rtc-console at {server.target} (TLS handshake failed): it does not speak TLS: "
        "drop --secure"
    ]


@pytest.fixture
def silent_port() -> Iterator[int]:
    """A loopback port that accepts TCP connections and never answers (a hung server)."""
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen(8)
        yield int(listener.getsockname()[1])


def test_a_deadline_names_the_timeout(silent_port: int) -> None:
    target = f"127.0.0.1:{silent_port}"
    done = _rtcctl("--target", target, "--api-key", "rtc_x", "--timeout", "0.5", "apps", "list")
    assert done.returncode == EXIT_REFUSED
    [line] = done.stderr.splitlines()
    assert line.startswith(f"rtcctl: no answer from rtc-console at {target} within --timeout 0.5 seconds")
    assert "raise --timeout" in line


# -- R7: --totp optional while a kept token is valid, and never ignored -------------------


def _wrong_code(totp: pyotp.TOTP, at: datetime) -> str:
    """A six-digit code that no window near ``at`` accepts."""
    near = {totp.at(at + timedelta(seconds=30 * step)) for step in (-2, -1, 0, 1, 2)}
    return next(code for code in (f"{n:06d}" for n in range(1_000_000)) if code not in near)


async def _status(tenant: Tenant, sdk_app_id: int) -> tuple[int, int]:
    app = await tenant.get_app(sdk_app_id)
    return app.status, app.pending_transition


async def test_r7_a_given_code_is_always_checked_even_with_a_kept_token(
    rtcctl: Rtcctl, clock: ManualClock
) -> None:
    tenant = rtcctl.tenant
    first, second = (
        (await tenant.create_app("first")).sdk_app_id,
        (await tenant.create_app("second")).sdk_app_id,
    )
    totp = await tenant.enroll()
    code = totp.at(clock.now())
    await rtcctl.json("apps", "disable", str(first), "--totp", code)  # the token is kept now

    wrong = await rtcctl.json(
        "apps", "disable", str(second), "--totp", _wrong_code(totp, clock.now()), expect=1
    )
    assert wrong["error"]["code"] == "PERMISSION_DENIED"
    spent = await rtcctl.json("apps", "disable", str(second), "--totp", code, expect=EXIT_REFUSED)
    assert spent["error"]["code"] == "PERMISSION_DENIED"  # each code counts once
    assert await _status(tenant, second) == (app_pb.APP_STATUS_NORMAL, app_pb.APP_TRANSITION_UNSPECIFIED)

    operation = await rtcctl.json("apps", "disable", str(second))  # no code: the kept token
    assert operation["kind"] == "OPERATION_KIND_DISABLE_APP"
    assert (await _status(tenant, second))[1] == app_pb.APP_TRANSITION_DISABLING


async def test_r7_without_a_code_or_a_kept_token_it_asks_for_a_code(
    rtcctl: Rtcctl, clock: ManualClock, private_cache_home: Path
) -> None:
    tenant = rtcctl.tenant
    app = (await tenant.create_app("guarded")).sdk_app_id
    totp = await tenant.enroll()
    status, out, err = await rtcctl("apps", "disable", str(app))
    assert (status, out) == (EXIT_USAGE, "")
    assert _error_lines(err) == [f"rtcctl apps disable: error: {NEEDS_TOTP}"]
    assert await _status(tenant, app) == (app_pb.APP_STATUS_NORMAL, app_pb.APP_TRANSITION_UNSPECIFIED)

    # `auth secondary` keeps its token: the next action needs no code
    await rtcctl.json("auth", "secondary", "--totp", totp.at(clock.now()))
    await rtcctl.json("apps", "disable", str(app))
    clock.advance(minutes=3)
    await tenant.server.workers.run_once()

    # 31 minutes later the server refuses the kept token: forgotten, and a code is asked for
    clock.advance(minutes=28)
    status, _, err = await rtcctl("apps", "enable", str(app))
    assert status == EXIT_USAGE
    assert _error_lines(err) == [
        f"rtcctl apps enable: error: the kept secondary-auth token is no longer valid; {NEEDS_TOTP}"
    ]
    assert json.loads(cache_file({"XDG_CACHE_HOME": str(private_cache_home)}).read_text()) == {}
    await rtcctl.json("apps", "enable", str(app), "--totp", totp.at(clock.now()))


async def test_totp_enroll_refuses_a_code_rather_than_ignoring_it(rtcctl: Rtcctl) -> None:
    status, out, err = await rtcctl("auth", "totp-enroll", "--totp", "123456")
    assert (status, out) == (EXIT_USAGE, "")
    assert "takes no --totp" in err
    assert not (await rtcctl.json("auth", "whoami"))["totp_enrolled"]  # nothing was enrolled


# -- R6: why an app is stopped ------------------------------------------------------------


async def test_apps_list_and_get_say_why_an_app_is_stopped(rtcctl: Rtcctl) -> None:
    tenant = rtcctl.tenant
    app = await tenant.create_app("expiring")
    await asyncio.to_thread(
        tenant.server.console.accounts.set_billing, tenant.account_id, package_state="expired"
    )
    status, out, _ = await rtcctl("apps", "list")
    assert status == EXIT_OK
    header, row = out.splitlines()
    assert header.split()[2] == "STATUS"
    assert "stopped (package expired)" in row
    status, out, _ = await rtcctl("apps", "get", str(app.sdk_app_id))
    fields = dict(line.split(":", 1) for line in out.splitlines())
    assert fields["status"].strip() == "stopped (package expired)"
    assert fields["to restore"].strip() == "buy a package or turn postpaid billing on"


# -- R16: what the freshness line means; relative times -----------------------------------


async def test_usage_freshness_says_what_data_through_means(rtcctl: Rtcctl, clock: ManualClock) -> None:
    """``--from now-2h --to +1h`` works on whatever day it runs; the last line is no promise of
    completeness: it names the newest published window and says late records revise it."""
    tenant = rtcctl.tenant
    now = datetime.now(UTC).replace(microsecond=0)
    clock.set(now)  # the server's clock and rtcctl's relative times agree
    app = await tenant.create_app("fresh")
    span = ("usage", "trtc", "--from", "now-2h", "--to", "+1h", "--granularity", "5m")
    status, out, _ = await rtcctl(*span)
    assert status == EXIT_OK
    assert out.splitlines()[-1] == (
        "no usage window has been published yet (the aggregator has not run); "
        "new usage appears 5-20 minutes after it happens (R16)"
    )
    await ingest(tenant.server, [record(app.sdk_app_id, now - timedelta(minutes=30), 61)])
    await tick(tenant.server)
    status, out, _ = await rtcctl(*span)
    assert status == EXIT_OK
    last = out.splitlines()[-1]
    assert last.startswith("newest published window ends ")
    assert last.endswith(
        "; late records can still revise published windows (REVISION above 1); later windows may be "
        "missing or partial; new usage appears 5-20 minutes after it happens (R16)"
    )
    assert "complete" not in out
    assert [line["seconds"] for line in (await rtcctl.json(*span))["lines"]] == ["61"]


async def test_a_bad_time_is_a_usage_error_that_lists_the_forms(rtcctl: Rtcctl) -> None:
    status, out, err = await rtcctl("usage", "trtc", "--from", "last tuesday", "--to", "now")
    assert (status, out) == (EXIT_USAGE, "")
    [line] = _error_lines(err)
    assert "not a time: 'last tuesday'" in line and "now-10m" in line and "today" in line


# -- --version and completion, from the installed binary ----------------------------------


def test_version_is_the_installed_distributions() -> None:
    done = _rtcctl("--version")
    assert (done.returncode, done.stdout) == (EXIT_OK, f"rtcctl {metadata.version('rtcconsole')}\n")


def test_the_bash_completion_script_parses(tmp_path: Path) -> None:
    done = _rtcctl("completion", "bash")
    assert done.returncode == EXIT_OK
    script = tmp_path / "rtcctl.bash"
    script.write_text(done.stdout, encoding="utf-8")
    assert subprocess.run(["bash", "-n", str(script)], check=False).returncode == 0
    assert "apps" in done.stdout and "--sdk-app-id" in done.stdout


# -- what the README's walkthrough leans on: --field and ops wait (R7) ----------------------


async def test_field_prints_one_field_for_a_shell_variable(rtcctl: Rtcctl) -> None:
    app = await rtcctl.tenant.create_app("fielded")
    sdk_app_id = str(app.sdk_app_id)
    status, out, _ = await rtcctl(
        "usersig", "gen", "--sdk-app-id", sdk_app_id, "--user", "alice", "--field", "user_sig"
    )
    assert status == EXIT_OK and out.count("\n") == 1 and out.startswith("eJ")  # the token alone
    argv = ("usersig", "verify", "--sdk-app-id", sdk_app_id, "--user", "alice", "--sig", out.strip())
    assert await rtcctl(*argv, "--field", "valid") == (EXIT_OK, "true\n", "")
    assert await rtcctl(*argv, "--field", "claims.identifier") == (EXIT_OK, "alice\n", "")
    assert await rtcctl(*argv, "--field", "claims.identifier", "--json") == (EXIT_OK, '"alice"\n', "")
    status, out, err = await rtcctl("apps", "get", sdk_app_id, "--field", "nam")
    assert (status, out) == (EXIT_USAGE, "")
    assert _error_lines(err) == [
        "rtcctl apps get: error: --field nam: App has no field 'nam'; its fields: sdk_app_id, name, "
        "description, create_time, update_time, source, relayed_live_streaming, status, stop_reasons, "
        "pending_transition, pending_operation, tags"
    ]


async def test_ops_wait_returns_when_the_operation_is_done(rtcctl: Rtcctl, clock: ManualClock) -> None:
    tenant = rtcctl.tenant
    app = await tenant.create_app("waited")
    totp = await tenant.enroll()
    name = (await rtcctl.json("apps", "disable", str(app.sdk_app_id), "--totp", totp.at(clock.now())))["name"]

    status, out, err = await rtcctl("ops", "wait", name, "--interval", "0.05", "--max-wait", "0.2")
    assert (status, out) == (EXIT_REFUSED, "")
    [line] = err.splitlines()
    assert line.startswith(f"rtcctl: {name} is still pending after 0.2 seconds (it takes effect at ")

    waiting = asyncio.create_task(rtcctl("ops", "wait", name, "--interval", "0.05", "--json"))
    await asyncio.sleep(0.2)
    assert not waiting.done()
    clock.advance(minutes=3)
    await tenant.server.workers.run_once()
    status, out, err = await asyncio.wait_for(waiting, timeout=10)
    assert (status, err) == (EXIT_OK, "")
    operation = json.loads(out)
    assert (operation["done"], operation["state"]) == (True, "OPERATION_STATE_SUCCEEDED")
