"""rtcctl in-process (``await amain([...])``) against the scripted fake server."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import grpc
import pytest
from google.protobuf import json_format
from google.rpc import error_details_pb2

from rtcconsole.cli import amain, main
from rtcconsole.v1 import app_service_pb2 as app_pb
from rtcconsole.v1 import auth_service_pb2 as auth_pb
from rtcconsole.v1 import common_pb2
from tests.client.fake import FakeConsole, failure

KEY = "rtc_secret_cli_key_42"


async def rtcctl(fake: FakeConsole, capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    """Run rtcctl against ``fake``; the exit status, stdout and stderr. The key never shows."""
    status = await amain(["--target", fake.target, "--api-key", KEY, *argv])
    out, err = capsys.readouterr()
    assert KEY not in out and KEY not in err
    return status, out, err


async def rtcctl_json(fake: FakeConsole, capsys: pytest.CaptureFixture[str], *argv: str) -> Any:
    status, out, err = await rtcctl(fake, capsys, *argv, "--json")
    assert (status, err) == (0, "")
    return json.loads(out)


APP = app_pb.App(sdk_app_id=1400000001, name="live_demo", description="demo")


async def test_apps_get_prints_the_app_itself(fake: FakeConsole, capsys: pytest.CaptureFixture[str]) -> None:
    fake.reply("GetApp", app_pb.GetAppResponse(app=APP))
    data = await rtcctl_json(fake, capsys, "apps", "get", "1400000001")
    assert {k: data[k] for k in ("sdk_app_id", "name", "description")} == {
        "sdk_app_id": "1400000001",
        "name": "live_demo",
        "description": "demo",
    }
    # every field, also those holding their default; an unset message field stays out
    assert (data["source"], data["tags"], data["stop_reasons"]) == ("", [], [])
    assert data["status"] == "APP_STATUS_UNSPECIFIED" and "create_time" not in data
    assert fake.calls[0].metadata["authorization"] == f"Bearer {KEY}"


async def test_apps_create(fake: FakeConsole, capsys: pytest.CaptureFixture[str]) -> None:
    fake.reply("CreateApp", app_pb.CreateAppResponse(app=APP))
    data = await rtcctl_json(fake, capsys, "apps", "create", "--name", "live_demo", "--description", "demo")
    assert data["name"] == "live_demo"
    assert fake.requests("CreateApp")[0].description == "demo"


async def test_apps_list_human_and_all_pages(fake: FakeConsole, capsys: pytest.CaptureFixture[str]) -> None:
    fake.reply(
        "ListApps",
        app_pb.ListAppsResponse(apps=[APP], next_page_token="p2"),
        app_pb.ListAppsResponse(apps=[APP], next_page_token="p2"),
        app_pb.ListAppsResponse(apps=[app_pb.App(sdk_app_id=1400000000, name="old")]),
    )
    status, out, _ = await rtcctl(fake, capsys, "apps", "list", "--tag", "team=live")
    assert status == 0
    assert out.splitlines()[0].split() == ["SDKAPPID", "NAME", "STATUS", "TAGS", "CREATED"]
    assert "live_demo" in out and "--page-token p2" in out
    data = await rtcctl_json(fake, capsys, "apps", "list", "--all")
    assert [a["sdk_app_id"] for a in data["apps"]] == ["1400000001", "1400000000"]
    assert data["next_page_token"] == ""  # --all: no page left
    first, second, third = fake.requests("ListApps")
    assert [(t.key, t.value) for t in first.tags] == [("team", "live")]
    assert (second.page_token, third.page_token) == ("", "p2")


@pytest.mark.parametrize(
    ("flags", "paths"),
    [
        (["--description", ""], ["description"]),
        (["--name", "n2"], ["name"]),
        (["--name", "n2", "--description", "d2"], ["name", "description"]),
    ],
)
async def test_apps_update_builds_the_mask_from_the_flags(
    fake: FakeConsole, capsys: pytest.CaptureFixture[str], flags: list[str], paths: list[str]
) -> None:
    await rtcctl_json(fake, capsys, "apps", "update", "1400000001", *flags)
    [request] = fake.requests("UpdateApp")
    assert list(request.update_mask.paths) == paths
    assert request.app.sdk_app_id == 1400000001


async def test_apps_disable_with_totp_prints_the_operation(
    fake: FakeConsole, capsys: pytest.CaptureFixture[str]
) -> None:
    fake.reply("CreateSecondaryAuth", auth_pb.CreateSecondaryAuthResponse(token="tok"))
    operation = common_pb2.Operation(
        name="operations/1",
        kind=common_pb2.OPERATION_KIND_DISABLE_APP,
        state=common_pb2.OPERATION_STATE_PENDING,
    )
    fake.reply("DisableApp", app_pb.DisableAppResponse(operation=operation))
    data = await rtcctl_json(fake, capsys, "apps", "disable", "1400000001", "--totp", "123456")
    assert data == {
        "name": "operations/1",
        "kind": "OPERATION_KIND_DISABLE_APP",
        "state": "OPERATION_STATE_PENDING",
        "sdk_app_id": "0",
        "done": False,
        "error_message": "",
    }
    assert fake.requests("DisableApp")[0].secondary_auth_token == "tok"


async def test_rpc_error_human(fake: FakeConsole, capsys: pytest.CaptureFixture[str]) -> None:
    bad = error_details_pb2.BadRequest(
        field_violations=[error_details_pb2.BadRequest.FieldViolation(field="name", description="too long")]
    )
    fake.reply("CreateApp", failure(grpc.StatusCode.INVALID_ARGUMENT, "invalid app", bad))
    status, out, err = await rtcctl(fake, capsys, "apps", "create", "--name", "x" * 20)
    assert (status, out) == (1, "")
    assert err.splitlines() == ["error: INVALID_ARGUMENT: invalid app", "  name: too long"]


QUOTA_DEFAULTS = json.loads(
    json_format.MessageToJson(
        error_details_pb2.QuotaFailure.Violation(),
        preserving_proto_field_name=True,
        always_print_fields_with_no_presence=True,
    )
)
"""Every field of a QuotaFailure.Violation at its default: --json prints them all."""


async def test_rpc_error_json_goes_to_stderr(fake: FakeConsole, capsys: pytest.CaptureFixture[str]) -> None:
    quota = error_details_pb2.QuotaFailure(
        violations=[error_details_pb2.QuotaFailure.Violation(subject="accounts/1", description="100 of 100")]
    )
    fake.reply("CreateApp", failure(grpc.StatusCode.RESOURCE_EXHAUSTED, "quota", quota))
    status, out, err = await rtcctl(fake, capsys, "apps", "create", "--name", "x", "--json")
    assert (status, out) == (1, "")
    assert json.loads(err) == {
        "error": {
            "code": "RESOURCE_EXHAUSTED",
            "message": "quota",
            "details": [
                {
                    "@type": "type.googleapis.com/google.rpc.QuotaFailure",
                    "violations": [{**QUOTA_DEFAULTS, "subject": "accounts/1", "description": "100 of 100"}],
                }
            ],
        }
    }


async def test_precondition_error_lines(fake: FakeConsole, capsys: pytest.CaptureFixture[str]) -> None:
    precondition = error_details_pb2.PreconditionFailure(
        violations=[
            error_details_pb2.PreconditionFailure.Violation(
                type="APP_STATUS", subject="apps/1400000001", description="disable it first"
            )
        ]
    )
    fake.reply("DeleteApp", failure(grpc.StatusCode.FAILED_PRECONDITION, "app is NORMAL", precondition))
    status, _, err = await rtcctl(fake, capsys, "apps", "delete", "1400000001", "--secondary-auth-token", "t")
    assert status == 1
    assert "  precondition APP_STATUS apps/1400000001: disable it first" in err.splitlines()


async def test_tags_commands(fake: FakeConsole, capsys: pytest.CaptureFixture[str]) -> None:
    fake.reply("CreateTag", app_pb.CreateTagResponse(tag=app_pb.Tag(key="team", value="live")))
    tag = await rtcctl_json(fake, capsys, "tags", "create", "team", "live")
    assert tag == {"key": "team", "value": "live"}
    assert await rtcctl_json(fake, capsys, "tags", "delete", "team", "live") == {}
    fake.reply("AddAppTags", app_pb.AddAppTagsResponse(app=APP))
    app = await rtcctl_json(fake, capsys, "tags", "attach", "1400000001", "team=live", "a=b")
    assert app["name"] == APP.name
    [attach] = fake.requests("AddAppTags")
    assert [(t.key, t.value) for t in attach.tags] == [("team", "live"), ("a", "b")]
    status, out, _ = await rtcctl(fake, capsys, "tags", "delete", "team", "live")
    assert (status, out) == (0, "deleted tag team=live\n")


async def test_materials_add_and_get_output(
    fake: FakeConsole, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    image = tmp_path / "background.png"
    image.write_bytes(b"\x89PNG\r\n\x1a\n...")
    material = app_pb.Material(sdk_app_id=1400000001, material_id=77, name="background.png")
    fake.reply("CreateMaterial", app_pb.CreateMaterialResponse(material=material))
    data = await rtcctl_json(fake, capsys, "materials", "add", "1400000001", str(image), "--x", "3", "--y=4")
    assert data["material_id"] == "77"
    [create] = fake.requests("CreateMaterial")
    assert (create.content, create.name) == (image.read_bytes(), "background.png")
    assert (create.x_position, create.y_position) == (3, 4)

    fake.reply("GetMaterial", app_pb.GetMaterialResponse(material=material, content=b"bytes"))
    target = tmp_path / "out.png"
    data = await rtcctl_json(fake, capsys, "materials", "get", "1400000001", "77", "--output", str(target))
    assert data["material_id"] == "77" and "content" not in data
    assert target.read_bytes() == b"bytes"


async def test_materials_add_of_a_missing_file_is_a_usage_error(
    fake: FakeConsole, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    status, _, err = await rtcctl(fake, capsys, "materials", "add", "1", str(tmp_path / "absent.png"))
    assert status == 2 and "cannot read" in err
    assert fake.calls == []


async def test_auth_commands(fake: FakeConsole, capsys: pytest.CaptureFixture[str]) -> None:
    fake.reply("EnrollTotp", auth_pb.EnrollTotpResponse(otpauth_uri="otpauth://totp/x?secret=S"))
    enrolled = await rtcctl_json(fake, capsys, "auth", "totp-enroll")
    assert enrolled == {"otpauth_uri": "otpauth://totp/x?secret=S"}
    fake.reply("GetCallerIdentity", auth_pb.GetCallerIdentityResponse(account_id=1, account_name="acme"))
    status, out, _ = await rtcctl(fake, capsys, "auth", "whoami")
    assert status == 0 and "acme" in out
    keys = [auth_pb.ApiKey(key_id="k1", display_name="ci")]
    fake.reply("ListApiKeys", auth_pb.ListApiKeysResponse(keys=keys))
    status, out, _ = await rtcctl(fake, capsys, "auth", "keys", "list")
    assert out.splitlines()[1].split()[:2] == ["k1", "ci"]


def test_main_runs_its_own_loop(capsys: pytest.CaptureFixture[str], unused_tcp_port: int) -> None:
    """``main`` (scripts, no running loop) returns the exit status like ``amain``."""
    assert main(["--help"]) == 0
    assert "rtcctl" in capsys.readouterr().out
    target = f"127.0.0.1:{unused_tcp_port}"
    assert main(["--target", target, "--api-key", KEY, "--timeout", "0.5", "apps", "get", "1"]) == 1
    assert capsys.readouterr().err.startswith(f"rtcctl: cannot reach rtc-console at {target} ")


async def test_ingest_against_an_absent_server_is_an_rpc_error(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, unused_tcp_port: int
) -> None:
    """``rtcctl ingest`` goes through IngestClient: the same one-line report and exit status 1."""
    source = tmp_path / "events.jsonl"
    source.write_text('{"eventId": "e1"}\n', encoding="utf-8")
    argv = ["--target", f"127.0.0.1:{unused_tcp_port}", "--timeout", "2", "ingest", "events", str(source)]
    assert await amain([*argv, "--token", "secret-data-plane-token"]) == 1
    out, err = capsys.readouterr()
    assert out == "" and err.startswith(f"rtcctl: cannot reach rtc-console at 127.0.0.1:{unused_tcp_port} ")
    assert "secret-data-plane-token" not in err
