"""GeoJSON in and out of the API, and the query-string geometry filters (bbox, near).

Everything is SRID 4326, coordinates in GeoJSON order (lon, lat). Bad input raises a DRF
ValidationError naming the offending field, which the API answers as a 400 envelope.
"""

import json

from django.contrib.gis.gdal.error import GDALException
from django.contrib.gis.geos import GEOSException, GEOSGeometry, MultiPolygon, Point, Polygon
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers
from rest_framework.exceptions import ValidationError

SRID = 4326


WGS84_CRS_NAMES = {"EPSG:4326", "urn:ogc:def:crs:EPSG::4326", "urn:ogc:def:crs:OGC:1.3:CRS84", "CRS84"}


def geojson_geometry_text(value) -> str:
    """The JSON text of a GeoJSON geometry (dict, Feature or string), without its `crs`.

    A `crs` member is accepted only when it names WGS 84: GDAL may follow linked CRS
    references (files, URLs), and coordinates are always lon/lat WGS 84 here anyway.
    """
    if isinstance(value, str):
        try:
            value = json.loads(value)
        except ValueError:
            raise ValueError("Expected a GeoJSON geometry object.") from None
    if not isinstance(value, dict):
        raise ValueError("Expected a GeoJSON geometry object.")
    if value.get("type") == "Feature":
        value = value.get("geometry")
        if not isinstance(value, dict):
            raise ValueError("The Feature has no geometry.")
    crs = value.get("crs")
    if crs is not None:
        name = crs.get("properties", {}).get("name") if isinstance(crs, dict) else None
        if not (isinstance(crs, dict) and crs.get("type") == "name" and name in WGS84_CRS_NAMES):
            raise ValueError("Only WGS 84 coordinates (lon, lat) are accepted; drop the crs member.")
        value = {k: v for k, v in value.items() if k != "crs"}
    return json.dumps(value)


def parse_geojson(value, *, expect: str) -> GEOSGeometry:
    """A GEOS geometry from a GeoJSON geometry (dict or string) of type `expect`.

    A Polygon is promoted to a MultiPolygon when `expect` is MultiPolygon. Raises
    ValueError with a human message on anything else.
    """
    text = geojson_geometry_text(value)
    try:
        geom = GEOSGeometry(text)
    except (GEOSException, GDALException, ValueError, TypeError) as exc:
        raise ValueError(f"Not a valid GeoJSON geometry ({exc}).") from None
    geom.srid = SRID
    if expect == "MultiPolygon" and geom.geom_type == "Polygon":
        geom = MultiPolygon(geom, srid=SRID)
    if geom.geom_type != expect:
        raise ValueError(f"Expected a {expect}, got a {geom.geom_type}.")
    if geom.empty:
        raise ValueError("The geometry is empty.")
    if not geom.valid:
        raise ValueError(f"Invalid geometry: {geom.valid_reason}.")
    xmin, ymin, xmax, ymax = geom.extent
    if not (xmin >= -180 and xmax <= 180 and ymin >= -90 and ymax <= 90):
        raise ValueError("Coordinates must be lon in [-180, 180] and lat in [-90, 90].")
    return geom


def to_geojson(geom) -> dict | None:
    return json.loads(geom.json) if geom is not None else None


@extend_schema_field(
    {
        "type": "object",
        "description": "A GeoJSON geometry (RFC 7946, lon/lat, WGS 84).",
        "properties": {"type": {"type": "string"}, "coordinates": {"type": "array", "items": {}}},
        "required": ["type", "coordinates"],
    }
)
class GeoJSONField(serializers.Field):
    """A geometry field that reads and writes GeoJSON geometry objects."""

    def __init__(self, geom_type: str, **kwargs):
        self.geom_type = geom_type
        super().__init__(**kwargs)

    def to_internal_value(self, data):
        try:
            return parse_geojson(data, expect=self.geom_type)
        except ValueError as exc:
            raise serializers.ValidationError(str(exc)) from None

    def to_representation(self, value):
        return to_geojson(value)


class LonLatField(serializers.Field):
    """A Point as GeoJSON, or as {"lon": .., "lat": ..} for convenience on input."""

    def to_internal_value(self, data):
        if isinstance(data, dict) and "lon" in data and "lat" in data:
            try:
                lon, lat = float(data["lon"]), float(data["lat"])
            except (TypeError, ValueError):
                raise serializers.ValidationError("lon and lat must be numbers.") from None
            data = {"type": "Point", "coordinates": [lon, lat]}
        try:
            return parse_geojson(data, expect="Point")
        except ValueError as exc:
            raise serializers.ValidationError(str(exc)) from None

    def to_representation(self, value):
        return to_geojson(value)


extend_schema_field(OpenApiTypes.OBJECT)(LonLatField)


def parse_bbox(raw: str) -> Polygon:
    """`minlon,minlat,maxlon,maxlat` -> a Polygon; ValidationError on `in_bbox`."""
    try:
        parts = [float(p) for p in raw.split(",")]
    except ValueError:
        parts = []
    if len(parts) != 4:
        raise ValidationError({"in_bbox": ["Expected four numbers: minlon,minlat,maxlon,maxlat."]})
    minlon, minlat, maxlon, maxlat = parts
    if not (-180 <= minlon < maxlon <= 180 and -90 <= minlat < maxlat <= 90):
        raise ValidationError(
            {"in_bbox": ["Need -180 <= minlon < maxlon <= 180 and -90 <= minlat < maxlat <= 90."]}
        )
    return Polygon.from_bbox((minlon, minlat, maxlon, maxlat))


def parse_near(raw: str) -> Point:
    """`lat,lon` -> a Point (note the order: the query string says lat first)."""
    try:
        lat, lon = (float(p) for p in raw.split(","))
    except ValueError:
        raise ValidationError({"near": ["Expected lat,lon."]}) from None
    if not (-90 <= lat <= 90 and -180 <= lon <= 180):
        raise ValidationError({"near": ["lat must be in [-90, 90] and lon in [-180, 180]."]})
    return Point(lon, lat, srid=SRID)


def parse_radius_km(raw: str | None, default: float = 10.0) -> float:
    if raw in (None, ""):
        return default
    try:
        value = float(raw)
    except ValueError:
        raise ValidationError({"radius_km": ["Must be a number."]}) from None
    if not 0 < value <= 1000:
        raise ValidationError({"radius_km": ["Must be in (0, 1000]."]})
    return value
