"""Accounts and API keys, secondary authentication (R7), UserSig and PrivateMapKey (R14, R22),
and the data plane's room-entry gate.

The public face of the ``auth`` context: other contexts, workers and the API
import from here, never from its private modules.
"""

from __future__ import annotations

from rtcconsole_server.domain.auth._accounts import Accounts, ApiKeyView
from rtcconsole_server.domain.auth._secondary import SecondaryAuth
from rtcconsole_server.domain.auth._signatures import EntryDecision, EntryDenial, Room, Signatures

__all__ = [
    "Accounts",
    "ApiKeyView",
    "EntryDecision",
    "EntryDenial",
    "Room",
    "SecondaryAuth",
    "Signatures",
]
