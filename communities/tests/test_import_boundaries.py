"""`import_boundaries` with files built on the fly: GeoJSON, and a Shapefile made by ogr2ogr."""

import json
import subprocess
from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from communities.models import Community, MeteringPoint, SubstationArea


def ring(lon, lat, half=0.05):
    return [
        [lon - half, lat - half],
        [lon + half, lat - half],
        [lon + half, lat + half],
        [lon - half, lat + half],
        [lon - half, lat - half],
    ]


def write_geojson(path, features):
    path.write_text(
        json.dumps(
            {
                "type": "FeatureCollection",
                "features": [
                    {"type": "Feature", "properties": props, "geometry": geom} for props, geom in features
                ],
            }
        )
    )
    return path


def run(*args):
    out = StringIO()
    call_command("import_boundaries", *map(str, args), stdout=out)
    return out.getvalue()


def test_it_imports_substation_areas_from_geojson(db, tmp_path):
    path = write_geojson(
        tmp_path / "cabine.geojson",
        [
            (
                {"code": "ac001e00001", "name": "Bologna Nord"},
                {"type": "Polygon", "coordinates": [ring(11.34, 44.49)]},
            ),
            (
                {"code": "AC001E00002", "name": "Bari"},
                {"type": "MultiPolygon", "coordinates": [[ring(16.87, 41.12)], [ring(17.2, 41.0, 0.01)]]},
            ),
        ],
    )
    out = run(path)
    assert "2 created, 0 updated" in out
    area = SubstationArea.objects.get(code="AC001E00001")
    assert area.name == "Bologna Nord" and area.area.geom_type == "MultiPolygon"
    assert area.area.extent == pytest.approx((11.29, 44.44, 11.39, 44.54))
    assert len(SubstationArea.objects.get(code="AC001E00002").area) == 2
    assert "0 created, 2 updated" in run(path)  # idempotent upsert


def test_it_imports_a_shapefile_made_with_ogr2ogr(db, tmp_path):
    src = write_geojson(
        tmp_path / "src.geojson",
        [
            ({"code": "AC777", "name": "Magliano"}, {"type": "Polygon", "coordinates": [ring(7.8, 44.46)]}),
        ],
    )
    shp = tmp_path / "cabine.shp"
    subprocess.run(["ogr2ogr", "-f", "ESRI Shapefile", str(shp), str(src)], check=True, capture_output=True)
    assert "1 created" in run(shp)
    area = SubstationArea.objects.get(code="AC777")
    # lon/lat order survives the round trip through the shapefile's .prj
    assert area.area.centroid.coords == pytest.approx((7.8, 44.46))


def test_it_reprojects_to_wgs84(db, tmp_path):
    src = write_geojson(
        tmp_path / "src.geojson",
        [
            ({"code": "AC888", "name": "Proj"}, {"type": "Polygon", "coordinates": [ring(11.34, 44.49)]}),
        ],
    )
    utm = tmp_path / "utm.shp"
    subprocess.run(
        ["ogr2ogr", "-f", "ESRI Shapefile", "-t_srs", "EPSG:32632", str(utm), str(src)],
        check=True,
        capture_output=True,
    )
    run(utm)
    assert SubstationArea.objects.get(code="AC888").area.centroid.coords == pytest.approx(
        (11.34, 44.49), abs=1e-3
    )


def test_a_bad_feature_imports_nothing(db, tmp_path):
    path = write_geojson(
        tmp_path / "bad.geojson",
        [
            ({"code": "OK1", "name": "fine"}, {"type": "Polygon", "coordinates": [ring(11.34, 44.49)]}),
            (
                {"code": "BOWTIE", "name": "self-crossing"},
                {"type": "Polygon", "coordinates": [[[0, 0], [1, 1], [1, 0], [0, 1], [0, 0]]]},
            ),
            ({"code": "PT", "name": "a point"}, {"type": "Point", "coordinates": [11, 44]}),
            ({"code": "", "name": "no code"}, {"type": "Polygon", "coordinates": [ring(12, 44)]}),
        ],
    )
    with pytest.raises(CommandError) as err:
        run(path)
    message = str(err.value)
    assert "BOWTIE" in message and "invalid geometry" in message
    assert "PT" in message and "not a (Multi)Polygon" in message
    assert "empty code" in message
    assert not SubstationArea.objects.exists()


def test_it_rejects_unreadable_files_and_missing_fields(db, tmp_path):
    junk = tmp_path / "junk.geojson"
    junk.write_text("this is not geojson")
    with pytest.raises(CommandError, match="not a readable GIS file"):
        run(junk)
    path = write_geojson(
        tmp_path / "nofield.geojson", [({"id": 1}, {"type": "Polygon", "coordinates": [ring(1, 1)]})]
    )
    with pytest.raises(CommandError, match="no field 'code'"):
        run(path)
    with pytest.raises(CommandError, match="no such file"):
        run(tmp_path / "missing.geojson")


def test_it_updates_community_boundaries_and_reports_who_is_now_outside(world, tmp_path):
    MeteringPoint.objects.create(
        membership=world.a.membership, code="IT001E12121212", location="SRID=4326;POINT(11.34 44.49)"
    )
    path = write_geojson(
        tmp_path / "communities.geojson",
        [
            ({"slug": "community-a"}, {"type": "Polygon", "coordinates": [ring(11.6, 44.7)]}),
            ({"slug": "community-b"}, {"type": "Polygon", "coordinates": [ring(16.87, 41.12)]}),
        ],
    )
    out = run(path, "--kind", "communities")
    assert "0 created, 2 updated" in out
    assert "community-a: now outside" in out and "IT001E12121212" in out and "Plant a" in out
    assert "community-b: now outside" not in out
    assert Community.objects.get(slug="community-a").boundary.centroid.coords == pytest.approx((11.6, 44.7))
    assert MeteringPoint.objects.filter(code="IT001E12121212").exists()


def test_an_unknown_community_slug_changes_nothing(world, tmp_path):
    before = Community.objects.get(slug="community-a").boundary
    path = write_geojson(
        tmp_path / "c.geojson",
        [
            ({"slug": "community-a"}, {"type": "Polygon", "coordinates": [ring(11.6, 44.7)]}),
            ({"slug": "atlantis"}, {"type": "Polygon", "coordinates": [ring(0, 0)]}),
        ],
    )
    with pytest.raises(CommandError, match="atlantis"):
        run(path, "--kind", "communities")
    assert Community.objects.get(slug="community-a").boundary.equals(before)
