"""The README's walkthrough, top to bottom, through the real binaries against a real server.

The blocks run as written (see ``walkthrough.py``) in a scratch directory that looks like
a fresh clone after ``make install``, with a fresh ``HOME`` (so the default data directory
and rtcctl's token cache start empty, as on a new laptop). Two things differ from a reader's
terminal, two in the environment and one in the text: the server listens on a free port
(``RTC_LISTEN``; the walk hands ``RTC_TARGET`` on) and so does its HTTP door
(``RTC_HTTP_LISTEN``, its address replaced in the text as well), the minutes of R7 and R11 are seconds
(``RTC_OPERATION_DELAY_SECONDS``, ``RTC_CONFIG_DELAY_SECONDS``), so that ``ops wait``
returns in a second rather than three minutes, and the receiver's port 9000 is replaced by a
free one, so that two runs on one machine do not collide. The examples carry relative
times, so the walk works on whatever day it runs.
"""

from __future__ import annotations

import os
import re
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.e2e.walkthrough import Walk, blocks
from tests.support import free_port

REPO = Path(__file__).resolve().parents[2]
README = REPO / "README.md"
RECEIVER_PORT = "9000"
"""The port of examples/receiver.py in the README; the walk uses a free one instead."""
HTTP_DOOR = "127.0.0.1:8080"
"""The HTTP door of the embedded server in the README; the walk uses a free port instead."""


def _readme(http_listen: str) -> str:
    """README.md with the receiver on a free port and the HTTP door on ``http_listen`` (the only
    changes to its text)."""
    text = README.read_text()
    assert text.count(RECEIVER_PORT) >= 3  # the receiver, its two URLs
    assert text.count(HTTP_DOOR) >= 3  # the curl calls of the HTTP door
    return text.replace(RECEIVER_PORT, str(free_port())).replace(HTTP_DOOR, http_listen)


@pytest.fixture
def walk(tmp_path: Path) -> Iterator[Walk]:
    root = tmp_path / "clone"
    root.mkdir()
    (root / ".venv").symlink_to(Path(sys.executable).parent.parent)
    for name in ("examples", "docs", "Makefile", "README.md"):
        (root / name).symlink_to(REPO / name)
    home = tmp_path / "home"
    home.mkdir()
    env = {
        "PATH": os.environ["PATH"],
        "HOME": str(home),
        "LANG": "C.UTF-8",
        "RTC_LISTEN": "127.0.0.1:0",
        "RTC_HTTP_LISTEN": f"127.0.0.1:{free_port()!s}",
        "RTC_OPERATION_DELAY_SECONDS": "1",
        "RTC_CONFIG_DELAY_SECONDS": "1",
        "RTC_WORKER_INTERVAL_SECONDS": "1",
    }
    session = Walk(root, env)
    try:
        yield session
    finally:
        session.close()


def test_the_makefile_serves_as_the_walk_does() -> None:
    """The walk starts ``.venv/bin/rtc-console serve`` where a reader runs ``make serve``."""
    recipe = re.search(r"^serve: install\n\t(.+)$", (REPO / "Makefile").read_text(), re.MULTILINE)
    assert recipe is not None and recipe.group(1) == "$(VENV)/bin/rtc-console serve"
    first = next(b for b in blocks(README.read_text()) if b.mode == "background")
    assert ".venv/bin/rtc-console serve" in first.code


# The whole walk (serve, the simulator, the aggregator, `monitor watch`, ~40 blocks) takes 30-90 s
# here: the suite's 120 s per test is too close for a loaded machine; each block keeps its own 120 s.
@pytest.mark.timeout(600)
def test_every_block_of_the_readme_runs(walk: Walk) -> None:
    walk.walk(_readme(walk.env["RTC_HTTP_LISTEN"]))

    printed = {block.line: output for block, output in walk.outputs}
    assert len(printed) == sum(1 for b in blocks(README.read_text()) if b.mode == "run")
    serve_log = walk.log_of("rtc-console serve")
    home = walk.env["HOME"]
    assert f"{home}/.local/share/rtc-console/rtc-console.db" in serve_log  # the store it uses
    logged = [line for line in serve_log.splitlines() if not line.startswith("+")]  # not bash's trace
    assert not [line for line in logged if "dev-token-not-for-production" in line]  # never logged
    everything = "\n".join(printed.values())
    assert "Traceback" not in everything and "Traceback" not in walk.logs()
    # the receiver got the test event and the call of examples/events.jsonl, signed with the key
    lines = (REPO / "examples" / "events.jsonl").read_text().splitlines()
    expected = 1 + sum(1 for line in lines if line.strip())  # the test event, then the call
    deadline = time.monotonic() + 60
    while len(received := _events_received(walk)) < expected and time.monotonic() < deadline:
        time.sleep(0.2)
    assert len(received) == expected, walk.logs()
    # usage of examples/usage.jsonl shows up once published
    usage = next(out for block, out in walk.outputs if "usage trtc" in block.code)
    assert "no usage" not in usage.lower()


def _events_received(walk: Walk) -> list[str]:
    """The receiver's event lines (``EVENT_ID ROOM_SEQ TYPE ROOM USER``)."""
    log = walk.log_of("examples/receiver.py")
    return [line for line in log.splitlines() if line and not line.startswith(("+", "listening on"))]


def test_the_receiver_of_the_docs_is_the_one_in_examples() -> None:
    """docs/callbacks.md shows the receiver that the walk runs (examples/receiver.py)."""
    docs = (REPO / "docs" / "callbacks.md").read_text()
    shown = docs.split("```python\n", 1)[1].split("```", 1)[0]
    example = (REPO / "examples" / "receiver.py").read_text()
    body = shown.split("class Receiver", 1)[1].split("HTTPServer(", 1)[0]
    for line in body.splitlines():
        if line.strip():
            assert line.replace("event.user_id)", "event.user_id, flush=True)") in example, line
    assert 'KEY = "YourCallbackKey"' in shown and 'KEY = "YourCallbackKey"' in example
    assert '("127.0.0.1", 9000)' in shown and '("127.0.0.1", port)' in example
