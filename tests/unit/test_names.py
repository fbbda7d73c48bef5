"""R2: the alphabet and lengths of app names and descriptions, counted in characters."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from rtcconsole_server.domain.apps._names import check_app_description, check_app_name, is_allowed_char

ACCEPTED = [
    "a",
    "Z9",
    "my_app_01",
    "中文",
    "直播课堂_2",
    "一" * 15,  # 15 characters, 45 UTF-8 bytes: characters count, not bytes
    "𠀀",  # CJK Unified Ideographs Extension B
    "㐀",  # Extension A
    "_",
]
REJECTED = {
    "": "empty",
    "a" * 16: "too long",
    "一" * 16: "too long in characters",
    "あ": "hiragana",
    "カタカナ": "katakana",
    "my-app": "hyphen",
    "my app": "space",
    "app😀": "emoji",
    "ＡＢＣ": "full-width letters",
    "１２": "full-width digits",
    "é": "accented letter",
    "한국": "hangul",
    "\uf900": "CJK compatibility ideograph U+F900",
    "a.b": "dot",
    "a\u200bb": "zero-width space",
    "a\n": "newline",
}


@pytest.mark.parametrize("name", ACCEPTED)
def test_r2_accepts_allowed_names(name: str) -> None:
    assert check_app_name(name) == []


@pytest.mark.parametrize(("name", "why"), REJECTED.items())
def test_r2_rejects_names_with_a_field_violation(name: str, why: str) -> None:
    violations = check_app_name(name)
    assert violations, why
    assert all(v.field == "name" and "R2" in v.description for v in violations)


def test_r2_description_may_be_empty_but_not_longer_than_15() -> None:
    assert check_app_description("") == []
    assert check_app_description("说明_1") == []
    assert check_app_description("x" * 15) == []
    [violation] = check_app_description("x" * 16)
    assert violation.field == "description"
    assert "16" in violation.description


def test_r2_description_uses_the_same_alphabet() -> None:
    [violation] = check_app_description("hello world")
    assert "' '" in violation.description


@given(st.text(min_size=1, max_size=15))
def test_r2_a_name_is_valid_exactly_when_every_character_is(name: str) -> None:
    assert (check_app_name(name) == []) == all(is_allowed_char(c) for c in name)
