"""Portal-wide template context: the map tile server (settings.MAP_TILE_URL)."""

from django.conf import settings


def portal(request):
    return {"MAP_TILE_URL": settings.MAP_TILE_URL, "MAP_TILE_ATTRIBUTION": settings.MAP_TILE_ATTRIBUTION}
