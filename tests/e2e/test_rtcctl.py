"""``rtcctl`` end to end against a real server, the way the README walks a new user through it."""

from __future__ import annotations

import io
import json
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from google.protobuf import json_format
from PIL import Image

from rtcconsole.cli import amain
from rtcconsole.cli._framework import EXIT_OK, EXIT_REJECTED, EXIT_USAGE
from rtcconsole.cli._secondary import NEEDS_TOTP
from rtcconsole.usersig import verify_usersig
from rtcconsole.v1 import ingest_service_pb2 as ingest_pb
from rtcconsole.v1 import usage_service_pb2 as usage_pb
from rtcconsole_server.clock import ManualClock
from rtcconsole_server.server import Server
from tests.support import Tenant, totp_of


class Ctl:
    """Runs ``rtcctl … --json`` in the test's event loop and parses what it prints."""

    def __init__(self, tenant: Tenant, capsys: pytest.CaptureFixture[str]) -> None:
        self._base = ["--target", tenant.server.target, "--api-key", tenant.api_key]
        self._capsys = capsys

    async def __call__(self, *argv: str, expect: int = 0) -> Any:
        self._capsys.readouterr()
        status = await amain([*self._base, *argv, "--json"])
        out, err = self._capsys.readouterr()
        assert status == expect, (argv, status, out, err)
        if status == EXIT_USAGE:  # argparse's form: the usage, then one error line
            return err
        return json.loads(out if status in (EXIT_OK, EXIT_REJECTED) else err)


@pytest.fixture
def ctl(tenant: Tenant, capsys: pytest.CaptureFixture[str]) -> Ctl:
    return Ctl(tenant, capsys)


async def test_apps_walkthrough(ctl: Ctl, tenant: Tenant, clock: ManualClock) -> None:
    app = await ctl("apps", "create", "--name", "live_demo", "--description", "演示")
    sdk_app_id = app["sdk_app_id"]  # proto-JSON: uint64 as a string
    assert int(sdk_app_id) >= 1_400_000_001 and app["status"] == "APP_STATUS_NORMAL"

    listed = await ctl("apps", "list", "--name-contains", "live")
    assert [a["sdk_app_id"] for a in listed["apps"]] == [sdk_app_id]
    assert (await ctl("apps", "get", sdk_app_id))["description"] == "演示"
    assert (await ctl("apps", "update", sdk_app_id, "--description", "new_text"))["description"] == "new_text"
    assert len((await ctl("apps", "secret-key", sdk_app_id))["secret_key"]) == 64

    bad = await ctl("apps", "create", "--name", "bad-name", expect=1)
    assert bad["error"]["code"] == "INVALID_ARGUMENT"

    # R7: TOTP, then disable; the operation is done 3 minutes later
    totp = totp_of((await ctl("auth", "totp-enroll"))["otpauth_uri"])
    operation = await ctl("apps", "disable", sdk_app_id, "--totp", totp.at(clock.now()))
    assert operation["state"] == "OPERATION_STATE_PENDING"
    clock.advance(minutes=3)
    await tenant.server.workers.run_once()
    assert (await ctl("ops", "get", operation["name"]))["done"] is True
    assert (await ctl("apps", "get", sdk_app_id))["stop_reasons"] == ["STOP_REASON_DISABLED_BY_OWNER"]
    deleting = await ctl("apps", "delete", sdk_app_id, "--totp", totp.at(clock.now()))
    assert deleting["kind"] == "OPERATION_KIND_DELETE_APP"


async def test_tags_and_materials(ctl: Ctl, tmp_path: Path) -> None:
    sdk_app_id = (await ctl("apps", "create", "--name", "tagged"))["sdk_app_id"]
    await ctl("tags", "create", "team", "live")
    attached = await ctl("tags", "attach", sdk_app_id, "team=live")
    assert attached["tags"] == [{"key": "team", "value": "live"}]
    assert [a["name"] for a in (await ctl("apps", "list", "--tag", "team=live"))["apps"]] == ["tagged"]

    picture = tmp_path / "background.jpg"  # the name says JPEG, the content is PNG
    buffer = io.BytesIO()
    Image.new("RGB", (100, 50)).save(buffer, format="PNG")
    picture.write_bytes(buffer.getvalue())
    material = await ctl("materials", "add", sdk_app_id, str(picture), "--x", "5", "--y", "6")
    assert (material["format"], material["width"], material["height"]) == ("IMAGE_FORMAT_PNG", 100, 50)
    listed = await ctl("materials", "list", sdk_app_id)
    assert [m["material_id"] for m in listed["materials"]] == [material["material_id"]]
    await ctl("materials", "remove", sdk_app_id, material["material_id"])


