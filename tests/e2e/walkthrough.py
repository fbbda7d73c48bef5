"""Running a Markdown walkthrough's shell blocks, as a reader would, in a scratch directory.

A walkthrough is the ```` ```sh ```` blocks of a Markdown file, in order. A block runs
in ``bash`` with ``set -euo pipefail`` and ``set -a`` (so that ``APP=…`` reaches the
next block), in a scratch directory that looks like a fresh clone after ``make
install``: ``.venv`` and the project's ``examples/`` and ``docs/``. Variables carry
from one block to the next, as they would in one terminal.

An HTML comment on the line before a block changes how it runs:

- ``<!-- walkthrough: skip (why) -->``: not run (``make test`` inside a test, say);
- ``<!-- walkthrough: background -->``: started in the background, like a second
  terminal; it must print ``listening on HOST:PORT``, and the walk goes on once it
  has. The first background ``rtc-console serve`` sets ``RTC_TARGET`` for the
  blocks after it, since the walk runs it on a free port (``RTC_LISTEN``).
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path

__all__ = ["Block", "Walk", "WalkError", "blocks"]

_FENCE = re.compile(r"^```sh\s*$")
_MARKER = re.compile(r"<!--\s*walkthrough:\s*(skip|background)\b(.*?)-->")
_LISTENING = re.compile(r"listening on (\S+)")


@dataclass(frozen=True)
class Block:
    """One ```` ```sh ```` block: where it starts, its text, and how it runs."""

    line: int
    """1-based line of the opening fence."""
    code: str
    mode: str
    """"run", "skip" or "background"."""


def blocks(markdown: str) -> list[Block]:
    """Every ```` ```sh ```` block of ``markdown``, with the mode its marker gives."""
    lines = markdown.splitlines()
    found: list[Block] = []
    index = 0
    while index < len(lines):
        if not _FENCE.match(lines[index]):
            index += 1
            continue
        start = index
        before = next((lines[i] for i in range(start - 1, -1, -1) if lines[i].strip()), "")
        marker = _MARKER.search(before)
        end = next(i for i in range(start + 1, len(lines)) if lines[i].startswith("```"))
        found.append(
            Block(start + 1, "\n".join(lines[start + 1 : end]), marker.group(1) if marker else "run")
        )
        index = end + 1
    return found


class WalkError(AssertionError):
    """A block failed; the message has the block's line, its output and the background logs."""


@dataclass
class Walk:
    """A scratch directory, the variables carried between blocks, and the background processes."""

    root: Path
    """The scratch directory (the blocks' working directory)."""
    env: dict[str, str]
    """The environment of the first block."""
    timeout: float = 120.0
    """Seconds one block may take."""
    outputs: list[tuple[Block, str]] = field(default_factory=list)
    """Each block run so far, with what it printed (stdout and stderr)."""
    background: list[tuple[Block, subprocess.Popen[bytes], Path]] = field(default_factory=list)

    def __post_init__(self) -> None:
        self._state.write_text("".join(f"export {k}={_quote(v)}\n" for k, v in self.env.items()))

    @property
    def _state(self) -> Path:
        """The variables carried from block to block, as ``export`` lines."""
        return self.root / ".walk-env"

    def _script(self, block: Block, *, save: bool) -> str:
        lines = [
            "set -euo pipefail",
            "set -a",
            f"source {self._state}",
            f"cd {self.root}",
            "set -x",
            block.code,
            "set +x",
        ]
        if save:
            lines.append(f"export -p > {self._state}")
        return "\n".join(lines) + "\n"

    def run(self, block: Block) -> str:
        """Run one block in the foreground; returns its output, raises :class:`WalkError`."""
        result = subprocess.run(
            ["bash", "--noprofile", "--norc", "-c", self._script(block, save=True)],
            capture_output=True,
            text=True,
            timeout=self.timeout,
            env=self.env,
        )
        output = result.stdout + result.stderr
        self.outputs.append((block, output))
        if result.returncode != 0:
            raise WalkError(f"block at line {block.line} exited {result.returncode}:\n{output}{self.logs()}")
        return output

    def start(self, block: Block) -> str:
        """Start a background block and wait for its ``listening on`` line; returns the address."""
        log = self.root / f".walk-background-{block.line}.log"
        with log.open("wb") as sink:
            process = subprocess.Popen(
                ["bash", "--noprofile", "--norc", "-c", self._script(block, save=False)],
                stdout=sink,
                stderr=subprocess.STDOUT,
                env=self.env,
                start_new_session=True,
            )
        self.background.append((block, process, log))
        deadline = time.monotonic() + 60
        while (found := _LISTENING.search(log.read_text(errors="replace"))) is None:
            if process.poll() is not None or time.monotonic() > deadline:
                raise WalkError(f"background block at line {block.line} did not start:\n{self.logs()}")
            time.sleep(0.05)
        address = found.group(1)
        if "rtc-console serve" in block.code and not any("RTC_TARGET=" in o for _, o in self.outputs):
            self._carry("RTC_TARGET", address)
        return address

    def _carry(self, name: str, value: str) -> None:
        """Set ``name`` for every later block (as ``export`` in the reader's terminal would)."""
        with self._state.open("a") as state:
            state.write(f"export {name}={_quote(value)}\n")

    def walk(self, markdown: str) -> None:
        """Every block of ``markdown`` in order."""
        for block in blocks(markdown):
            if block.mode == "run":
                self.run(block)
            elif block.mode == "background":
                self.start(block)

    def logs(self) -> str:
        """The background blocks' output so far, for failure messages."""
        return "".join(
            f"\n--- background block at line {block.line}:\n{log.read_text(errors='replace')[-6000:]}"
            for block, _, log in self.background
        )

    def log_of(self, needle: str) -> str:
        """The output of the background block whose code contains ``needle``."""
        return next(log.read_text(errors="replace") for b, _, log in self.background if needle in b.code)

    def close(self) -> None:
        """SIGTERM every background block (its whole process group) and wait for it."""
        for _, process, _ in reversed(self.background):
            if process.poll() is None:
                os.killpg(process.pid, signal.SIGTERM)
                try:
                    process.wait(timeout=30)
                except subprocess.TimeoutExpired:
                    os.killpg(process.pid, signal.SIGKILL)
                    process.wait()


def _quote(value: str) -> str:
    return "'" + value.replace("'", "'\"'\"'") + "'"
