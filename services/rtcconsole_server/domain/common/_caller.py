"""Who is calling: the account behind a console call."""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["Caller"]


@dataclass(frozen=True)
class Caller:
    """The account behind a console call, and the API key it used."""

    account_id: int
    key_id: str
