"""``rtcctl config`` against a real server (R11-R15): flags build the request and the mask; the
sequence of docs/config.md runs as written; the CLI's choices are the words the server uses."""

from __future__ import annotations

import asyncio
import json
import re
import shlex
from pathlib import Path
from typing import Any

import grpc
import pytest
from google.protobuf.field_mask_pb2 import FieldMask

from rtcconsole.cli import amain
from rtcconsole.v1 import config_service_pb2 as pb
from rtcconsole_server.clock import ManualClock
from tests.callback_support import Receiver
from tests.support import Tenant, fails

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


def _set(printed: dict[str, Any]) -> dict[str, Any]:
    """The fields of a --json object that hold more than their default."""
    return {
        k: v
        for k, v in printed.items()
        if v not in (False, 0, "", [], {}) and not (isinstance(v, str) and v.endswith("_UNSPECIFIED"))
    }


def _field_violations(printed: Any) -> dict[str, str]:
    """The field violations of an error rtcctl printed with --json."""
    return {
        v["field"]: v["description"]
        for detail in printed["error"]["details"]
        for v in detail.get("field_violations", ())
    }


async def _services(tenant: Tenant, **services: bool) -> None:
    accounts = tenant.server.console.accounts
    await asyncio.to_thread(accounts.set_services, tenant.account_id, **services)


