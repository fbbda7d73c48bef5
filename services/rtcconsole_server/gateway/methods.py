"""The method handlers of the gRPC server, recorded once and wrapped by its interceptors.

The generated ``add_<Service>Servicer_to_server`` functions register a dict of
method handlers with whatever they are given; a :class:`MethodTable` is given too,
so the HTTP door calls exactly what the gRPC server calls. :func:`intercepted`
then wraps each handler by the server's interceptors, in the order grpc applies
them (the first interceptor outermost).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, TypeAlias

import grpc

__all__ = ["MethodTable", "intercepted"]

if TYPE_CHECKING:
    Handler: TypeAlias = grpc.RpcMethodHandler[Any, Any]


class MethodTable:
    """A stand-in server for the generated registration functions: it keeps
    ``/package.Service/Method`` → handler."""

    def __init__(self) -> None:
        self.handlers: dict[str, Handler] = {}

    def add_generic_rpc_handlers(self, generic_rpc_handlers: Sequence[object]) -> None:
        """Ignored: the same handlers arrive through :meth:`add_registered_method_handlers`."""

    def add_registered_method_handlers(
        self, service_name: str, method_handlers: Mapping[str, Handler]
    ) -> None:
        for name, handler in method_handlers.items():
            self.handlers[f"/{service_name}/{name}"] = handler


@dataclass(frozen=True)
class _CallDetails(grpc.HandlerCallDetails):
    method: str
    invocation_metadata: tuple[tuple[str, str], ...] = ()


async def intercepted(
    table: MethodTable, interceptors: Sequence[grpc.aio.ServerInterceptor]
) -> dict[str, Handler]:
    """Each handler of ``table`` as the server runs it behind ``interceptors``.

    Interceptors that choose by metadata cannot do so here (there is none before a
    call); ours choose by method only.
    """
    wrapped: dict[str, Handler] = {}
    for method, handler in table.handlers.items():
        current: Handler | None = handler
        for interceptor in reversed(interceptors):
            inner = current

            async def continuation(
                _: grpc.HandlerCallDetails, inner: Handler | None = inner
            ) -> Handler | None:
                return inner

            current = await interceptor.intercept_service(continuation, _CallDetails(method))
        if current is not None:
            wrapped[method] = current
    return wrapped
