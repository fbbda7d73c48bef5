"""The HTTP door: every console service over Connect (JSON and binary) and gRPC-Web.

It serves the very method handlers the gRPC server runs, wrapped by the same
interceptors (authentication, the contract's limits, the error table, redaction),
behind a servicer-context adapter (:mod:`.context`); a second copy of the
servicers does not exist. Beside the services, the listener answers ``/healthz``,
``/readyz`` and ``/metrics`` (:mod:`.routes`). docs/http.md and decision 0030.
"""

from rtcconsole_server.gateway.door import HttpDoor
from rtcconsole_server.gateway.methods import MethodTable, intercepted

__all__ = ["HttpDoor", "MethodTable", "intercepted"]
