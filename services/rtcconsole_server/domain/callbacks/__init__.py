"""Signed event callbacks (R15): the body, the outbox, the dispatcher, the delivery log.

The public face of the ``callbacks`` context: other contexts, workers and the API
import from here, never from its private modules.
"""

from __future__ import annotations

from rtcconsole_server.domain.callbacks._body import callback_body, callback_headers, event_info
from rtcconsole_server.domain.callbacks._deliveries import Deliveries, DeliveryView, TestCallbackResult
from rtcconsole_server.domain.callbacks._dispatcher import Dispatcher
from rtcconsole_server.domain.callbacks._http import RESPONSE_HEAD_BYTES, Resolver, generic_failure
from rtcconsole_server.domain.callbacks._queue import queue_callbacks
from rtcconsole_server.domain.callbacks._test_sends import THREAD_PREFIX, TestSends

__all__ = [
    "RESPONSE_HEAD_BYTES",
    "THREAD_PREFIX",
    "Deliveries",
    "DeliveryView",
    "Dispatcher",
    "Resolver",
    "TestCallbackResult",
    "TestSends",
    "callback_body",
    "callback_headers",
    "event_info",
    "generic_failure",
    "queue_callbacks",
]
