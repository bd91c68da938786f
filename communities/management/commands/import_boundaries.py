"""`manage.py import_boundaries FILE --kind substations|communities`: GIS areas in (GDAL)."""

from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from communities.boundaries import BoundaryImportError, community_boundaries_import, substation_areas_import


class Command(BaseCommand):
    help = ("Import primary-substation areas (upsert by code) or community boundaries (by slug) from a "
            "GeoJSON, Shapefile or any GDAL vector file. All-or-nothing; reprojected to WGS 84.")

    def add_arguments(self, parser):
        parser.add_argument("path", type=Path)
        parser.add_argument("--kind", choices=["substations", "communities"], default="substations")
        parser.add_argument("--key-field", default=None,
                            help="Attribute with the substation code / community slug (default code / slug).")
        parser.add_argument("--name-field", default="name", help="Substation name attribute ('' for none).")
        parser.add_argument("--layer", default="0", help="Layer index or name (default the first).")

    def handle(self, *args, path: Path, kind: str, key_field, name_field, layer, **options):
        if not path.exists():
            raise CommandError(f"{path}: no such file.")
        layer = int(layer) if layer.isdigit() else layer
        try:
            if kind == "substations":
                result = substation_areas_import(path=path, code_field=key_field or "code",
                                                 name_field=name_field or None, layer=layer)
            else:
                result = community_boundaries_import(path=path, slug_field=key_field or "slug", layer=layer)
        except BoundaryImportError as exc:
            raise CommandError("Nothing imported:\n  " + "\n  ".join(exc.problems)) from None
        self.stdout.write(self.style.SUCCESS(
            f"{kind}: {len(result.created)} created, {len(result.updated)} updated."))
        for slug, outside in result.outside.items():
            codes = [p["code"] for p in outside["metering_points"]]
            plants = [p["name"] for p in outside["plants"]]
            self.stdout.write(self.style.WARNING(
                f"{slug}: now outside (kept, please review): metering points {codes}, plants {plants}"))
