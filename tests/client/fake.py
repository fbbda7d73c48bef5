"""A scripted stand-in for the server at the process edge: a real grpc.aio server on port 0.

It answers every unary RPC of AppService and AuthService: with the replies queued by
:meth:`FakeConsole.reply` (a message, or a ``grpc.Status`` to fail with), else with an
empty response. It records each request and its metadata, so tests check what the
client put on the wire.
"""

from __future__ import annotations

from collections import defaultdict, deque
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

import grpc
from google.protobuf import any_pb2, message_factory
from google.protobuf.descriptor import ServiceDescriptor
from google.protobuf.message import Message
from google.rpc import status_pb2
from grpc_status import rpc_status

from rtcconsole.v1 import app_service_pb2, auth_service_pb2

SERVICES = (
    app_service_pb2.DESCRIPTOR.services_by_name["AppService"],
    auth_service_pb2.DESCRIPTOR.services_by_name["AuthService"],
)


def failure(code: grpc.StatusCode, message: str, *details: Message) -> grpc.Status:
    """A status with ``details`` packed into ``grpc-status-details-bin``, as the server sends it."""
    packed = []
    for detail in details:
        holder = any_pb2.Any()
        holder.Pack(detail)
        packed.append(holder)
    status: grpc.Status = rpc_status.to_status(
        status_pb2.Status(code=code.value[0], message=message, details=packed)
    )
    return status


@dataclass
class Call:
    """One request the fake received."""

    method: str
    request: Any
    metadata: dict[str, str]


@dataclass
class FakeConsole:
    """Replies by method name (``"GetApp"``), records every call."""

    target: str = ""
    calls: list[Call] = field(default_factory=list)
    _replies: defaultdict[str, deque[Message | grpc.Status]] = field(
        default_factory=lambda: defaultdict(deque)
    )

    def reply(self, method: str, *replies: Message | grpc.Status) -> None:
        """Queue the answers to the next calls of ``method``, in order."""
        self._replies[method].extend(replies)

    def requests(self, method: str) -> list[Any]:
        """The requests received by ``method``, in order."""
        return [call.request for call in self.calls if call.method == method]

    def handlers(self) -> list[grpc.GenericRpcHandler]:
        """Generic handlers for every method of the faked services."""
        return [self._service(service) for service in SERVICES]

    def _service(self, service: ServiceDescriptor) -> grpc.GenericRpcHandler:
        handlers = {}
        for method in service.methods:
            request_class = message_factory.GetMessageClass(method.input_type)
            response_class = message_factory.GetMessageClass(method.output_type)
            handlers[method.name] = grpc.unary_unary_rpc_method_handler(
                self._behaviour(method.name, response_class),
                request_deserializer=request_class.FromString,
                response_serializer=response_class.SerializeToString,
            )
        return grpc.method_handlers_generic_handler(service.full_name, handlers)

    def _behaviour(
        self, name: str, response_class: type[Message]
    ) -> Callable[[Any, grpc.aio.ServicerContext[Any, Any]], Awaitable[Message]]:
        async def behaviour(request: Any, context: grpc.aio.ServicerContext[Any, Any]) -> Message:
            metadata = {key: str(value) for key, value in context.invocation_metadata() or ()}
            self.calls.append(Call(name, request, metadata))
            queued = self._replies[name]
            reply = queued.popleft() if queued else response_class()
            if isinstance(reply, Message):
                return reply
            await context.abort(reply.code, reply.details, reply.trailing_metadata)

        return behaviour
