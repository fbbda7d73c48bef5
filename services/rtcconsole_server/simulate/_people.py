"""Who the simulated users are: platform, device, SDK, network, region (R18's user attributes).

A user's attributes are drawn once, from the run's seed and the user's number, so the same
user looks the same in every call of a run. The mixes are rough shares of a consumer app
(mobile first, some desktop and web); wired networks only on desktops and the web.
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

__all__ = ["Person", "person"]

_PLATFORMS: tuple[tuple[str, float, tuple[str, ...], str], ...] = (
    # platform, share, device models, SDK version
    ("android", 0.35, ("Xiaomi 14", "HUAWEI Mate 60", "OPPO Reno11", "vivo X100", "Galaxy S24"), "11.8.0.1"),
    ("ios", 0.30, ("iPhone15,2", "iPhone16,1", "iPhone14,5", "iPad13,18"), "11.8.0.2"),
    ("web", 0.15, ("Chrome 131", "Edge 131", "Safari 18"), "5.9.1"),
    ("windows", 0.12, ("Windows 11 x64", "Windows 10 x64"), "11.8.0.3"),
    ("mac", 0.08, ("MacBookPro18,3", "Mac14,2"), "11.8.0.4"),
)
_NETWORKS_MOBILE = (("wifi", 0.55), ("4g", 0.30), ("5g", 0.15))
_NETWORKS_DESKTOP = (("wifi", 0.55), ("wired", 0.40), ("5g", 0.05))
_REGIONS: tuple[tuple[str, float, str, tuple[str, ...], tuple[str, ...]], ...] = (
    # access point, share, country, provinces, carriers
    ("ap-shanghai", 0.25, "CN", ("Shanghai", "Jiangsu", "Zhejiang"), ("China Telecom", "China Mobile")),
    ("ap-guangzhou", 0.20, "CN", ("Guangdong", "Fujian", "Guangxi"), ("China Mobile", "China Unicom")),
    ("ap-beijing", 0.15, "CN", ("Beijing", "Hebei", "Shandong"), ("China Unicom", "China Telecom")),
    ("ap-singapore", 0.12, "SG", ("Singapore",), ("Singtel", "StarHub")),
    ("ap-tokyo", 0.10, "JP", ("Tokyo", "Osaka"), ("NTT Docomo", "KDDI", "SoftBank")),
    ("na-siliconvalley", 0.10, "US", ("California", "Washington"), ("AT&T", "Verizon")),
    ("eu-frankfurt", 0.08, "DE", ("Hesse", "Berlin"), ("Deutsche Telekom", "Vodafone")),
)


@dataclass(frozen=True)
class Person:
    """One simulated user and the session attributes it enters rooms with."""

    user_id: str
    platform: str
    device_model: str
    sdk_version: str
    network_type: str
    region: str
    country: str
    province: str
    carrier: str
    cpu_base: float
    """The device's usual system CPU, in % (a weak phone runs hotter)."""
    video_height: int
    """The camera resolution it sends: 360, 540 or 720 lines (16:9)."""


def _pick(rng: random.Random, shares: Sequence[tuple[Any, ...]]) -> tuple[Any, ...]:
    """One row of ``shares`` (the share in column 1), drawn by share."""
    point = rng.random() * sum(float(row[1]) for row in shares)
    for row in shares:
        point -= float(row[1])
        if point <= 0:
            return row
    return shares[-1]


def person(seed: int, number: int) -> Person:
    """User ``number`` of the run of ``seed``: the same attributes every time."""
    rng = random.Random(f"person:{seed}:{number}")  # noqa: S311  (a simulation, not a secret)
    platform, _, devices, sdk = _pick(rng, _PLATFORMS)
    assert isinstance(platform, str) and isinstance(devices, tuple) and isinstance(sdk, str)
    desktop = platform in ("web", "windows", "mac")
    network = _pick(rng, _NETWORKS_DESKTOP if desktop else _NETWORKS_MOBILE)[0]
    region, _, country, provinces, carriers = _pick(rng, _REGIONS)
    assert isinstance(provinces, tuple) and isinstance(carriers, tuple)
    return Person(
        user_id=f"user_{number:05d}",
        platform=platform,
        device_model=str(rng.choice(devices)),
        sdk_version=sdk,
        network_type=str(network),
        region=str(region),
        country=str(country),
        province=str(rng.choice(provinces)),
        carrier=str(rng.choice(carriers)),
        cpu_base=round(rng.uniform(15, 35) if desktop else rng.uniform(25, 50), 1),
        video_height=rng.choice((360, 540, 720, 720)),
    )
