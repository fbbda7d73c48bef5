"""What became of a batch of data-plane records (events or usage): one shape for both."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

__all__ = ["BatchOutcome", "Rejection"]


@dataclass(frozen=True)
class Rejection:
    """A record that was not stored. ``code`` is "INVALID_ARGUMENT" or "ALREADY_EXISTS";
    ``index`` counts from 0 across the whole stream; ``fields`` are paths in the record."""

    index: int
    record_id: str
    """The record's own id as sent (an event id or a usage record id; may be empty)."""
    code: str
    reason: str
    fields: tuple[str, ...] = ()


@dataclass
class BatchOutcome:
    """What became of a batch."""

    accepted: int = 0
    """Records stored now."""
    duplicates: int = 0
    """Retries of records already stored (or repeated in the batch) with the same payload."""
    rejections: list[Rejection] = field(default_factory=list)
    """Records not stored, by index (streaming only; all-or-nothing batches raise instead)."""
    queued: int = 0
    """Callback deliveries queued with new events (always 0 for usage)."""
    stored: list[Any] = field(default_factory=list, repr=False, compare=False)
    """The input records stored now (``accepted`` of them; never a duplicate or a retry): what
    R21's real-time counting counts once the batch is committed. Empty for usage."""
