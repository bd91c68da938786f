"""Portal page "My plants": the plants the user can see, with their assets."""

from django.contrib.auth.decorators import login_required
from django.shortcuts import render

from plants.selectors import plant_list


@login_required
def my_plants(request):
    plants = plant_list(user=request.user).order_by("community__name", "name")
    return render(request, "plants/my_plants.html", {"plants": plants})
