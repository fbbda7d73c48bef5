"""The Redis commands of a live-state batch: what each queued write or read is sent as.

Shared by one Redis (one ``MULTI``/``EXEC`` per batch) and a cluster (one per cluster slot):

- ``incr``: ``INCRBY c`` then ``EXPIRE c``; ``sadd``: ``SADD s`` then ``EXPIRE s``;
- ``get``: ``GET c``; ``scard``: ``SCARD s`` and ``GET n`` (a compacted set's size wins);
- ``compact``: one ``EVAL`` of :data:`COMPACT_SCRIPT` on ``s`` and ``n``: atomic, idempotent.

``c``, ``s`` and ``n`` are a counter, a set and a compacted set's size (``redis.py`` names them;
``n`` always hashes to the same cluster slot as its ``s``, so both go in one transaction).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from rtcconsole_server.live.base import _Write

__all__ = ["COMPACT_SCRIPT", "commands", "first_replies", "hash_tag"]

COMPACT_SCRIPT = """
local size = redis.call('GET', KEYS[2])
if size then
  redis.call('DEL', KEYS[1])
  return tonumber(size)
end
size = redis.call('SCARD', KEYS[1])
if size > 0 then
  redis.call('SET', KEYS[2], size, 'EX', ARGV[1])
  redis.call('DEL', KEYS[1])
end
return size
"""
"""Compact set ``KEYS[1]`` into its size ``KEYS[2]`` (TTL ``ARGV[1]`` s); return the size.

A size already recorded is final: a second run (another replica) returns it and only drops
members added since. An empty or missing set records nothing."""


def hash_tag(name: str) -> str | None:
    """The Redis Cluster hash tag of key ``name`` (the text in its first ``{…}``), or None."""
    start = name.find("{")
    if start < 0:
        return None
    end = name.find("}", start + 1)
    return name[start + 1 : end] if end > start + 1 else None


@dataclass(frozen=True)
class _Op:
    """One write or read of a batch, as sent: its position in the batch, Redis key(s) and TTL.

    ``name`` is the key the op is routed by (its cluster slot); ``size_name`` the compacted
    size's key of a set op (``scard``, ``compact``), on the same cluster slot.
    """

    index: int
    name: str
    write: _Write
    ttl: int
    size_name: str = ""

    @property
    def replies(self) -> int:
        """Replies it produces: 1 for ``get`` and ``compact``, 2 for ``scard`` and the writes
        (the command and its ``EXPIRE``)."""
        return 1 if self.write.kind in ("get", "compact") else 2


def commands(ops: list[_Op]) -> list[tuple[str | int, ...]]:
    """The commands of ``ops``, in order (see the module)."""
    found: list[tuple[str | int, ...]] = []
    for op in ops:
        write = op.write
        if write.kind == "get":
            found.append(("GET", op.name))
        elif write.kind == "scard":
            found += [("SCARD", op.name), ("GET", op.size_name)]
        elif write.kind == "compact":
            found.append(("EVAL", COMPACT_SCRIPT, 2, op.name, op.size_name, op.ttl))
        else:
            if write.kind == "incr":
                found.append(("INCRBY", op.name, write.amount))
            else:
                found.append(("SADD", op.name, *write.members))
            found.append(("EXPIRE", op.name, op.ttl))
    return found


def first_replies(ops: list[_Op], replies: list[Any]) -> list[int]:
    """The result of each op as an int: its command's reply (not its ``EXPIRE``'s); for ``scard``
    the compacted size when there is one, else the set's size."""
    found: list[int] = []
    position = 0
    for op in ops:
        reply = replies[position]
        if op.write.kind == "scard" and replies[position + 1] is not None:
            reply = replies[position + 1]
        found.append(int(reply or 0))
        position += op.replies
    return found
