"""Usage categories (R16) as data: the aggregate-resolution tiers and their billing ratios.

Reporters (media servers) send a category with every usage record; this is the
one table that says which category a resolution falls in, so that every reporter
and the server agree. The aggregate resolution of a user is the sum of the
pixels of the video streams they receive at once.

    >>> category_for_resolution(1280, 720)
    'HD'
    >>> category_for_pixels(0)
    'Audio'
"""

from __future__ import annotations

from types import MappingProxyType

__all__ = [
    "BILLING_RATIO",
    "CATEGORIES",
    "PIXEL_TIERS",
    "category_for_pixels",
    "category_for_resolution",
]

CATEGORIES = ("Audio", "SD", "HD", "FullHD", "2K", "4K")
"""Every category, for interactive audio/video and for cloud recording alike."""

PIXEL_TIERS: tuple[tuple[str, int], ...] = (
    ("SD", 640 * 480),
    ("HD", 1280 * 720),
    ("FullHD", 1920 * 1080),
    ("2K", 2560 * 1440),
)
"""(category, largest aggregate resolution in pixels); anything above the last tier is 4K."""

BILLING_RATIO = MappingProxyType({"Audio": 1, "SD": 4, "HD": 4, "FullHD": 9, "2K": 16, "4K": 36})
"""Equivalent minutes a package is charged per settled minute of each category.

The published price list has no SD tier: SD is charged like HD (see docs/usage.md)."""


def category_for_pixels(pixels: int) -> str:
    """The category of an aggregate resolution of ``pixels`` (0 means audio only)."""
    if pixels < 0:
        raise ValueError("pixels must not be negative")
    if pixels == 0:
        return "Audio"
    for category, limit in PIXEL_TIERS:
        if pixels <= limit:
            return category
    return "4K"


def category_for_resolution(width: int, height: int) -> str:
    """The category of one ``width`` × ``height`` video (0 × 0 means audio only)."""
    if width < 0 or height < 0:
        raise ValueError("width and height must not be negative")
    return category_for_pixels(width * height)
