"""The ``rtcctl`` traps of issue 11 that its command line alone shows: no server is needed
(the connection is opened only by a command that runs, and these never get that far)."""

from __future__ import annotations

import argparse
import re
import shutil
import subprocess
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from importlib import metadata
from pathlib import Path

import pytest
from google.protobuf.timestamp_pb2 import Timestamp

import rtcconsole.cli
from rtcconsole.cli import amain, completion
from rtcconsole.cli._main import build_parser
from rtcconsole.times import INSTANT_FORMS

CLOSED = "127.0.0.1:9"
"""A target no command of these tests reaches: if one tried, it would exit 1, not 2."""


def _parsers(
    parser: argparse.ArgumentParser, path: tuple[str, ...] = ("rtcctl",)
) -> Iterator[tuple[tuple[str, ...], argparse.ArgumentParser]]:
    yield path, parser
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for name, sub in action.choices.items():
                yield from _parsers(sub, (*path, name))


TREE = list(_parsers(build_parser({})))


async def _run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    status = await amain(list(argv))
    out, err = capsys.readouterr()
    return status, out, err


def _error_lines(err: str) -> list[str]:
    return [line for line in err.splitlines() if ": error: " in line]


# -- 1. no abbreviated flags ---------------------------------------------------------------


def test_no_parser_of_the_tree_accepts_an_abbreviated_flag() -> None:
    """Every parser, the top one and each command word's, refuses ``--nam`` for ``--name``."""
    assert len(TREE) > 40  # not vacuous: every group and command is walked
    assert [" ".join(path) for path, parser in TREE if parser.allow_abbrev] == []


@pytest.mark.parametrize(
    ("argv", "abbreviation"),
    [
        ([f"--targ={CLOSED}", "auth", "whoami"], "--targ"),  # a top-level option
        (["auth", "whoami", "--jso"], "--jso"),  # a global option after the command words
        (["apps", "create", "--name", "x", "--descr", "d"], "--descr"),  # a command's own
        (["apps", "list", "--sdk", "1"], "--sdk"),
        (["usage", "trtc", "--from", "today", "--to", "now", "--gran", "1h"], "--gran"),
        (["auth", "keys", "create", "--display", "ci"], "--display"),  # a nested group
    ],
)
async def test_an_abbreviated_flag_is_a_usage_error(
    capsys: pytest.CaptureFixture[str], argv: list[str], abbreviation: str
) -> None:
    status, out, err = await _run(capsys, "--target", CLOSED, "--api-key", "rtc_x", *argv)
    assert (status, out) == (2, "")
    assert f"unrecognized arguments: {abbreviation}" in err


async def test_nam_does_not_create_an_app_named_x(capsys: pytest.CaptureFixture[str]) -> None:
    status, _, err = await _run(
        capsys, "--target", CLOSED, "--api-key", "rtc_x", "apps", "create", "--nam", "x"
    )
    assert status == 2 and "--name" in err  # the required --name is missing: --nam is not it


# -- 3. a usage error is printed once ------------------------------------------------------


@pytest.mark.parametrize(
    "argv",
    [
        ["apps", "get", "abc"],
        ["apps", "update", "1"],  # rtcctl's own check, after argparse
        ["apps", "disable", "1"],  # no --totp and nothing kept
        ["nonsense"],
    ],
)
async def test_a_usage_error_is_one_error_line_after_the_usage(
    capsys: pytest.CaptureFixture[str], argv: list[str]
) -> None:
    status, out, err = await _run(capsys, "--api-key", "rtc_x", "--target", CLOSED, *argv)
    assert (status, out) == (2, "")
    assert err.startswith("usage: rtcctl")
    assert len(_error_lines(err)) == 1
    assert err.splitlines()[-1] == _error_lines(err)[0]


# -- 5. exit statuses are documented ------------------------------------------------------


async def test_help_and_the_module_docstring_list_the_exit_statuses(
    capsys: pytest.CaptureFixture[str],
) -> None:
    status, out, _ = await _run(capsys, "--help")
    assert status == 0
    statuses = re.findall(r"^  ([0-3])  (\w+)", out, flags=re.MULTILINE)
    assert statuses == [("0", "success"), ("1", "refused"), ("2", "usage"), ("3", "rejected")]
    doc = rtcconsole.cli.__doc__ or ""
    for line in ("- 0: success", "- 1: refused", "- 2: usage", "- 3: rejected"):
        assert line in doc
    status, out, _ = await _run(capsys, "usersig", "verify", "--help")
    assert "exit status 3 when it is not valid" in out
    readme = (Path(__file__).parents[2] / "README.md").read_text()
    table = re.findall(r"^\| ([0-3]) \| (\w+)", readme, flags=re.MULTILINE)
    assert table == [("0", "success"), ("1", "refused"), ("2", "usage"), ("3", "rejected")]


