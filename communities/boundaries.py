"""Import substation areas or community boundaries from GIS files (GDAL: GeoJSON,
Shapefile, GeoPackage...). All-or-nothing: one bad feature and nothing is written."""

from dataclasses import dataclass, field
from pathlib import Path

from django.contrib.gis.gdal import DataSource, GDALException, OGRGeometry, SpatialReference
from django.contrib.gis.geos import GEOSGeometry, MultiPolygon
from django.db import transaction

from communities.models import Community, SubstationArea
from communities.services import community_update


class BoundaryImportError(Exception):
    def __init__(self, problems: list[str]):
        super().__init__("; ".join(problems))
        self.problems = problems


@dataclass
class BoundaryImport:
    created: list[str] = field(default_factory=list)
    updated: list[str] = field(default_factory=list)
    #: community slug -> what no longer fits its new boundary (never dropped)
    outside: dict = field(default_factory=dict)


def _multipolygon(geom: OGRGeometry, srs: SpatialReference | None) -> GEOSGeometry:
    if srs is not None:
        geom.transform(SpatialReference(4326))
    out = geom.geos
    out.srid = 4326
    if out.geom_type == "Polygon":
        out = MultiPolygon(out, srid=4326)
    if out.geom_type != "MultiPolygon":
        raise ValueError(f"a {out.geom_type}, not a (Multi)Polygon")
    if not out.valid:
        raise ValueError(f"invalid geometry ({out.valid_reason})")
    return out


def read_features(path: Path, *, key_field: str, name_field: str | None, layer: int | str = 0):
    """[(key, name, MultiPolygon 4326)] from the file, or BoundaryImportError listing every
    bad feature."""
    try:
        source = DataSource(str(path))
    except GDALException as exc:
        raise BoundaryImportError([f"{path}: not a readable GIS file ({exc})."]) from None
    try:
        lyr = source[layer]
    except (IndexError, KeyError, GDALException):
        raise BoundaryImportError([f"{path}: no layer {layer!r}."]) from None
    if key_field not in lyr.fields:
        raise BoundaryImportError([f"{path}: no field {key_field!r} (fields: {', '.join(lyr.fields)})."])
    if name_field and name_field not in lyr.fields:
        raise BoundaryImportError([f"{path}: no field {name_field!r} (fields: {', '.join(lyr.fields)})."])
    rows, problems, seen = [], [], set()
    for index, feature in enumerate(lyr, 1):
        key = str(feature.get(key_field) or "").strip()
        if not key:
            problems.append(f"feature {index}: empty {key_field}.")
            continue
        if key in seen:
            problems.append(f"feature {index}: {key_field} {key!r} appears twice.")
            continue
        seen.add(key)
        try:
            geom = _multipolygon(feature.geom, lyr.srs)
        except (ValueError, GDALException) as exc:
            problems.append(f"feature {index} ({key}): {exc}.")
            continue
        name = str(feature.get(name_field) or "").strip() if name_field else ""
        rows.append((key, name, geom))
    if problems:
        raise BoundaryImportError(problems)
    if not rows:
        raise BoundaryImportError([f"{path}: no features."])
    return rows


@transaction.atomic
def substation_areas_import(*, path: Path, code_field: str = "code", name_field: str | None = "name",
                            layer: int | str = 0) -> BoundaryImport:
    result = BoundaryImport()
    for code, name, geom in read_features(path, key_field=code_field, name_field=name_field, layer=layer):
        code = code.upper()
        _, created = SubstationArea.objects.update_or_create(
            code=code, defaults={"name": name, "area": geom, "source": path.name})
        (result.created if created else result.updated).append(code)
    return result


@transaction.atomic
def community_boundaries_import(
    *, path: Path, slug_field: str = "slug", layer: int | str = 0
) -> BoundaryImport:
    """Set the boundary of each community named (by slug) in the file; unknown slugs fail
    the whole import. Members and plants now outside are reported, not dropped."""
    rows = read_features(path, key_field=slug_field, name_field=None, layer=layer)
    communities = {c.slug: c for c in Community.objects.filter(slug__in=[r[0] for r in rows])}
    missing = [slug for slug, _, _ in rows if slug not in communities]
    if missing:
        raise BoundaryImportError([f"no community with slug {slug!r}." for slug in missing])
    result = BoundaryImport()
    for slug, _, geom in rows:
        update = community_update(community=communities[slug], boundary=geom)
        result.updated.append(slug)
        if update.outside["metering_points"] or update.outside["plants"]:
            result.outside[slug] = update.outside
    return result
