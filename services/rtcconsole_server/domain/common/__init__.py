"""Shared by every context: who calls, the tenancy guard, paging, batch outcomes.

The public face of the ``common`` context: other contexts, workers and the API
import from here, never from its private modules.
"""

from __future__ import annotations

from rtcconsole_server.domain.common._caller import Caller
from rtcconsole_server.domain.common._outcome import BatchOutcome, Rejection
from rtcconsole_server.domain.common._paging import Page, PageTokens, int_position, page_size, pair_position
from rtcconsole_server.domain.common._tenancy import load_app

__all__ = [
    "BatchOutcome",
    "Caller",
    "Page",
    "PageTokens",
    "Rejection",
    "int_position",
    "load_app",
    "page_size",
    "pair_position",
]
