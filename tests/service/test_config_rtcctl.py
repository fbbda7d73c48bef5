"""``rtcctl config`` against a real server (R11-R15): flags build the request and the mask."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import pytest

from rtcconsole.cli import amain
from rtcconsole_server.clock import ManualClock
from tests.callback_support import Receiver
from tests.support import Tenant

KEY = "Ab3dEf6hIj9kLmN0pQr5tUv8wXy1zK42"


class Ctl:
    """Runs ``rtcctl …`` in the test's event loop; returns the exit status, stdout and stderr."""

    def __init__(self, tenant: Tenant, capsys: pytest.CaptureFixture[str]) -> None:
        self._base = ["--target", tenant.server.target, "--api-key", tenant.api_key]
        self._capsys = capsys
        self._api_key = tenant.api_key

    async def run(self, *argv: str) -> tuple[int, str, str]:
        self._capsys.readouterr()
        status = await amain([*self._base, *argv])
        out, err = self._capsys.readouterr()
        for secret in (KEY, self._api_key):
            assert secret not in out and secret not in err
        return status, out, err

    async def json(self, *argv: str, expect: int = 0) -> Any:
        status, out, err = await self.run(*argv, "--json")
        assert status == expect, (argv, status, out, err)
        return json.loads(out if status == 0 else err)


@pytest.fixture
def ctl(tenant: Tenant, capsys: pytest.CaptureFixture[str]) -> Ctl:
    return Ctl(tenant, capsys)


async def _services(tenant: Tenant, **services: bool) -> None:
    accounts = tenant.server.console.accounts
    await asyncio.to_thread(accounts.set_services, tenant.account_id, **services)


async def test_rtcctl_config_walkthrough(ctl: Ctl, tenant: Tenant, clock: ManualClock) -> None:
    app_id = str((await tenant.create_app("ctl")).sdk_app_id)
    config = await ctl.json("config", "get", app_id)
    assert config["sdk_app_id"] == app_id and config["relayed_push"]["effective"] == {}

    refused = await ctl.json("config", "relayed-push", app_id, "--on", "--mode", "specified", expect=1)
    assert refused["error"]["code"] == "FAILED_PRECONDITION" and "CSS_SERVICE_INACTIVE" in json.dumps(refused)
    await _services(tenant, css=True, vod=True)
    config = await ctl.json("config", "relayed-push", app_id, "--on", "--mode", "global")
    push = config["relayed_push"]
    assert push["pending"] == {"enabled": True, "mode": "RELAYED_PUSH_MODE_GLOBAL_AUTO_RELAY"}
    assert push["pending_effective_time"] == "2026-01-01T00:05:00Z"

    config = await ctl.json(
        "config", "recording", app_id, "--on", "--media", "audio", "--format", "aac", "--max-idle", "60"
    )
    assert config["cloud_recording"]["pending"] == {
        "enabled": True,
        "mode": "RECORDING_MODE_MANUAL",
        "media": "RECORDING_MEDIA_AUDIO_ONLY",
        "file_format": "RECORDING_FILE_FORMAT_AAC",
        "max_idle_time": "60s",
        "storage": "RECORDING_STORAGE_VOD",
    }
    bad = await ctl.json("config", "recording", app_id, "--max-idle", "3", expect=1)
    assert bad["error"]["code"] == "INVALID_ARGUMENT"
    config = await ctl.json("config", "permission", app_id, "--on")
    assert config["permission_control"]["pending"] == {"enabled": True}

    clock.advance(minutes=5)
    await tenant.server.workers.run_once()
    status, out, _ = await ctl.run("config", "get", app_id)
    assert status == 0
    assert f"push domain:         {app_id}.livepush.rtc-console.local" in out
    assert "cloud recording:     on (MANUAL, AUDIO_ONLY, AAC, idle 60s, VOD)" in out
    assert "pending" not in out
    refused = await ctl.json("config", "relayed-push", app_id, "--off", expect=1)
    assert "CLOUD_RECORDING_ON" in json.dumps(refused)
    assert (await ctl.json("config", "recording", app_id, "--off"))["cloud_recording"]["pending"] == {
        "mode": "RECORDING_MODE_MANUAL",
        "media": "RECORDING_MEDIA_AUDIO_ONLY",
        "file_format": "RECORDING_FILE_FORMAT_AAC",
        "max_idle_time": "60s",
        "storage": "RECORDING_STORAGE_VOD",
    }


async def test_rtcctl_config_callback_flags_build_the_mask(
    ctl: Ctl, tenant: Tenant, clock: ManualClock
) -> None:
    app_id = str((await tenant.create_app("ctlcb")).sdk_app_id)
    status, _, err = await ctl.run("config", "callback", app_id)
    assert status == 2 and "nothing to change" in err
    with Receiver(key=KEY) as receiver:
        config = await ctl.json("config", "callback", app_id, "--key", KEY, "--room-url", receiver.url("/r"))
        assert config["callback"]["pending"] == {
            "key_set": True,
            "key_hint": KEY[-4:],
            "room_event_url": receiver.url("/r"),
        }
        clock.advance(minutes=5)
        await tenant.server.workers.run_once()
        sent = await ctl.json("config", "test-callback", app_id)
        assert sent["status_code"] == 200 and sent["url"] == receiver.url("/r")
        status, out, _ = await ctl.run("config", "test-callback", app_id, "--group", "media")
        assert status == 1
    config = await ctl.json("config", "callback", app_id, "--key", "")  # clears the key only
    assert config["callback"]["pending"] == {"room_event_url": receiver.url("/r")}
    bad = await ctl.json("config", "callback", app_id, "--media-url", "ftp://x.example/", expect=1)
    assert bad["error"]["code"] == "INVALID_ARGUMENT" and "media_event_url" in json.dumps(bad)
    listed = await ctl.json("config", "deliveries", app_id, "--state", "pending", "--all")
    assert listed == {}
    status, out, _ = await ctl.run("config", "deliveries", app_id, "--room", "1234")
    assert (status, out.strip()) == (0, "no deliveries")