# -- 6. --totp: optional, and six digits ---------------------------------------------------


def test_lifecycle_commands_take_a_code_a_token_or_neither() -> None:
    parser = build_parser({})
    assert parser.parse_args(["apps", "enable", "1"]).totp is None
    assert parser.parse_args(["apps", "enable", "1", "--totp", "123 456"]).totp == "123456"
    out = parser.parse_args(["apps", "delete", "1", "--secondary-auth-token", "t"])
    assert (out.totp, out.secondary_auth_token) == (None, "t")


# -- 9. relative times in every time flag --------------------------------------------------


def _time_flags() -> list[tuple[str, argparse.Action]]:
    """Every time flag of the tree: by convention their metavar is T or INSTANT."""
    return [
        (f"{' '.join(path)} {action.option_strings[0]}", action)
        for path, parser in TREE
        for action in parser._actions
        if action.option_strings and action.metavar in ("T", "INSTANT")
    ]


def _as_datetime(value: object) -> datetime:
    if isinstance(value, Timestamp):
        return value.ToDatetime(tzinfo=UTC)
    assert isinstance(value, datetime)
    return value


def test_every_time_flag_takes_relative_times() -> None:
    flags = _time_flags()
    names = {name for name, _ in flags}
    assert {"rtcctl usage trtc --from", "rtcctl usage trtc --to", "rtcctl usage recording --from"} <= names
    for name, action in flags:
        assert callable(action.type), name
        before = datetime.now(UTC)
        today = _as_datetime(action.type("today"))
        assert today == before.replace(hour=0, minute=0, second=0, microsecond=0) or today.hour == 0, name
        hour_ago = _as_datetime(action.type("now-1h"))
        assert before - timedelta(hours=1, seconds=5) <= hour_ago <= datetime.now(UTC) - timedelta(hours=1), (
            name
        )
        assert _as_datetime(action.type("+30d")) - before >= timedelta(days=30) - timedelta(seconds=5), name
        assert _as_datetime(action.type("2026-01-01T08:00Z")) == datetime(2026, 1, 1, 8, tzinfo=UTC), name
        with pytest.raises(argparse.ArgumentTypeError, match=re.escape(INSTANT_FORMS)):
            action.type("soon")


@pytest.mark.parametrize("start", ["today", "yesterday", "now-6h", "2026-01-01", "-1h"])
def test_usage_from_and_to_parse(start: str) -> None:
    args = build_parser({}).parse_args(["usage", "trtc", f"--from={start}", "--to", "now"])
    assert args.start.ToDatetime(tzinfo=UTC) < args.end.ToDatetime(tzinfo=UTC)


async def test_a_bad_time_names_the_forms(capsys: pytest.CaptureFixture[str]) -> None:
    status, _, err = await _run(capsys, "usage", "recording", "--from", "soon", "--to", "now")
    assert status == 2
    [line] = _error_lines(err)
    assert line.endswith(f"argument --from: not a time: 'soon'; use {INSTANT_FORMS}")


# -- 10. --version and completion ------------------------------------------------------------


async def test_version(capsys: pytest.CaptureFixture[str]) -> None:
    status, out, _ = await _run(capsys, "--version")
    assert (status, out) == (0, f"rtcctl {metadata.version('rtcconsole')}\n")


def _every_word_and_flag() -> tuple[set[str], set[str]]:
    words = {path[-1] for path, _ in TREE if len(path) > 1}
    flags = {flag for _, parser in TREE for action in parser._actions for flag in action.option_strings}
    return words, flags


async def test_completion_scripts_name_every_command_word_and_flag(
    capsys: pytest.CaptureFixture[str],
) -> None:
    words, flags = _every_word_and_flag()
    assert {"apps", "disable", "completion", "keys"} <= words and "--sdk-app-id" in flags
    for shell in completion.SHELLS:
        status, script, _ = await _run(capsys, "completion", shell)
        assert status == 0
        tokens = set(re.findall(r"[\w-]+", script))
        assert words <= tokens and flags <= tokens, shell
    status, script, _ = await _run(capsys, "completion", "zsh")
    assert script.startswith("#compdef rtcctl\n")
    status, out, _ = await _run(capsys, "completion", "--help")
    assert "source <(rtcctl completion bash)" in out and "source <(rtcctl completion zsh)" in out


def _bash_complete(script: Path, *words: str) -> list[str]:
    """What the bash script completes for ``words`` (the last one is being typed)."""
    program = (
        f"source {script}; COMP_WORDS=({' '.join(repr(w) for w in words)}); "
        "COMP_CWORD=$((${#COMP_WORDS[@]} - 1)); _rtcctl; printf '%s\\n' \"${COMPREPLY[@]}\""
    )
    done = subprocess.run(["bash", "-c", program], capture_output=True, text=True, check=True)
    return [line for line in done.stdout.splitlines() if line]


