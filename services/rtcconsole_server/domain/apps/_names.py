"""R2: the alphabet and lengths of app names and descriptions."""

from __future__ import annotations

import unicodedata

from rtcconsole_server.errors import FieldViolation

__all__ = ["DESCRIPTION_MAX", "NAME_MAX", "check_app_description", "check_app_name", "is_allowed_char"]

NAME_MAX = 15
"""Characters (code points, not bytes) in an app name."""
DESCRIPTION_MAX = 15
"""Characters in an app description."""

_ALPHABET = "digits, ASCII letters, CJK Unified Ideographs and _"


def is_allowed_char(char: str) -> bool:
    """A digit 0-9, an ASCII letter, ``_``, or a CJK Unified Ideograph (any block,
    including the extensions; compatibility ideographs, kana and full-width
    letters are not)."""
    if char.isascii():
        return char.isalnum() or char == "_"
    return unicodedata.name(char, "").startswith("CJK UNIFIED IDEOGRAPH")


def _check(field: str, value: str, *, minimum: int, maximum: int) -> list[FieldViolation]:
    violations = []
    length = len(value)
    if length < minimum:
        violations.append(FieldViolation(field, f"must be {minimum}-{maximum} characters (R2); it is empty"))
    elif length > maximum:
        violations.append(
            FieldViolation(field, f"must be {minimum}-{maximum} characters (R2); it has {length}")
        )
    bad = sorted({c for c in value if not is_allowed_char(c)})
    if bad:
        shown = " ".join(f"{c!r} (U+{ord(c):04X})" for c in bad[:5])
        violations.append(FieldViolation(field, f"may contain only {_ALPHABET} (R2); found {shown}"))
    return violations


def check_app_name(value: str, *, field: str = "name") -> list[FieldViolation]:
    """Violations of R2 by an app name: 1-15 allowed characters."""
    return _check(field, value, minimum=1, maximum=NAME_MAX)


def check_app_description(value: str, *, field: str = "description") -> list[FieldViolation]:
    """Violations of R2 by an app description: 0-15 allowed characters."""
    return _check(field, value, minimum=0, maximum=DESCRIPTION_MAX)
