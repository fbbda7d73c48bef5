"""Free text from callers that the store keeps or searches: the one rule every context applies.

PostgreSQL ``text`` cannot hold U+0000 (the driver refuses the whole statement), so a
NUL in an id, a name or a search filter would be a store error, answered as a bug,
on one backend and not on the other. Every context checks the strings it stores or
queries with :func:`text_violations` before any store work.
"""

from __future__ import annotations

from rtcconsole_server.errors import FieldViolation

__all__ = ["NUL_RULE", "has_nul", "text_violations"]

NUL_RULE = "must not contain NUL (U+0000)"
"""The description of a violation of the rule."""


def has_nul(text: str) -> bool:
    return "\x00" in text


def text_violations(
    value: str, field: str, *, min_len: int = 0, max_len: int | None = None
) -> list[FieldViolation]:
    """``value`` must hold ``min_len`` to ``max_len`` characters (code points) and no NUL.

    One violation at most, naming ``field``; the value itself is never quoted."""
    if len(value) < min_len or (max_len is not None and len(value) > max_len):
        if max_len is None:
            return [FieldViolation(field, f"must have at least {min_len} characters")]
        if min_len:
            return [FieldViolation(field, f"must be {min_len}-{max_len} characters")]
        return [FieldViolation(field, f"must be at most {max_len} characters")]
    if has_nul(value):
        return [FieldViolation(field, NUL_RULE)]
    return []
