"""The account-name rule (issue 11): a name every "account id or name" argument takes as typed.

1-64 characters, each an English letter, a digit, ``_``, ``-`` or ``.``, starting with a letter,
a digit or ``_`` (a leading ``-`` reads as a flag), and not only digits (those are ids: ``find``
takes an all-digit argument as an id first).
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from rtcconsole_server.clock import ManualClock
from rtcconsole_server.domain.auth import Accounts
from rtcconsole_server.domain.auth._accounts import ACCOUNT_NAME_RULE
from rtcconsole_server.errors import InvalidArgument, NotFound
from rtcconsole_server.store import open_store


@pytest.fixture
def accounts(database_url: str) -> Iterator[Accounts]:
    store = open_store(database_url)
    try:
        yield Accounts(store, ManualClock())
    finally:
        store.dispose()


@pytest.mark.parametrize("name", ["acme", "acme-corp.eu_1", "_ops", "1st", "0.5", "A" * 64, "x"])
def test_names_of_the_rule_are_accepted_and_found(accounts: Accounts, name: str) -> None:
    issued = accounts.create(name)
    assert accounts.find(name) == issued.account_id == accounts.find(str(issued.account_id))


@pytest.mark.parametrize(
    "name",
    [
        "",
        "acme corp",  # what issue 11 found accepted
        " acme",
        "acme\t",
        "acme\n",
        "A" * 65,
        "12345",  # only digits: an id
        "-acme",  # a flag to every command line
        ".acme",
        "a/b",
        "a;b",
        "a$b",
        "名前",
        "ａｃｍｅ",  # full-width letters
        "١٢٣",  # Arabic-Indic digits
        "acme\x00",
    ],
)
def test_other_names_are_refused_naming_the_rule(accounts: Accounts, name: str) -> None:
    with pytest.raises(InvalidArgument) as refused:
        accounts.create(name)
    (violation,) = refused.value.violations
    assert (violation.field, violation.description) == ("name", ACCOUNT_NAME_RULE)
    assert refused.value.message == f"account name {name!r} {ACCOUNT_NAME_RULE}"
    with pytest.raises(NotFound):  # nothing was created
        accounts.find(name or "-")


def test_an_all_digit_argument_is_an_id_and_unicode_digits_are_no_id(accounts: Accounts) -> None:
    first = accounts.create("first").account_id
    assert accounts.find(str(first)) == first
    for text in ("²", "١", str(first + 1), "9" * 30):  # beyond bigint: not found, no DataError
        with pytest.raises(NotFound):
            accounts.find(text)
