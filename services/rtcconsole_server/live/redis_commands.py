"""The Redis command of a live-state batch: one ``EVAL`` of :data:`BATCH_SCRIPT` for all its ops.

Shared by one Redis (one ``EVAL`` per batch) and a cluster (one per cluster slot). The script
runs each op in order, atomically (a script runs alone, as a ``MULTI`` would):

- ``incr``: ``INCRBY c`` then ``EXPIRE c``; ``sadd``: ``SADD s`` (in chunks of 1,000 members)
  then ``EXPIRE s``;
- ``get``: ``GET c``; ``scard``: ``GET n``, else ``SCARD s`` (a compacted set's size wins);
- ``compact``: ``s`` replaced by its size in ``n`` (``SCARD`` into ``SET … EX``, ``DEL s``),
  atomic and idempotent: a size already recorded is final (a second run, another replica's,
  returns it and only drops members added since); an empty or missing set records nothing.

``c``, ``s`` and ``n`` are a counter, a set and a compacted set's size (``redis.py`` names them;
``n`` always hashes to the same cluster slot as its ``s``, so both go in one script). Every key
is declared in ``KEYS``; the ops are one JSON argument (amounts and TTLs as strings, so that Lua's
numbers never round them), and the reply is one integer per op.

Why one script and not a ``MULTI`` of commands: redis-py's asyncio client packs each command and
reads each reply in Python, with a timeout scope per reply (≈ 65 µs of CPU a command, two commands
a write); a counted batch of 1,000 quality samples is ≈ 400 writes (``bench/README.md``,
"realtime-count").
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from rtcconsole_server.live.base import _Write

__all__ = ["BATCH_SCRIPT", "batch_command", "hash_tag"]

BATCH_SCRIPT = """
local ops = cjson.decode(ARGV[1])
local results = {}
local k = 1
for i, op in ipairs(ops) do
  local kind, key = op[1], KEYS[k]
  if kind == 'i' then
    results[i] = redis.call('INCRBY', key, op[3])
    redis.call('EXPIRE', key, op[2])
    k = k + 1
  elseif kind == 's' then
    local members, added = op[3], 0
    for j = 1, #members, 1000 do
      added = added + redis.call('SADD', key, unpack(members, j, math.min(j + 999, #members)))
    end
    redis.call('EXPIRE', key, op[2])
    results[i] = added
    k = k + 1
  elseif kind == 'g' then
    results[i] = tonumber(redis.call('GET', key) or 0)
    k = k + 1
  elseif kind == 'c' then
    local size = redis.call('GET', KEYS[k + 1])
    if size then
      results[i] = tonumber(size)
    else
      results[i] = redis.call('SCARD', key)
    end
    k = k + 2
  else
    local size = redis.call('GET', KEYS[k + 1])
    if size then
      redis.call('DEL', key)
      results[i] = tonumber(size)
    else
      size = redis.call('SCARD', key)
      if size > 0 then
        redis.call('SET', KEYS[k + 1], size, 'EX', op[2])
        redis.call('DEL', key)
      end
      results[i] = size
    end
    k = k + 2
  end
end
return results
"""
"""Run a batch's ops (``ARGV[1]``: JSON ``[[kind, ttl, amount | members], …]``, kinds ``i`` incr,
``s`` sadd, ``g`` get, ``c`` scard, ``x`` compact) on ``KEYS`` (one per op; two for ``c`` and
``x``: the set and its compacted size); one integer per op."""

_KINDS = {"incr": "i", "sadd": "s", "get": "g", "scard": "c", "compact": "x"}


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


def batch_command(ops: list[_Op]) -> tuple[str | int, ...]:
    """The ``EVAL`` of :data:`BATCH_SCRIPT` for ``ops``, in order; its reply is one int per op."""
    keys: list[str] = []
    body: list[list[Any]] = []
    for op in ops:
        write = op.write
        kind = _KINDS[write.kind]
        keys.append(op.name)
        if kind in ("c", "x"):
            keys.append(op.size_name)
        if kind == "i":
            body.append([kind, str(op.ttl), str(write.amount)])
        elif kind == "s":
            body.append([kind, str(op.ttl), list(write.members)])
        else:
            body.append([kind, str(op.ttl)])
    return ("EVAL", BATCH_SCRIPT, len(keys), *keys, json.dumps(body, separators=(",", ":")))
