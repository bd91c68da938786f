"""A geometry widget that works offline: a textarea taking GeoJSON, WKT or "lon, lat",
with a Leaflet preview drawn from static/vendor (no tile server, no CDN). GeoDjango's
default OpenLayers widget loads its library and tiles from the internet; this one saves a
form with nothing but typed coordinates."""

import json
import re

from django import forms
from django.contrib.gis.gdal import GDALException
from django.contrib.gis.geos import GEOSException, GEOSGeometry, MultiPolygon, Point

from communities.geo import geojson_geometry_text

LON_LAT = re.compile(r"^\s*(-?\d+(?:\.\d+)?)\s*[,;\s]\s*(-?\d+(?:\.\d+)?)\s*$")


class GeoJSONTextarea(forms.Textarea):
    template_name = "communities/widgets/geojson_textarea.html"
    map_srid = 4326

    class Media:
        css = {"all": ["vendor/leaflet/leaflet.css", "communities/geojson_widget.css"]}
        js = ["vendor/leaflet/leaflet.js", "communities/geopreview.js"]

    def __init__(self, attrs=None):
        super().__init__({"rows": 6, "cols": 80, **(attrs or {})})

    def format_value(self, value):
        if isinstance(value, GEOSGeometry):
            return json.dumps(json.loads(value.json))
        return value

    def get_context(self, name, value, attrs):
        context = super().get_context(name, value, attrs)
        widget_attrs = context["widget"]["attrs"]
        context["geom_type"] = widget_attrs.pop("geom_type", "GEOMETRY")
        return context

    def deserialize(self, value):
        """GeoJSON, WKT/EWKT or "lon, lat" -> GEOS geometry in SRID 4326 (None if unreadable).
        A Polygon typed for a MultiPolygon field is promoted."""
        text = (value or "").strip()
        match = LON_LAT.match(text)
        try:
            if match:
                geom = Point(float(match[1]), float(match[2]))
            elif text.startswith("{"):
                geom = GEOSGeometry(geojson_geometry_text(text))
            else:
                geom = GEOSGeometry(text)
        except (GEOSException, GDALException, ValueError, TypeError):
            return None
        if geom.srid is None:
            geom.srid = self.map_srid
        if self.attrs.get("geom_type") == "MULTIPOLYGON" and geom.geom_type == "Polygon":
            geom = MultiPolygon(geom, srid=geom.srid)
        return geom
