"""``rtcctl`` end to end against a real server, the way the README walks a new user through it."""

from __future__ import annotations

import io
import json
from pathlib import Path
from typing import Any

import pytest
from PIL import Image

from rtcconsole.cli import amain
from rtcconsole.usersig import verify_usersig
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
        return json.loads(out if status == 0 else err)


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
    wrong = await ctl("usersig", "verify", "--sdk-app-id", sdk_app_id, "--user", "bob", "--sig", sig)
    assert wrong["failure"] == "SIGNATURE_FAILURE_IDENTIFIER_MISMATCH"

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
    await ctl("apps", "disable", second, "--totp", code)  # the same code: the kept token is used
    kept = private_cache_home / "rtcctl" / "secondary-auth.json"
    assert kept.stat().st_mode & 0o777 == 0o600
    clock.advance(minutes=31)
    await tenant.server.workers.run_once()
    stale = await ctl("apps", "enable", first, "--totp", code, expect=1)
    assert stale["error"]["code"] == "PERMISSION_DENIED"  # token expired and the code was spent
    await ctl("apps", "enable", first, "--totp", totp.at(clock.now()))  # a fresh code, a fresh token
    await ctl("apps", "enable", second, "--totp", code)  # kept token again: no code spent
