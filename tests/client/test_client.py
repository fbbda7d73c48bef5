"""The async client against a scripted fake server over real gRPC (no database, no real server)."""

from __future__ import annotations

from collections.abc import AsyncIterator

import grpc
import pytest
from google.rpc import error_details_pb2

from rtcconsole import InvalidArgument, NotFound, RtcConsole, Unavailable
from rtcconsole.v1 import app_service_pb2 as app_pb
from rtcconsole.v1 import auth_service_pb2 as auth_pb
from rtcconsole.v1 import common_pb2
from tests.client.fake import FakeConsole, failure

KEY = "rtc_test_key_123"


@pytest.fixture
async def console(fake: FakeConsole) -> AsyncIterator[RtcConsole]:
    async with await RtcConsole.connect(fake.target, api_key=KEY, timeout=5) as console:
        yield console


async def test_calls_carry_the_bearer_key(fake: FakeConsole, console: RtcConsole) -> None:
    fake.reply("GetApp", app_pb.GetAppResponse(app=app_pb.App(sdk_app_id=7, name="n")))
    app = await console.apps.get_app(7)
    assert (app.sdk_app_id, app.name) == (7, "n")
    assert fake.calls[0].metadata["authorization"] == f"Bearer {KEY}"
    assert KEY not in repr(console)


async def test_create_app_returns_the_app(fake: FakeConsole, console: RtcConsole) -> None:
    fake.reply("CreateApp", app_pb.CreateAppResponse(app=app_pb.App(sdk_app_id=1400000001, name="demo")))
    app = await console.apps.create_app(name="demo", description="d", request_id="r1")
    assert app.sdk_app_id == 1400000001
    [request] = fake.requests("CreateApp")
    assert (request.name, request.description, request.request_id) == ("demo", "d", "r1")


async def test_iter_apps_follows_the_pages(fake: FakeConsole, console: RtcConsole) -> None:
    first = app_pb.ListAppsResponse(
        apps=[app_pb.App(sdk_app_id=3), app_pb.App(sdk_app_id=2)], next_page_token="p2"
    )
    fake.reply("ListApps", first, app_pb.ListAppsResponse(apps=[app_pb.App(sdk_app_id=1)]))
    ids = [app.sdk_app_id async for app in console.apps.iter_apps(tags=[("team", "live")], page_size=2)]
    assert ids == [3, 2, 1]
    requests = fake.requests("ListApps")
    assert [r.page_token for r in requests] == ["", "p2"]
    assert [r.page_size for r in requests] == [2, 2]
    assert [[(t.key, t.value) for t in r.tags] for r in requests] == [[("team", "live")]] * 2


async def test_update_app_masks_only_the_given_fields(fake: FakeConsole, console: RtcConsole) -> None:
    await console.apps.update_app(5, description="")
    await console.apps.update_app(5, name="x", description="y")
    first, second = fake.requests("UpdateApp")
    assert list(first.update_mask.paths) == ["description"]
    assert first.app.sdk_app_id == 5 and first.app.description == ""
    assert list(second.update_mask.paths) == ["name", "description"]
    with pytest.raises(ValueError, match="name or description"):
        await console.apps.update_app(5)


async def test_disable_with_a_code_gets_a_token_first(fake: FakeConsole, console: RtcConsole) -> None:
    fake.reply("CreateSecondaryAuth", auth_pb.CreateSecondaryAuthResponse(token="tok-1"))
    fake.reply("DisableApp", app_pb.DisableAppResponse(operation=common_pb2.Operation(name="operations/9")))
    operation = await console.apps.disable_app(5, totp_code="123456")
    assert operation.name == "operations/9"
    assert [c.method for c in fake.calls] == ["CreateSecondaryAuth", "DisableApp"]
    assert fake.requests("CreateSecondaryAuth")[0].totp_code == "123456"
    assert fake.requests("DisableApp")[0].secondary_auth_token == "tok-1"


async def test_disable_with_a_token_calls_once(fake: FakeConsole, console: RtcConsole) -> None:
    await console.apps.delete_app(5, secondary_auth_token="tok-2")
    assert [c.method for c in fake.calls] == ["DeleteApp"]
    assert fake.requests("DeleteApp")[0].secondary_auth_token == "tok-2"


@pytest.mark.parametrize(("code", "token"), [(None, None), ("123456", "tok")])
async def test_disable_needs_exactly_one_proof(
    fake: FakeConsole, console: RtcConsole, code: str | None, token: str | None
) -> None:
    with pytest.raises(ValueError, match="exactly one"):
        await console.apps.disable_app(5, totp_code=code, secondary_auth_token=token)
    assert fake.calls == []


async def test_failures_raise_decoded_errors(fake: FakeConsole, console: RtcConsole) -> None:
    violation = error_details_pb2.BadRequest.FieldViolation(field="name", description="is required")
    bad_request = error_details_pb2.BadRequest(field_violations=[violation])
    fake.reply("CreateApp", failure(grpc.StatusCode.INVALID_ARGUMENT, "invalid", bad_request))
    fake.reply("GetApp", failure(grpc.StatusCode.NOT_FOUND, "no app 9"))
    with pytest.raises(InvalidArgument) as invalid:
        await console.apps.create_app(name="")
    assert [(v.field, v.description) for v in invalid.value.field_violations] == [("name", "is required")]
    assert isinstance(invalid.value.__cause__, grpc.aio.AioRpcError)
    with pytest.raises(NotFound, match="no app 9"):
        await console.apps.get_app(9)


async def test_tags_and_rooms_are_put_on_the_wire(fake: FakeConsole, console: RtcConsole) -> None:
    await console.apps.add_app_tags(5, tags=[app_pb.Tag(key="a", value="1"), ("b", "2")])
    await console.auth.generate_private_map_key(5, user_id="u", room="room-a")
    await console.auth.generate_private_map_key(5, user_id="u", room=42)
    [tags] = fake.requests("AddAppTags")
    assert [(t.key, t.value) for t in tags.tags] == [("a", "1"), ("b", "2")]
    by_name, by_number = fake.requests("GeneratePrivateMapKey")
    assert by_name.WhichOneof("room") == "str_room_id" and by_name.str_room_id == "room-a"
    assert by_number.WhichOneof("room") == "room_id" and by_number.room_id == 42


async def test_material_content(fake: FakeConsole, console: RtcConsole) -> None:
    material = app_pb.Material(sdk_app_id=5, material_id=8, name="bg")
    fake.reply("GetMaterial", app_pb.GetMaterialResponse(material=material, content=b"\x89PNG"))
    got, content = await console.apps.get_material_content(5, 8)
    assert (got, content) == (material, b"\x89PNG")
    assert fake.requests("GetMaterial")[0].include_content is True


async def test_connect_waiting_for_an_absent_server_is_unavailable(unused_tcp_port: int) -> None:
    with pytest.raises(Unavailable):
        await RtcConsole.connect(f"127.0.0.1:{unused_tcp_port}", api_key=KEY, timeout=0.3, wait_ready=True)


async def test_an_empty_key_is_refused() -> None:
    with pytest.raises(ValueError, match="api_key"):
        await RtcConsole.connect("127.0.0.1:1", api_key=" ")
