"""Time zones as people pick them: grouped by region, each with its place name and current offset from UTC.

Every zone zoneinfo knows is accepted (an account may hold an old alias such
as "US/Eastern"), but the list offers the places under the ten regions of the
tz database, and UTC. Browsers report some places by older names ("Asia/Calcutta"
in Chrome); those are places in a region too, so a detected zone is found in
the list as the browser names it.
"""

from __future__ import annotations

import time
import zoneinfo
from datetime import UTC, datetime
from functools import lru_cache

REGIONS = ("Africa", "America", "Antarctica", "Arctic", "Asia", "Atlantic", "Australia", "Europe", "Indian", "Pacific")
# In zoneinfo's list, but not places anyone lives.
_NOT_PLACES = frozenset({"localtime", "Factory"})

Choices = list[tuple[str, list[tuple[str, str]]]]


def known(name: str) -> bool:
    return name not in _NOT_PLACES and name in zoneinfo.available_timezones()


def offset_label(zone: zoneinfo.ZoneInfo, now: datetime) -> str:
    """ "UTC+01:00", "UTC−03:00", "UTC+05:45": the offset the zone has now."""
    offset = now.astimezone(zone).utcoffset()
    minutes = int(offset.total_seconds() // 60) if offset is not None else 0
    sign = "+" if minutes >= 0 else "−"
    hours, minutes = divmod(abs(minutes), 60)
    return f"UTC{sign}{hours:02d}:{minutes:02d}"


def place_label(name: str) -> str:
    """ "America/Argentina/Buenos_Aires" → "Buenos Aires (Argentina)"; "Europe/Paris" → "Paris"."""
    parts = name.split("/")[1:]
    place = parts[-1].replace("_", " ")
    within = " ".join(p.replace("_", " ") for p in parts[:-1])
    return f"{place} ({within})" if within else place


@lru_cache(maxsize=2)
def _grouped(hour: int) -> Choices:
    now = datetime.fromtimestamp(hour * 3600, tz=UTC)
    groups: dict[str, list[tuple[str, str]]] = {region: [] for region in REGIONS}
    for name in zoneinfo.available_timezones():
        region, _, rest = name.partition("/")
        if region in groups and rest:
            label = f"{place_label(name)}, {offset_label(zoneinfo.ZoneInfo(name), now)}"
            groups[region].append((name, label))
    universal = [("UTC", "UTC, Coordinated Universal Time")]
    regions = [(region, sorted(items, key=lambda choice: choice[1])) for region, items in groups.items()]
    return [("Universal", universal), *regions]


def grouped_choices() -> Choices:
    """The list, offsets as they are this hour (recomputed at most once an hour per process)."""
    return _grouped(int(time.time() // 3600))


def listed(name: str) -> bool:
    return any(name == value for _, items in grouped_choices() for value, _ in items)
