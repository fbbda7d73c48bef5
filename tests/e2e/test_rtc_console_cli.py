"""The traps of ``rtc-console`` a new operator meets (issue 11), held by the real binary.

Each command runs as a subprocess, with a private ``HOME`` and no ``RTC_*`` variable, the way
the README's walkthrough runs it: which store a command uses, keys that work against the
server started the README's way, busy and bare ``--listen`` ports, errors in one line,
no alembic chatter, ``--version``, account names, relative package dates, and the alembic
commands of docs/operations.md.
"""

from __future__ import annotations

import argparse
import importlib.metadata
import json
import os
import re
import shlex
import shutil
import subprocess
import tomllib
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from rtcconsole import times
from rtcconsole.client import RtcConsole
from rtcconsole.errors import Unauthenticated
from rtcconsole.v1 import app_service_pb2 as app_pb
from rtcconsole_server.cli import _parser, parsers_of
from rtcconsole_server.cli_usage import parse_instant
from rtcconsole_server.settings import LISTEN_FORM, listen_address, split_listen
from rtcconsole_server.store.migrate import shown_url
from tests.e2e.processes import BIN, running
from tests.support import free_port

ROOT = Path(__file__).resolve().parents[2]
OPERATIONS = ROOT / "docs" / "operations.md"
MIGRATIONS = ROOT / "services" / "rtcconsole_server" / "store" / "migrations"
_LISTENING = re.compile(r"listening on (\S+)")
_KEY_LINE = re.compile(r"^api key \(shown once, keep it safe\): (rtc_\S+)$", re.MULTILINE)
_BUSY = (
    "rtc-console: cannot listen on 127.0.0.1:{port}: address in use "
    "(is another rtc-console serve running? pick another --listen)"
)


def _environ(home: Path) -> dict[str, str]:
    """The test's environment without any ``RTC_`` variable, with ``home`` as ``HOME``."""
    kept = {k: v for k, v in os.environ.items() if not k.startswith("RTC_")}
    return {**kept, "HOME": str(home)}


