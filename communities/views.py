"""Portal pages: "My community" (map, member count, installed kWp), "My metering points" and
the invitations to join a community (accept or decline)."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_http_methods

from communities import selectors, services
from communities.geo import to_geojson
from core.exceptions import Conflict, Invalid, NotFound
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


@login_required
def my_invitations(request):
    """Invitations to join a community addressed to the logged-in person's email."""
    invitations = selectors.invitation_list_for(user=request.user)
    return render(request, "communities/invitations.html", {"invitations": invitations})


@login_required
@require_http_methods(["GET", "POST"])
def invitation(request, token):
    """The page the invitation email links to: accept or decline. Someone else's or an
    unknown token is a 404; an answered or expired invitation says so (409)."""
    try:
        obj = services.invitation_for(user=request.user, token=token)
    except NotFound:
        raise Http404("No such invitation.") from None
    error = None
    if request.method == "POST":
        try:
            if request.POST.get("answer") == "accept":
                membership = services.invitation_accept(user=request.user, token=token)
                messages.success(request, f"Welcome to {membership.community.name}.")
                return redirect("communities:community", pk=membership.community_id)
            services.invitation_decline(user=request.user, token=token)
            messages.info(request, "Invitation declined.")
            return redirect("communities:my_invitations")
        except (Invalid, Conflict) as exc:
            error = exc.message
            obj.refresh_from_db()
    status = 409 if error else 200
    return render(request, "communities/invitation.html", {"invitation": obj, "error": error}, status=status)
