"""Server reflection answers over v1 (what ``buf curl`` asks first) and v1alpha, from one servicer.

The client is a real reflection stream on a real channel: the generated v1alpha messages on the
v1 or the v1alpha method path (the two protos are the same on the wire).
"""

from __future__ import annotations

from collections.abc import AsyncIterator

import grpc
import pytest
from google.protobuf import descriptor_pb2
from grpc_reflection.v1alpha import reflection_pb2 as pb

from rtcconsole_server.server import SERVICE_NAMES, Server

V1 = "/grpc.reflection.v1.ServerReflection/ServerReflectionInfo"
V1ALPHA = "/grpc.reflection.v1alpha.ServerReflection/ServerReflectionInfo"
Method = grpc.aio.StreamStreamMultiCallable[pb.ServerReflectionRequest, pb.ServerReflectionResponse]


@pytest.fixture(params=["v1", "v1alpha"])
async def reflect(request: pytest.FixtureRequest, server: Server) -> AsyncIterator[Method]:
    """The ``ServerReflectionInfo`` method of one reflection version on a channel to ``server``."""
    async with grpc.aio.insecure_channel(server.target) as channel:
        yield channel.stream_stream(
            V1 if request.param == "v1" else V1ALPHA,
            request_serializer=pb.ServerReflectionRequest.SerializeToString,
            response_deserializer=pb.ServerReflectionResponse.FromString,
        )


async def ask(method: Method, *requests: pb.ServerReflectionRequest) -> list[pb.ServerReflectionResponse]:
    """Send ``requests`` on one stream; the responses, in order."""
    call = method(iter(requests), timeout=10)
    return [response async for response in call]


def files(response: pb.ServerReflectionResponse) -> dict[str, descriptor_pb2.FileDescriptorProto]:
    """The file descriptors of a ``file_descriptor_response`` by file name."""
    assert response.WhichOneof("message_response") == "file_descriptor_response", response
    protos = [
        descriptor_pb2.FileDescriptorProto.FromString(raw)
        for raw in response.file_descriptor_response.file_descriptor_proto
    ]
    return {proto.name: proto for proto in protos}


async def test_list_services_names_both_versions(reflect: Method) -> None:
    [response] = await ask(reflect, pb.ServerReflectionRequest(list_services=""))
    names = {service.name for service in response.list_services_response.service}
    assert names == {
        *SERVICE_NAMES,
        "grpc.health.v1.Health",
        "grpc.reflection.v1.ServerReflection",
        "grpc.reflection.v1alpha.ServerReflection",
    }


async def test_file_by_symbol_for_a_service_a_method_and_a_message(reflect: Method) -> None:
    symbols = (
        "rtcconsole.v1.AppService",
        "rtcconsole.v1.AppService.CreateApp",  # Python's descriptor pool alone knows no methods
        "rtcconsole.v1.CreateAppRequest",
        "rtcconsole.v1.AppStatus.APP_STATUS_NORMAL",  # an enum value inside its enum
    )
    responses = await ask(reflect, *(pb.ServerReflectionRequest(file_containing_symbol=s) for s in symbols))
    for symbol, response in zip(symbols, responses, strict=True):
        assert response.original_request.file_containing_symbol == symbol
        found = files(response)
        app = found["rtcconsole/v1/app_service.proto"]
        assert "AppService" in [s.name for s in app.service]
        assert set(app.dependency) <= set(found), "every dependency comes along"
    methods = [m.name for m in files(responses[1])["rtcconsole/v1/app_service.proto"].service[0].method]
    assert "CreateApp" in methods


async def test_every_listed_service_can_be_described(reflect: Method) -> None:
    [listing] = await ask(reflect, pb.ServerReflectionRequest(list_services=""))
    names = [service.name for service in listing.list_services_response.service]
    responses = await ask(reflect, *(pb.ServerReflectionRequest(file_containing_symbol=n) for n in names))
    for name, response in zip(names, responses, strict=True):
        package, _, service = name.rpartition(".")
        described = [
            proto
            for proto in files(response).values()
            if proto.package == package and service in [s.name for s in proto.service]
        ]
        assert described, name
    v1 = files(responses[names.index("grpc.reflection.v1.ServerReflection")])
    [method] = v1["grpc/reflection/v1/reflection.proto"].service[0].method
    assert method.input_type == ".grpc.reflection.v1.ServerReflectionRequest"


async def test_file_by_name_follows_a_dependency(reflect: Method) -> None:
    [by_symbol] = await ask(
        reflect, pb.ServerReflectionRequest(file_containing_symbol="rtcconsole.v1.AppService")
    )
    dependency = files(by_symbol)["rtcconsole/v1/app_service.proto"].dependency[0]
    [by_name] = await ask(reflect, pb.ServerReflectionRequest(file_by_filename=dependency))
    assert dependency in files(by_name)


@pytest.mark.parametrize(
    "symbol",
    ["rtcconsole.v1.NoSuchService", "rtcconsole.v1.AppService.NoSuchMethod", "rtcconsole.v1.AppStatus.NOPE"],
)
async def test_an_unknown_symbol_is_not_found(reflect: Method, symbol: str) -> None:
    [response] = await ask(reflect, pb.ServerReflectionRequest(file_containing_symbol=symbol))
    assert response.WhichOneof("message_response") == "error_response"
    assert response.error_response.error_code == grpc.StatusCode.NOT_FOUND.value[0]
    assert response.original_request.file_containing_symbol == symbol
