"""Portal pages: "My community" (map, member count, installed kWp) and "My metering points"."""

from django.contrib.auth.decorators import login_required
from django.shortcuts import get_object_or_404, redirect, render

from communities import selectors
from communities.geo import to_geojson
from plants.selectors import plant_list


@login_required
def my_communities(request):
    communities = list(selectors.community_list(user=request.user).order_by("name"))
    if len(communities) == 1:
        return redirect("communities:community", pk=communities[0].pk)
    return render(request, "communities/my_communities.html", {"communities": communities})


@login_required
def community(request, pk):
    obj = get_object_or_404(selectors.community_list(user=request.user), pk=pk)
    managed = obj.pk in selectors.community_managed_ids(user=request.user)
    # Managers see every plant; a member sees their own (others' are personal data).
    plants = list(plant_list(user=request.user).filter(community=obj).order_by("name"))
    # PODs: a manager sees every POD of the community, a member their own
    pods = selectors.metering_point_list(user=request.user).filter(
        membership__community=obj, location__isnull=False).order_by("code")
    features = {
        "boundary": to_geojson(obj.boundary),
        "plants": {"type": "FeatureCollection", "features": [
            {"type": "Feature", "geometry": to_geojson(p.location),
             "properties": {"name": p.name, "capacity_kwp": float(p.capacity_kwp)}} for p in plants]},
        "pods": {"type": "FeatureCollection", "features": [
            {"type": "Feature", "geometry": to_geojson(m.location), "properties": {"code": m.code}}
            for m in pods]},
    }
    return render(request, "communities/community.html", {
        "community": obj, "plants": plants, "managed": managed, "map_data": features,
    })


@login_required
def my_metering_points(request):
    points = selectors.metering_point_list(user=request.user).order_by("membership__community__name", "code")
    return render(request, "communities/my_metering_points.html", {"points": points})