async def test_usersig_and_privatemapkey(ctl: Ctl, server: Server, clock: ManualClock) -> None:
    sdk_app_id = (await ctl("apps", "create", "--name", "signing"))["sdk_app_id"]
    key = (await ctl("apps", "secret-key", sdk_app_id))["secret_key"]
    sig = (await ctl("usersig", "gen", "--sdk-app-id", sdk_app_id, "--user", "alice", "--expire", "3600"))[
        "user_sig"
    ]
    now = int(clock.now().timestamp())
    assert verify_usersig(sig, sdk_app_id=int(sdk_app_id), secret_key=key, user_id="alice", now=now).ok
    checked = await ctl("usersig", "verify", "--sdk-app-id", sdk_app_id, "--user", "alice", "--sig", sig)
    assert checked["valid"] is True
    wrong = await ctl(
        "usersig", "verify", "--sdk-app-id", sdk_app_id, "--user", "bob", "--sig", sig, expect=EXIT_REJECTED
    )
    assert wrong["failure"] == "SIGNATURE_FAILURE_IDENTIFIER_MISMATCH"
    assert wrong["valid"] is False  # printed although it holds the default

    ticket = await ctl(
        "privatemapkey",
        "gen",
        "--sdk-app-id",
        sdk_app_id,
        "--user",
        "alice",
        "--str-room-id",
        "lobby",
        "--privileges",
        "enter-room,send-audio",
    )
    verified = await ctl(
        "privatemapkey",
        "verify",
        "--sdk-app-id",
        sdk_app_id,
        "--user",
        "alice",
        "--key",
        ticket["private_map_key"],
        "--str-room-id",
        "lobby",
    )
    assert verified["valid"] is True and verified["private_map"]["privileges"] == 6


async def test_r7_one_totp_code_serves_30_minutes_of_actions(
    ctl: Ctl, tenant: Tenant, clock: ManualClock, private_cache_home: Path
) -> None:
    first = (await ctl("apps", "create", "--name", "one"))["sdk_app_id"]
    second = (await ctl("apps", "create", "--name", "two"))["sdk_app_id"]
    totp = totp_of((await ctl("auth", "totp-enroll"))["otpauth_uri"])
    code = totp.at(clock.now())
    await ctl("apps", "disable", first, "--totp", code)
    await ctl("apps", "disable", second)  # no --totp: the token kept for the code is used
    kept = private_cache_home / "rtcctl" / "secondary-auth.json"
    assert kept.stat().st_mode & 0o777 == 0o600
    clock.advance(minutes=31)
    await tenant.server.workers.run_once()
    stale = await ctl("apps", "enable", first, expect=EXIT_USAGE)  # the kept token has expired
    assert stale.splitlines()[-1].endswith(NEEDS_TOTP)
    await ctl("apps", "enable", first, "--totp", totp.at(clock.now()))  # a fresh code, a fresh token
    await ctl("apps", "enable", second)  # kept token again: no code spent


# rtcctl ingest: the data plane's door (data-plane token, not an API key)

DATA_PLANE_TOKEN = "data-plane-test-token"


def _event_line(event_id: str, sdk_app_id: int, at: datetime, user: str = "alice") -> str:
    event = ingest_pb.RoomEvent(
        event_id=event_id,
        sdk_app_id=sdk_app_id,
        room_id=7,
        user_id=user,
        type=ingest_pb.EVENT_TYPE_USER_ENTERED,
        role=ingest_pb.ROLE_ANCHOR,
    )
    event.event_time.FromDatetime(at)
    return json_format.MessageToJson(event, indent=None)


def _usage_line(record_id: str, sdk_app_id: int, at: datetime, seconds: int = 60) -> str:
    record = ingest_pb.UsageRecord(
        record_id=record_id,
        sdk_app_id=sdk_app_id,
        str_room_id="lobby",
        user_id="alice",
        kind=usage_pb.USAGE_KIND_INTERACTIVE_AV,
        category=usage_pb.USAGE_CATEGORY_HD,
        seconds=seconds,
    )
    record.start_time.FromDatetime(at)
    return json_format.MessageToJson(record, indent=None)


