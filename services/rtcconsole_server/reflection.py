"""gRPC server reflection, v1 and v1alpha, from one servicer.

``grpcio-reflection`` ships only ``grpc.reflection.v1alpha.ServerReflection``, but
``buf curl`` and current ``grpcurl`` ask ``grpc.reflection.v1.ServerReflection`` first.
The two protos are the same on the wire (only the package differs), so the one
v1alpha servicer answers under both service names (:func:`enable_reflection`).

Two gaps of the Python descriptor pool are filled in (:class:`_Symbols`):

- ``FileContainingSymbol`` for a *method* (``rtcconsole.v1.AppService.CreateApp``,
  what ``grpcurl describe`` sends) and for an enum value named inside its enum
  (``rtcconsole.v1.AppStatus.APP_STATUS_NORMAL``) finds the file of the service or
  the enum; Python's pool knows neither name.
- the v1 reflection proto itself (``grpc/reflection/v1/reflection.proto``), which no
  installed module registers, is built from the v1alpha one in a private pool, so
  that a client can describe every service it was listed.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

import grpc
from google.protobuf import descriptor_pb2, descriptor_pool
from google.protobuf.descriptor import Descriptor, FieldDescriptor, FileDescriptor
from grpc_reflection.v1alpha import reflection_pb2
from grpc_reflection.v1alpha.reflection import aio

__all__ = ["V1ALPHA_SERVICE_NAME", "V1_SERVICE_NAME", "enable_reflection"]

V1_SERVICE_NAME = "grpc.reflection.v1.ServerReflection"
V1ALPHA_SERVICE_NAME = reflection_pb2.DESCRIPTOR.services_by_name["ServerReflection"].full_name
_METHOD = "ServerReflectionInfo"
_V1ALPHA_PACKAGE = reflection_pb2.DESCRIPTOR.package  # grpc.reflection.v1alpha
_V1_PACKAGE = V1_SERVICE_NAME.rpartition(".")[0]


def _v1_file() -> FileDescriptor:
    """``grpc/reflection/v1/reflection.proto``: the v1alpha file under the v1 package, in a pool
    of its own (the default pool stays as the generated modules left it)."""
    proto = descriptor_pb2.FileDescriptorProto()
    reflection_pb2.DESCRIPTOR.CopyToProto(proto)
    proto.name = "grpc/reflection/v1/reflection.proto"
    proto.package = _V1_PACKAGE
    old, new = f".{_V1ALPHA_PACKAGE}.", f".{_V1_PACKAGE}."
    for message in proto.message_type:
        for field in message.field:
            if field.HasField("type_name"):
                field.type_name = field.type_name.replace(old, new)
    for service in proto.service:
        for method in service.method:
            method.input_type = method.input_type.replace(old, new)
            method.output_type = method.output_type.replace(old, new)
    pool = descriptor_pool.DescriptorPool()
    return pool.AddSerializedFile(proto.SerializeToString())


class _Symbols:
    """The lookups the reflection servicer makes, over several pools, with the two fallbacks
    of the module docstring. A name no pool knows is ``KeyError`` (a NOT_FOUND answer)."""

    def __init__(self, pools: Sequence[descriptor_pool.DescriptorPool]) -> None:
        self._pools = pools

    def FindFileByName(self, name: str) -> FileDescriptor:
        for pool in self._pools:
            try:
                return pool.FindFileByName(name)
            except KeyError:
                continue
        raise KeyError(name)

    def FindFileContainingSymbol(self, symbol: str) -> FileDescriptor:
        parent, _, member = symbol.rpartition(".")
        for pool in self._pools:
            try:
                return pool.FindFileContainingSymbol(symbol)
            except KeyError:
                pass
            try:  # a method: the file of its service
                if member in pool.FindServiceByName(parent).methods_by_name:
                    return pool.FindFileContainingSymbol(parent)
            except KeyError:
                pass
            try:  # an enum value named inside its enum: the file of the enum
                if member in pool.FindEnumTypeByName(parent).values_by_name:
                    return pool.FindFileContainingSymbol(parent)
            except KeyError:
                pass
        raise KeyError(symbol)

    def FindMessageTypeByName(self, name: str) -> Descriptor:
        for pool in self._pools:
            try:
                return pool.FindMessageTypeByName(name)
            except KeyError:
                continue
        raise KeyError(name)

    def FindExtensionByNumber(self, message: Descriptor, number: int) -> FieldDescriptor:
        return self._pool_of(message).FindExtensionByNumber(message, number)

    def FindAllExtensions(self, message: Descriptor) -> list[FieldDescriptor]:
        return self._pool_of(message).FindAllExtensions(message)

    def _pool_of(self, message: Descriptor) -> descriptor_pool.DescriptorPool:
        pool: descriptor_pool.DescriptorPool = message.file.pool
        return pool


def enable_reflection(server: grpc.aio.Server, service_names: Iterable[str]) -> None:
    """Serve reflection v1 and v1alpha on ``server``; both list ``service_names`` and themselves."""
    v1 = _v1_file()
    names = (*service_names, V1_SERVICE_NAME, V1ALPHA_SERVICE_NAME)
    symbols = _Symbols((descriptor_pool.Default(), v1.pool))
    servicer = aio.ReflectionServicer(names, pool=symbols)
    handlers = {
        _METHOD: grpc.stream_stream_rpc_method_handler(
            servicer.ServerReflectionInfo,
            request_deserializer=reflection_pb2.ServerReflectionRequest.FromString,
            response_serializer=reflection_pb2.ServerReflectionResponse.SerializeToString,
        )
    }
    server.add_generic_rpc_handlers(
        [
            grpc.method_handlers_generic_handler(name, handlers)
            for name in (V1_SERVICE_NAME, V1ALPHA_SERVICE_NAME)
        ]
    )