async def test_rtcctl_config_walkthrough(ctl: Ctl, tenant: Tenant, clock: ManualClock) -> None:
    app_id = str((await tenant.create_app("ctl")).sdk_app_id)
    config = await ctl.json("config", "get", app_id)
    assert config["sdk_app_id"] == app_id and _set(config["relayed_push"]["effective"]) == {}

    refused = await ctl.json(
        "config", "relayed-push", app_id, "--on", "--mode", "specified_streams", expect=1
    )
    assert refused["error"]["code"] == "FAILED_PRECONDITION" and "CSS_SERVICE_INACTIVE" in json.dumps(refused)
    await _services(tenant, css=True, vod=True)
    config = await ctl.json("config", "relayed-push", app_id, "--on", "--mode", "GLOBAL_AUTO_RELAY")
    push = config["relayed_push"]
    assert _set(push["pending"]) == {"enabled": True, "mode": "RELAYED_PUSH_MODE_GLOBAL_AUTO_RELAY"}
    assert push["pending_effective_time"] == "2026-01-01T00:05:00Z"

    refused = await ctl.json(
        "config", "recording", app_id, "--on", "--format", "aac", "--media", "audio_and_video", expect=1
    )
    assert _field_violations(refused) == {
        "settings.file_format": "the AAC file format records audio only: it needs AUDIO_ONLY media"
    }
    config = await ctl.json(
        "config", "recording", app_id, "--on", "--media", "audio_only", "--format", "aac", "--max-idle", "60"
    )
    assert _set(config["cloud_recording"]["pending"]) == {
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
    assert _set(config["permission_control"]["pending"]) == {"enabled": True}

    clock.advance(minutes=5)
    await tenant.server.workers.run_once()
    status, out, _ = await ctl.run("config", "get", app_id)
    assert status == 0
    assert f"push domain:         {app_id}.livepush.rtc-console.local" in out
    assert "cloud recording:     on (MANUAL, AUDIO_ONLY, AAC, idle 60s, VOD)" in out
    assert "pending" not in out
    refused = await ctl.json("config", "relayed-push", app_id, "--off", expect=1)
    assert "CLOUD_RECORDING_ON" in json.dumps(refused)
    off = await ctl.json("config", "recording", app_id, "--off")
    assert _set(off["cloud_recording"]["pending"]) == {
        "mode": "RECORDING_MODE_MANUAL",
        "media": "RECORDING_MEDIA_AUDIO_ONLY",
        "file_format": "RECORDING_FILE_FORMAT_AAC",
        "max_idle_time": "60s",
        "storage": "RECORDING_STORAGE_VOD",
    }


async def test_rtcctl_config_callback_flags_build_the_mask_and_take_effect_at_once(
    ctl: Ctl, tenant: Tenant
) -> None:
    app_id = str((await tenant.create_app("ctlcb")).sdk_app_id)
    status, _, err = await ctl.run("config", "callback", app_id)
    assert status == 2 and "nothing to change" in err
    with Receiver(key=KEY) as receiver:
        config = await ctl.json("config", "callback", app_id, "--key", KEY, "--room-url", receiver.url("/r"))
        assert "pending" not in config["callback"] and _set(config["callback"]["effective"]) == {
            "key_set": True,
            "key_hint": KEY[-4:],
            "room_event_url": receiver.url("/r"),
        }
        sent = await ctl.json("config", "test-callback", app_id)  # at once: no clock moves (R15)
        assert sent["status_code"] == 200 and sent["url"] == receiver.url("/r")
        status, out, _ = await ctl.run("config", "test-callback", app_id, "--group", "MEDIA")
        assert status == 1
    config = await ctl.json("config", "callback", app_id, "--key", "")  # clears the key only
    assert "pending" not in config["callback"]
    assert _set(config["callback"]["effective"]) == {"room_event_url": receiver.url("/r")}
    bad = await ctl.json("config", "callback", app_id, "--media-url", "ftp://x.example/", expect=1)
    assert bad["error"]["code"] == "INVALID_ARGUMENT" and "media_event_url" in json.dumps(bad)
    listed = await ctl.json("config", "deliveries", app_id, "--state", "pending", "--all")
    assert _set(listed) == {}
    status, out, _ = await ctl.run("config", "deliveries", app_id, "--room", "1234")
    assert (status, out.strip()) == (0, "no deliveries")


# -- docs/config.md's sequence -------------------------------------------------------------

CONFIG_DOC = Path(__file__).resolve().parents[2] / "docs" / "config.md"
_VARIABLE = re.compile(r"\$(?:\{(\w+)\}|(\w+))")


def doc_sequence() -> tuple[list[str], list[list[str]]]:
    """The variables the command-line block of docs/config.md assigns, and its rtcctl commands
    (comments dropped, words split as the shell would; ``$NAME`` left to expand)."""
    text = CONFIG_DOC.read_text(encoding="utf-8")
    section = text[text.index("## From the command line") :]
    start = section.index("```sh\n") + len("```sh\n")
    block = section[start : section.index("\n```", start)]
    variables: list[str] = []
    commands: list[list[str]] = []
    for line in block.splitlines():
        words = shlex.split(line, comments=True)
        if not words:
            continue
        if words[0] == "export":
            words = words[1:]
        if len(words) == 1 and re.fullmatch(r"\w+=.*", words[0]):
            variables.append(words[0].split("=", 1)[0])
            continue
        assert words[0] == "rtcctl", f"docs/config.md: not an rtcctl command: {line!r}"
        commands.append(words[1:])
    return variables, commands


async def test_the_sequence_of_docs_config_runs_as_written(ctl: Ctl, tenant: Tenant) -> None:
    variables, commands = doc_sequence()
    assert variables == ["RTC_API_KEY", "APP", "HOOKS"]
    assert len(commands) >= 10 and {c[1] for c in commands} >= {
        "get",
        "relayed-push",
        "recording",
        "permission",
        "callback",
        "test-callback",
        "deliveries",
    }
    await _services(tenant, css=True, vod=True)  # the doc's assumption: the operator activated them
    app_id = str((await tenant.create_app("docs")).sdk_app_id)
    keys = {c[c.index("--key") + 1] for c in commands if "--key" in c} - {""}
    assert keys, "the sequence sets a callback key"
    with Receiver(key=next(iter(keys))) as receiver:
        values = {"RTC_API_KEY": tenant.api_key, "APP": app_id, "HOOKS": receiver.url("")}
        for words in commands:
            argv = [_VARIABLE.sub(lambda m: values[m.group(1) or m.group(2)], w) for w in words]
            status, out, err = await ctl.run(*argv)
            assert status == 0, (argv, out, err)
            for key in keys:
                assert key not in out and key not in err
            if argv[1] == "test-callback" and "--json" in argv:
                assert json.loads(out)["status_code"] == 200, argv
        assert [r.path for r in receiver.received] == ["/room", "/media"]
        assert all(r.signature_ok for r in receiver.received)


# -- the CLI's choices are the server's words ------------------------------------------------


async def _help_choices(ctl: Ctl, command: str, flag: str) -> list[str]:
    status, out, _ = await ctl.run("config", command, "--help")
    assert status == 0
    found = re.search(re.escape(flag) + r" \{([^}]*)\}", out)
    assert found, (command, flag, out)
    return found.group(1).split(",")


async def test_rtcctl_choices_are_the_words_the_server_names(ctl: Ctl, tenant: Tenant) -> None:
    await _services(tenant, css=True, vod=True)
    app_id = str((await tenant.create_app("words")).sdk_app_id)
    choices = await _help_choices(ctl, "relayed-push", "--mode")
    assert choices == ["specified_streams", "global_auto_relay"]
    refused = await ctl.json("config", "relayed-push", app_id, "--on", expect=1)  # no --mode
    assert _field_violations(refused) == {
        "settings.mode": f"is required; one of {', '.join(c.upper() for c in choices)}"
    }

    for flag, path in (
        ("--mode", "mode"),
        ("--media", "media"),
        ("--format", "file_format"),
        ("--storage", "storage"),
    ):  # the server's words for what the CLI cannot send: a path named, its value unspecified
        choices = await _help_choices(ctl, "recording", flag)
        request = pb.UpdateCloudRecordingRequest(sdk_app_id=int(app_id), update_mask=FieldMask(paths=[path]))
        failure = await fails(
            tenant.config.UpdateCloudRecording(request, metadata=tenant.metadata),
            grpc.StatusCode.INVALID_ARGUMENT,
        )
        said = failure.field_violations[f"settings.{path}"]
        assert said == f"is required; one of {', '.join(c.upper() for c in choices)}", flag
    assert await _help_choices(ctl, "deliveries", "--state") == ["pending", "delivered", "expired"]
    assert await _help_choices(ctl, "test-callback", "--group") == ["room", "media"]

    # any case; audio_only is a --media choice; an old spelling still works, unlisted
    config = await ctl.json("config", "recording", app_id, "--media", "AUDIO_ONLY", "--format", "Aac")
    assert config["cloud_recording"]["pending"]["media"] == "RECORDING_MEDIA_AUDIO_ONLY"
    config = await ctl.json("config", "relayed-push", app_id, "--on", "--mode", "specified")
    assert config["relayed_push"]["pending"]["mode"] == "RELAYED_PUSH_MODE_SPECIFIED_STREAMS"
    status, out, _ = await ctl.run("config", "relayed-push", "--help")
    assert "specified," not in out and "global}" not in out
    status, _, err = await ctl.run("config", "recording", app_id, "--media", "mono")
    assert status == 2 and "audio_and_video" in err and "'audio'" not in err