@pytest.fixture
def bash_script(tmp_path: Path) -> Path:
    path = tmp_path / "rtcctl.bash"
    path.write_text(completion.bash_script(build_parser({})), encoding="utf-8")
    return path


def test_the_bash_script_parses_and_completes(bash_script: Path, tmp_path: Path) -> None:
    assert subprocess.run(["bash", "-n", str(bash_script)], check=False).returncode == 0
    assert "apps" in _bash_complete(bash_script, "rtcctl", "")
    assert _bash_complete(bash_script, "rtcctl", "--json", "apps", "di") == ["disable"]
    assert _bash_complete(bash_script, "rtcctl", "apps", "list", "--sdk") == ["--sdk-app-id"]
    assert _bash_complete(bash_script, "rtcctl", "usage", "trtc", "--granularity", "") == ["1d", "1h", "5m"]
    # bash splits --granularity=1 into --granularity, =, 1
    assert _bash_complete(bash_script, "rtcctl", "usage", "trtc", "--granularity", "=", "1") == ["1d", "1h"]
    assert _bash_complete(bash_script, "rtcctl", "--target", "apps", "apps", "") != []  # a value, not a word
    assert _bash_complete(bash_script, "rtcctl", "completion", "") == ["bash", "zsh"]
    (tmp_path / "background.png").write_bytes(b"")
    assert _bash_complete(bash_script, "rtcctl", "materials", "add", "1", f"{tmp_path}/back") == [
        f"{tmp_path}/background.png"
    ]


@pytest.mark.skipif(shutil.which("zsh") is None, reason="zsh is not installed")
def test_the_zsh_script_parses_and_completes(tmp_path: Path) -> None:
    script = tmp_path / "_rtcctl"
    script.write_text(completion.zsh_script(build_parser({})), encoding="utf-8")
    assert subprocess.run(["zsh", "-n", str(script)], check=False).returncode == 0
    program = (
        'compdef() { print -r -- "compdef $*" }; compadd() { shift; print -r -- "$*" }; '
        "_files() { print -r -- FILES }; _message() { :; }; compset() { :; }; "
        f"source {script}; "
        "words=(rtcctl apps di); CURRENT=3; _rtcctl; "
        "words=(rtcctl usage trtc --granularity ''); CURRENT=5; _rtcctl; "
        "words=(rtcctl materials add 1 ''); CURRENT=5; _rtcctl"
    )
    done = subprocess.run(["zsh", "-fc", program], capture_output=True, text=True, check=True)
    compdef, words, choices, files = done.stdout.splitlines()
    assert compdef == "compdef _rtcctl rtcctl"
    assert "disable" in words.split() and "create" in words.split()  # compadd filters by prefix itself
    assert (choices, files) == ("1d 1h 5m", "FILES")


# -- 11. rtcctl's own messages name what may be typed ---------------------------------------


@pytest.mark.parametrize(
    ("argv", "named"),
    [
        (["--timeout", "soon", "auth", "whoami"], "a number of seconds above 0 such as 30 or 0.5"),
        (["--timeout", "0", "auth", "whoami"], "a number of seconds above 0"),
        (["apps", "get", "abc"], "a whole number from 1 to 18446744073709551615"),
        (["materials", "add", "1", "f.png", "--x", "-1"], "a whole number from 0 to 4294967295"),
        (["apps", "disable", "1", "--totp", "12ab56"], "a TOTP code is 6 digits such as 123456"),
        (["auth", "secondary", "--totp", "1234567"], "a TOTP code is 6 digits"),
        (["usage", "trtc", "--from", "today", "--to", "now", "--granularity", "2h"], "'1d', '1h', '5m'"),
        (
            ["usersig", "gen", "--sdk-app-id", "1", "--user", "u", "--expire", "-5"],
            "seconds above 0 such as 3600",
        ),
        (
            [
                "privatemapkey",
                "gen",
                "--sdk-app-id",
                "1",
                "--user",
                "u",
                "--room-id",
                "1",
                "--privileges",
                "x",
            ],
            "known: create-room, enter-room,",
        ),
        (["completion", "fish"], "'bash', 'zsh'"),
        (["tags", "attach", "1", "team"], "expected KEY=VALUE"),
    ],
)
async def test_a_bad_value_names_what_may_be_typed(
    capsys: pytest.CaptureFixture[str], argv: list[str], named: str
) -> None:
    status, _, err = await _run(capsys, "--target", CLOSED, "--api-key", "rtc_x", *argv)
    assert status == 2
    [line] = _error_lines(err)
    assert named in line