def _cli(home: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """``rtc-console ARGS`` to completion, as an operator runs it (no ``RTC_*``, ``HOME=home``)."""
    return subprocess.run(
        [str(BIN / "rtc-console"), *args],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
        env=_environ(home),
    )


def _default_store(home: Path) -> str:
    """How the store under ``home``'s default data directory is shown (absolute path)."""
    return f"sqlite:///{home / '.local' / 'share' / 'rtc-console' / 'rtc-console.db'}"


def _alembic_lines(text: str) -> list[str]:
    """Lines logged by alembic's loggers (``INFO alembic.runtime.migration: …``)."""
    return [line for line in text.splitlines() if re.search(r"\balembic\.\w", line)]


def _one_line(result: subprocess.CompletedProcess[str]) -> str:
    """The single line of stderr; fails if there are more, or a traceback."""
    assert "Traceback" not in result.stderr, result.stderr
    lines = result.stderr.splitlines()
    assert len(lines) == 1, result.stderr
    return lines[0]


@contextmanager
def _serve_the_readme_way(home: Path, log: Path) -> Iterator[tuple[subprocess.Popen[bytes], str]]:
    """``rtc-console serve`` with nothing but free ports (the default data dir under ``home``)."""
    argv = ["serve", "--listen", "127.0.0.1:0", "--http-listen", "127.0.0.1:0"]
    with running(argv, log=log, env=_environ(home)) as started:
        yield started


# ------------------------------------------------------------ the README's way, end to end


async def test_a_new_accounts_key_works_against_the_server_started_the_readme_way(tmp_path: Path) -> None:
    home = tmp_path / "home"
    home.mkdir()
    store = _default_store(home)
    with _serve_the_readme_way(home, tmp_path / "serve.log") as (_, target):
        served = (tmp_path / "serve.log").read_text()
        assert f"store: {store}\n" in served  # the file it uses, by its absolute path
        assert "data-plane token: not set: ingest and room-entry RPCs are refused" in served
        assert "store migrated to " in served and _alembic_lines(served) == []

        created = _cli(home, "admin", "account", "create", "acme")
        assert created.returncode == 0, created.stderr
        assert created.stderr == f"store: {store}\n"  # the same store; no "created a new store" note
        found = _KEY_LINE.search(created.stdout)
        assert found, created.stdout
        quiet = _cli(home, "admin", "account", "create", "beta", "-q")
        assert quiet.returncode == 0 and quiet.stderr == ""
        assert re.fullmatch(r"rtc_\S+\n", quiet.stdout), quiet.stdout  # only the key: $(… -q)

        async with await RtcConsole.connect(target, api_key=found.group(1), timeout=10) as acme:
            app = await acme.apps.create_app(name="readme_way")
            # a package valid from today for 30 days, whatever day this runs (R6)
            package = _cli(home, "admin", "account", "package", "add", "acme", "--minutes", "10000",
                           "--from", "today", "--to", "+30d", "--json")  # fmt: skip
            assert package.returncode == 0, package.stderr
            added = json.loads(package.stdout)
            assert (added["package"], added["metered"], added["added"]["in_force"]) == ("ok", True, True)
            assert added["store"] == store
            midnight = datetime.now(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
            assert added["added"]["valid_from"] == midnight.isoformat().replace("+00:00", "Z")
            running = await acme.apps.get_app(app.sdk_app_id)
            assert running.status == app_pb.APP_STATUS_NORMAL and not running.stop_reasons
        async with await RtcConsole.connect(target, api_key=quiet.stdout.strip(), timeout=10) as beta:
            assert list((await beta.apps.list_apps()).apps) == []
        async with await RtcConsole.connect(target, api_key=found.group(1) + "x", timeout=10) as wrong:
            with pytest.raises(Unauthenticated):
                await wrong.apps.list_apps()

        # busy port, given as a bare port number (accepted: 127.0.0.1:PORT): one line, exit 1
        port = target.rsplit(":", 1)[1]
        busy = _cli(home, "--log-level", "WARNING", "serve", "--listen", port)
        assert busy.returncode == 1
        assert _one_line(busy) == _BUSY.format(port=port)
        busy_logged = _cli(home, "serve", "--listen", f"127.0.0.1:{port}", "--data-plane-token", "s3cret-tok")
        assert busy_logged.returncode == 1 and "Traceback" not in busy_logged.stderr
        assert busy_logged.stderr.splitlines()[-1] == _BUSY.format(port=port)
        assert "data-plane token: set" in busy_logged.stderr and "s3cret-tok" not in busy_logged.stderr


# ------------------------------------------------------------ which store


def test_admin_commands_name_the_store_and_warn_when_they_create_one(tmp_path: Path) -> None:
    home = tmp_path / "home"
    first = _cli(home, "admin", "account", "create", "acme", "--json")
    assert first.returncode == 0
    assert json.loads(first.stdout)["store"] == _default_store(home)
    assert "rtc-console: note: there was no store at " in first.stderr  # the trap of issue 11
    assert _alembic_lines(first.stderr) == []
    services = _cli(home, "admin", "account", "services", "acme", "--css", "on")
    assert (services.returncode, services.stdout) == (0, "account_id=1 css=True vod=False\n")
    assert services.stderr == f"store: {_default_store(home)}\n"
    migrated = _cli(home, "migrate", "--data-dir", str(tmp_path / "other"))
    assert migrated.returncode == 0 and migrated.stdout.startswith("migrated to ")
    assert migrated.stderr == f"store: sqlite:///{tmp_path / 'other' / 'rtc-console.db'}\n"


def test_alembic_logs_only_with_debug(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'rtc.db'}"
    for argv in (
        ["migrate"],
        ["admin", "account", "create", "acme"],
        ["admin", "account", "package", "list", "acme"],
    ):
        result = _cli(tmp_path, *argv, "--database-url", url)
        assert result.returncode == 0 and _alembic_lines(result.stderr) == [], result.stderr
    debug = _cli(
        tmp_path, "--log-level", "DEBUG", "migrate", "--database-url", f"sqlite:///{tmp_path / 'b.db'}"
    )
    assert debug.returncode == 0 and _alembic_lines(debug.stderr) != []


def test_a_password_is_never_shown(tmp_path: Path) -> None:
    port = free_port()  # a port nothing listens on: the PostgreSQL is unreachable
    url = f"postgresql+psycopg://rtc:s3cr3t-pw@127.0.0.1:{port}/rtc"
    for argv in (
        ["migrate"],
        ["admin", "account", "create", "acme"],
        ["admin", "account", "billing", "acme"],
    ):
        result = _cli(tmp_path, *argv, "--database-url", url)
        assert result.returncode == 1
        line = _one_line(result)
        assert "s3cr3t" not in result.stdout + result.stderr
        assert line.startswith(
            f"rtc-console: error: cannot use the store postgresql+psycopg://rtc:***@127.0.0.1:{port}/rtc: "
        )
        assert "is the database running" in line


@pytest.mark.parametrize(
    ("url", "shown"),
    [
        ("postgresql+psycopg://rtc:s3cr3t@db.internal:5432/rtc", "postgresql+psycopg://rtc:***@db.internal:5432/rtc"),
        ("postgresql+psycopg://rtc:p%40ss%3Aw0rd@db/rtc?sslmode=require", "postgresql+psycopg://rtc:***@db/rtc?sslmode=require"),
        ("postgresql+psycopg://rtc@db/rtc?password=s3cr3t", "postgresql+psycopg://rtc@db/rtc?password=***"),
        ("postgresql+psycopg://rtc@db/rtc", "postgresql+psycopg://rtc@db/rtc"),
        ("postgres//rtc:s3cr3t@db/rtc", "postgres//***@db/rtc"),  # does not parse: masked anyway
        ("sqlite:////var/lib/rtc/rtc-console.db", "sqlite:////var/lib/rtc/rtc-console.db"),
    ],
)  # fmt: skip
def test_shown_url_hides_the_password(url: str, shown: str) -> None:
    assert shown_url(url) == shown
    assert "s3cr3t" not in shown_url(url) and "w0rd" not in shown_url(url)


def test_shown_url_gives_a_sqlite_file_its_absolute_path(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    assert shown_url("sqlite:///rtc.db") == f"sqlite:///{tmp_path / 'rtc.db'}"
    assert shown_url("sqlite:///~/x.db") == f"sqlite:///{Path.home() / 'x.db'}"


# ------------------------------------------------------------ errors: once, one line, no traceback


def test_operator_mistakes_are_one_line_with_what_to_do(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'rtc.db'}"
    assert _cli(tmp_path, "migrate", "--database-url", url).returncode == 0
    unknown = _cli(
        tmp_path, "admin", "account", "billing", "nobody", "--postpaid", "on", "--database-url", url
    )
    assert unknown.returncode == 1 and unknown.stdout == ""
    assert _one_line(unknown) == (
        f"rtc-console: error: account nobody not found in store {url}; is this the store serve uses? "
        "(--database-url, RTC_DATABASE_URL or --data-dir, RTC_DATA_DIR)"
    )
    no_driver = _cli(tmp_path, "migrate", "--database-url", "mysql://rtc:s3cr3t@db/rtc")
    assert no_driver.returncode == 1 and "s3cr3t" not in no_driver.stderr
    assert _one_line(no_driver).startswith(
        "rtc-console: error: the driver of database URL 'mysql://rtc:***@db/rtc'"
    )
    for bad in ("nonsense", "postgres://rtc:s3cr3t@db/rtc"):
        result = _cli(tmp_path, "admin", "account", "create", "acme", "--database-url", bad)
        assert result.returncode == 1
        line = _one_line(result)
        assert line.startswith("rtc-console: error: bad database URL ") and "s3cr3t" not in line
        assert line.endswith(
            "use sqlite:///PATH or postgresql+psycopg://USER:PASSWORD@HOST/DB "
            "(--database-url, RTC_DATABASE_URL)"
        )
    (tmp_path / "a-file").write_text("")
    unwritable = _cli(
        tmp_path, "admin", "account", "create", "acme", "--data-dir", str(tmp_path / "a-file" / "d")
    )
    assert unwritable.returncode == 1
    assert _one_line(unwritable).startswith("rtc-console: error: cannot open the store ")
    assert "pick a directory you can write" in unwritable.stderr
    usage = _cli(tmp_path, "--log-level", "LOUD", "migrate", "--database-url", url)
    assert (usage.returncode, _one_line(usage)) == (
        2, "rtc-console: error: --log-level must be one of DEBUG, INFO, WARNING, ERROR, got 'LOUD'"
    )  # fmt: skip


@pytest.mark.parametrize("listen", ["localhost", ":50762", "127.0.0.1:port", "::1:50762", "127.0.0.1:70000"])
def test_a_malformed_listen_address_says_what_it_takes(listen: str, tmp_path: Path) -> None:
    result = _cli(tmp_path, "--log-level", "WARNING", "serve", "--listen", listen,
                  "--database-url", f"sqlite:///{tmp_path / 'rtc.db'}")  # fmt: skip
    assert result.returncode == 1
    assert _one_line(result) == f"rtc-console: cannot listen on {listen}: {LISTEN_FORM}; got {listen!r}"


def test_a_bare_port_means_loopback() -> None:
    assert listen_address("50762") == "127.0.0.1:50762"
    assert listen_address(" 0 ") == "127.0.0.1:0"
    assert listen_address("0.0.0.0:50762") == "0.0.0.0:50762"
    assert split_listen("50762") == ("127.0.0.1", 50762)
    assert split_listen("[::1]:50051") == ("::1", 50051)
    assert split_listen("localhost:1") == ("localhost", 1)
    with pytest.raises(ValueError, match=re.escape(LISTEN_FORM)):
        split_listen("localhost")


def test_no_parser_of_the_tree_accepts_an_abbreviated_flag() -> None:
    """Every parser, the top one and each command word's, refuses ``--lis`` for ``--listen``."""
    tree = [(each.prog, each.allow_abbrev) for each in parsers_of(_parser())]
    assert len(tree) > 12  # not vacuous: serve, admin, account, package, ... are walked
    assert [prog for prog, abbreviates in tree if abbreviates] == []


@pytest.mark.parametrize(
    ("argv", "refusal"),
    [
        (["serve", "--lis", "1"], "unrecognized arguments: --lis"),  # not 127.0.0.1:1
        (["serve", "--data-plane-tok", "x"], "unrecognized arguments: --data-plane-tok"),
        (["--log-lev", "DEBUG", "migrate"], "invalid choice: 'DEBUG'"),  # --log-lev is no option
        (["admin", "account", "package", "add", "a", "--min", "5", "--from", "today", "--to", "+1d"],
         "the following arguments are required: --minutes"),
    ],
)  # fmt: skip
def test_an_abbreviated_flag_is_a_usage_error(tmp_path: Path, argv: list[str], refusal: str) -> None:
    result = _cli(tmp_path, *argv, "--database-url", f"sqlite:///{tmp_path / 'rtc.db'}")
    assert result.returncode == 2
    assert refusal in result.stderr
    assert not (tmp_path / "rtc.db").exists()  # refused before anything ran


# ------------------------------------------------------------ version, names, dates


def test_version_names_the_distribution_of_the_root_pyproject(tmp_path: Path) -> None:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    result = _cli(tmp_path, "--version")
    assert result.returncode == 0
    assert result.stdout == f"rtc-console {importlib.metadata.version(project['name'])}\n"
    assert importlib.metadata.version(project["name"]) == project["version"]


def test_account_names_with_spaces_or_only_digits_are_refused(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'rtc.db'}"
    for name in ("acme corp", "12345", "-acme"):
        result = _cli(tmp_path, "admin", "account", "create", "--database-url", url, "--", name)
        assert result.returncode == 1, (name, result.stdout)
        assert _one_line(result).startswith(
            f"rtc-console: error: account name {name!r} must be 1-64 characters"
        )
    good = _cli(tmp_path, "admin", "account", "create", "acme-corp.eu_1", "--json", "--database-url", url)
    assert good.returncode == 0 and json.loads(good.stdout)["account_id"] == 1


def test_package_dates_take_iso_8601_and_relative_forms() -> None:
    now = datetime.now(UTC)
    midnight = now.replace(hour=0, minute=0, second=0, microsecond=0)
    assert parse_instant("today") == midnight
    assert abs(parse_instant("+30d") - (now + timedelta(days=30))) < timedelta(minutes=1)
    assert parse_instant("2026-01-01") == datetime(2026, 1, 1, tzinfo=UTC)
    assert parse_instant("2026-01-01T08:00:00+08:00") == datetime(2026, 1, 1, tzinfo=UTC)
    for bad in ("someday", "today+999999999d"):
        with pytest.raises(argparse.ArgumentTypeError) as refused:
            parse_instant(bad)
        assert times.INSTANT_FORMS in str(refused.value)


# ------------------------------------------------------------ docs/operations.md


def _documented_alembic_commands() -> list[list[str]]:
    commands = [
        shlex.split(line)
        for line in OPERATIONS.read_text().splitlines()
        if line.startswith(".venv/bin/alembic ")
    ]
    assert [c[c.index("-x") + 2] for c in commands] == ["upgrade", "revision"], commands
    return commands


def test_the_documented_alembic_commands_run(tmp_path: Path) -> None:
    """Both commands of docs/operations.md as written, on a copy of the migrations (the new
    revision is written there, not into the repository) and a scratch SQLite file."""
    copy = tmp_path / "migrations"
    shutil.copytree(MIGRATIONS, copy, ignore=shutil.ignore_patterns("__pycache__"))
    scratch = f"url=sqlite:///{tmp_path / 'dev.db'}"
    for command in _documented_alembic_commands():
        ini = command.index("-c") + 1
        assert (ROOT / command[ini]).resolve() == MIGRATIONS / "alembic.ini"
        x = command.index("-x") + 1
        assert command[x].startswith("url=")  # env.py reads -x url=…
        command[0], command[ini], command[x] = str(BIN / "alembic"), str(copy / "alembic.ini"), scratch
        result = subprocess.run(
            command, capture_output=True, text=True, timeout=120, check=False, cwd=tmp_path
        )
        assert result.returncode == 0, result.stdout + result.stderr
    known = {p.name for p in MIGRATIONS.glob("versions/*.py")}
    (generated,) = [p for p in copy.glob("versions/*.py") if p.name not in known]
    body = generated.read_text()
    head = sorted(known)[-1].split("_")[0]
    assert f"down_revision = {head!r}" in body, body
    assert "op." not in body.split("def upgrade")[1].split("def downgrade")[0]  # models match the head
