"""The result table: aligned, markdown-compatible, one line per row.

Example::

    | benchmark | subject   |  ops/s | p50 ms | p99 ms | baseline  | baseline ops/s | ratio |
    |-----------|-----------|-------:|-------:|-------:|-----------|---------------:|------:|
    | echo-self | echo c=64 |  5,210 |   12.1 |   19.8 | echo c=64 |          5,180 |  1.01 |
"""

from __future__ import annotations

import math
from collections.abc import Sequence

from bench.registry import Row

__all__ = ["COLUMNS", "format_ms", "format_ops", "format_ratio", "format_table", "notes"]

COLUMNS: tuple[tuple[str, bool], ...] = (
    ("benchmark", False),
    ("subject", False),
    ("ops/s", True),
    ("p50 ms", True),
    ("p99 ms", True),
    ("baseline", False),
    ("baseline ops/s", True),
    ("ratio", True),
)
"""Column titles, each with True when the column is numeric (right-aligned)."""


def format_ops(value: float) -> str:
    """Operations per second with thousands separators; 3 significant digits below 100."""
    if math.isnan(value):
        return "-"
    if value >= 100:
        return f"{value:,.0f}"
    return f"{value:.3g}"


def format_ms(value: float | None) -> str:
    """Milliseconds with about three significant digits; ``-`` when absent."""
    if value is None or math.isnan(value):
        return "-"
    if value >= 100:
        return f"{value:,.0f}"
    if value >= 10:
        return f"{value:.1f}"
    if value >= 1:
        return f"{value:.2f}"
    return f"{value:.3f}"


def format_ratio(value: float) -> str:
    """Subject/baseline ratio with two decimals; ``-`` when undefined."""
    return "-" if math.isnan(value) else f"{value:.2f}"


def _cells(row: Row) -> list[str]:
    return [
        row.benchmark,
        row.subject,
        format_ops(row.ops_per_s),
        format_ms(row.p50_ms),
        format_ms(row.p99_ms),
        row.baseline,
        format_ops(row.baseline_ops_per_s),
        format_ratio(row.ratio),
    ]


def format_table(rows: Sequence[Row]) -> str:
    """Return the rows as an aligned markdown table (no trailing newline)."""
    body = [_cells(row) for row in rows]
    widths = [max([len(title)] + [len(cells[i]) for cells in body]) for i, (title, _) in enumerate(COLUMNS)]

    def line(cells: Sequence[str]) -> str:
        padded = [
            cell.rjust(width) if numeric else cell.ljust(width)
            for cell, width, (_, numeric) in zip(cells, widths, COLUMNS, strict=True)
        ]
        return "| " + " | ".join(padded) + " |"

    rule = (
        "|"
        + "|".join(
            "-" * (width + 1) + ":" if numeric else "-" * (width + 2)
            for width, (_, numeric) in zip(widths, COLUMNS, strict=True)
        )
        + "|"
    )
    return "\n".join([line([title for title, _ in COLUMNS]), rule, *(line(cells) for cells in body)])


def notes(rows: Sequence[Row]) -> list[str]:
    """Lines to print under the table: row notes and, loudly, any errors."""
    out: list[str] = []
    for row in rows:
        label = f"{row.benchmark} / {row.subject}"
        if row.errors or row.baseline_errors:
            out.append(
                f"! {label}: {row.errors} subject errors, {row.baseline_errors} baseline errors; "
                f"first: {row.first_error}"
            )
        if row.note:
            out.append(f"- {label}: {row.note}")
    return out