async def _ingest(server: Server, capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    """``rtcctl --target … ingest ARGV``: the exit status, stdout and stderr; the token never shows."""
    capsys.readouterr()
    status = await amain(["--target", server.target, "ingest", *argv])
    out, err = capsys.readouterr()
    assert DATA_PLANE_TOKEN not in out + err
    return status, out, err


async def test_ingest_events_prints_the_tally_and_each_rejected_line(
    server: Server, tenant: Tenant, clock: ManualClock, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    app = await tenant.create_app("ingested")
    now = clock.now()
    path = tmp_path / "events.jsonl"
    lines = [
        _event_line("e1", app.sdk_app_id, now),
        "",
        '{"eventId": ',
        _event_line("e2", app.sdk_app_id, now + timedelta(hours=1)),
        _event_line("e3", app.sdk_app_id, now, user="bob"),
        _event_line("e1", app.sdk_app_id, now),
    ]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    argv = ["events", str(path), "--token", DATA_PLANE_TOKEN, "--batch-size", "2"]

    status, out, err = await _ingest(server, capsys, *argv)
    assert (status, err) == (EXIT_REJECTED, "")  # some lines were rejected
    head, parse_error, too_late = out.splitlines()
    assert head == "accepted 2, duplicates 1, rejected 2"
    assert parse_error.startswith("line 3: INVALID_ARGUMENT: cannot parse: ")
    assert too_late == (
        "line 4: INVALID_ARGUMENT: event_time: is more than 5 minutes after the server's clock (event_time)"
    )

    status, out, err = await _ingest(server, capsys, *argv, "--json")
    assert (status, err) == (EXIT_REJECTED, "")
    result = json.loads(out)
    assert (result["duplicates"], result["rejected"], result["accepted"]) == (3, 2, 0)  # 0 is printed too
    assert [{k: v for k, v in r.items() if k != "reason"} for r in result["rejections"]] == [
        {"index": "2", "id": "", "code": "INVALID_ARGUMENT", "fields": []},
        {"index": "3", "id": "e2", "code": "INVALID_ARGUMENT", "fields": ["event_time"]},
    ]


async def test_ingest_usage_reads_stdin_and_takes_the_token_from_the_environment(
    server: Server,
    tenant: Tenant,
    clock: ManualClock,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    app = await tenant.create_app("metered")
    now = clock.now()
    lines = [_usage_line(f"u{i}", app.sdk_app_id, now - timedelta(minutes=i)) for i in range(3)]
    lines.append(_usage_line("u0", app.sdk_app_id, now, seconds=5))  # the same id, another payload
    monkeypatch.setenv("RTC_DATA_PLANE_TOKEN", DATA_PLANE_TOKEN)
    monkeypatch.setattr("sys.stdin", io.StringIO("\n".join(lines) + "\n"))
    status, out, err = await _ingest(server, capsys, "usage", "-", "--batch-size", "1", "--json")
    assert (status, err) == (EXIT_REJECTED, "")
    result = json.loads(out)
    assert (result["accepted"], result["rejected"], result["duplicates"]) == (3, 1, 0)
    [conflict] = result["rejections"]
    assert (conflict["index"], conflict["id"], conflict["code"]) == ("3", "u0", "ALREADY_EXISTS")


async def test_ingest_refusals(
    server: Server,
    tenant: Tenant,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("RTC_DATA_PLANE_TOKEN", raising=False)
    path = tmp_path / "empty.jsonl"
    path.write_text("", encoding="utf-8")

    status, out, err = await _ingest(server, capsys, "events", str(path))
    assert (status, out) == (2, "")
    assert err.endswith(
        "rtcctl ingest events: error: no data-plane token: pass --token or set RTC_DATA_PLANE_TOKEN\n"
    )
    status, out, err = await _ingest(server, capsys, "events", str(tmp_path / "absent"), "--token", "t")
    assert (status, out) == (2, "")
    assert "rtcctl ingest events: error: cannot read " in err and "No such file or directory" in err

    status, out, err = await _ingest(server, capsys, "usage", str(path), "--token", "not-the-token")
    assert (status, out, err) == (1, "", "error: UNAUTHENTICATED: invalid data-plane token\n")
    status, out, err = await _ingest(server, capsys, "events", str(path), "--token", tenant.api_key, "--json")
    assert (status, out) == (1, "")
    assert json.loads(err)["error"]["code"] == "PERMISSION_DENIED"
    status, out, err = await _ingest(server, capsys, "events", str(path), "--token", DATA_PLANE_TOKEN)
    assert (status, out, err) == (0, "accepted 0, duplicates 0, rejected 0\n", "")
