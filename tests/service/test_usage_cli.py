"""The command lines of usage and billing against a real server and store.

``rtcctl usage …`` (tenant side, in-process ``amain``) and ``rtc-console admin
account package|billing`` (operator side, in-process ``main`` on the test's
database; it uses the wall clock, hence packages spanning decades).
"""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from rtcconsole.cli import amain
from rtcconsole.v1 import app_service_pb2 as app_pb
from rtcconsole_server import cli
from rtcconsole_server.clock import ManualClock
from tests.support import Tenant
from tests.usage_support import ingest, record, tick

DAY0 = datetime(2026, 1, 1, tzinfo=UTC)


async def _rtcctl(tenant: Tenant, capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    status = await amain(["--target", tenant.server.target, "--api-key", tenant.api_key, *argv])
    out, err = capsys.readouterr()
    return status, out, err


async def _operator(database_url: str, capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, Any]:
    status = await asyncio.to_thread(cli.main, [*argv, "--database-url", database_url])
    out, err = capsys.readouterr()
    return status, (json.loads(out) if status == 0 and "--json" in argv else out + err)


async def test_rtcctl_usage_prints_a_table_or_json(
    tenant: Tenant, clock: ManualClock, capsys: pytest.CaptureFixture[str]
) -> None:
    app = await tenant.create_app("cli")
    clock.set(DAY0 + timedelta(hours=2))
    start = DAY0 + timedelta(hours=1)
    await ingest(
        tenant.server,
        [
            record(app.sdk_app_id, start, 90),
            record(app.sdk_app_id, start + timedelta(minutes=5), 45),
            record(app.sdk_app_id, start, 61, kind=2, category="FullHD"),
        ],
    )
    await tick(tenant.server)
    status, out, err = await _rtcctl(
        tenant, capsys, "usage", "trtc", "--from", "2026-01-01T01:00:00Z", "--to", "2026-01-01T02:00Z"
    )
    assert (status, err) == (0, "")
    assert "INTERACTIVE_AV usage of all apps of the account" in out
    assert "2026-01-01T01:05:00Z" in out and "newest published window ends 2026-01-01T01:55:00Z" in out
    totals = out.split("totals")[1].splitlines()
    assert totals[2].split() == ["HD", "135", "3", "3", "3"]

    status, out, _ = await _rtcctl(
        tenant, capsys, "usage", "recording", "--sdk-app-id", str(app.sdk_app_id),
        "--from", "2026-01-01", "--to", "2026-01-03", "--json",
    )  # fmt: skip
    data = json.loads(out)
    assert status == 0 and data["granularity"] == "GRANULARITY_DAY"
    assert data["lines"][0]["category"] == "USAGE_CATEGORY_FULL_HD" and data["lines"][0]["minutes"] == "2"

    status, out, err = await _rtcctl(
        tenant, capsys, "usage", "trtc", "--from", "2026-01-02", "--to", "2026-01-01"
    )
    assert status == 1 and "end_time: must be after start_time" in err
    status, _, err = await _rtcctl(tenant, capsys, "usage", "trtc", "--from", "someday", "--to", "2026-01-01")
    assert status == 2 and "ISO 8601" in err


async def test_operator_packages_and_billing_through_the_command_line(
    tenant: Tenant, database_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    app = await tenant.create_app("operated")
    account = str(tenant.account_id)
    status, added = await _operator(
        database_url, capsys, "admin", "account", "package", "add", account,
        "--minutes", "600", "--from", "2020-01-01", "--to", "2100-01-01T00:00:00+08:00", "--json",
    )  # fmt: skip
    assert status == 0 and added["metered"] and added["package"] == "ok"
    assert added["added"]["minutes"] == 600 and added["added"]["valid_to"] == "2099-12-31T16:00:00Z"
    status, listed = await _operator(
        database_url, capsys, "admin", "account", "package", "list", account, "--json"
    )
    assert [(p["minutes"], p["used_minutes"], p["in_force"]) for p in listed["packages"]] == [(600, 0, True)]
    status, text = await _operator(database_url, capsys, "admin", "account", "package", "list", account)
    assert status == 0 and "PACKAGE" in text and "2020-01-01T00:00:00Z" in text

    status, text = await _operator(
        database_url, capsys, "admin", "account", "billing", account, "--package", "used-up"
    )
    assert status == 1 and "computed" in text
    status, flags = await _operator(
        database_url,
        capsys,
        "admin",
        "account",
        "billing",
        account,
        "--postpaid",
        "on",
        "--arrears",
        "on",
        "--json",
    )
    assert status == 0 and flags["postpaid"] and flags["arrears"]
    assert (await tenant.get_app(app.sdk_app_id)).stop_reasons == [app_pb.STOP_REASON_ARREARS]
    status, bad = await _operator(
        database_url, capsys, "admin", "account", "package", "add", account,
        "--minutes", "5", "--from", "2030-01-01", "--to", "2029-01-01",
    )  # fmt: skip
    assert status == 1 and "valid_to" in bad

    status, out, _ = await _rtcctl(tenant, capsys, "usage", "billing")
    assert status == 0 and "postpaid:" in out and "600" in out
