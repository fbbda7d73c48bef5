"""Shared by every context: who calls, the tenancy guard, paging, batch outcomes, the
destinations tenants' callbacks may reach, what a room is, the rule for stored text and
the bounds of instants.

The public face of the ``common`` context: other contexts, workers and the API
import from here, never from its private modules.
"""

from __future__ import annotations

from rtcconsole_server.domain.common._app_cache import AppStateCache
from rtcconsole_server.domain.common._caller import Caller
from rtcconsole_server.domain.common._destinations import (
    DestinationPolicy,
    IPAddress,
    IPNetwork,
    literal_address,
    parse_networks,
)
from rtcconsole_server.domain.common._instants import EARLIEST, LATEST, instant_violations
from rtcconsole_server.domain.common._outcome import BatchOutcome, Rejection
from rtcconsole_server.domain.common._paging import (
    Page,
    PageTokens,
    aware_instant,
    instant_position,
    int_position,
    page_size,
    pair_position,
    strings_position,
)
from rtcconsole_server.domain.common._rooms import (
    MAX_ROOM_ID,
    MAX_STR_ROOM_ID,
    key_violations,
    room_violations,
)
from rtcconsole_server.domain.common._tenancy import load_app, require_app
from rtcconsole_server.domain.common._text import NUL_RULE, has_nul, text_violations

__all__ = [
    "EARLIEST",
    "LATEST",
    "MAX_ROOM_ID",
    "MAX_STR_ROOM_ID",
    "NUL_RULE",
    "AppStateCache",
    "BatchOutcome",
    "Caller",
    "DestinationPolicy",
    "IPAddress",
    "IPNetwork",
    "Page",
    "PageTokens",
    "Rejection",
    "aware_instant",
    "has_nul",
    "instant_position",
    "instant_violations",
    "int_position",
    "key_violations",
    "literal_address",
    "load_app",
    "page_size",
    "pair_position",
    "parse_networks",
    "require_app",
    "room_violations",
    "strings_position",
    "text_violations",
]
