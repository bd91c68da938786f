"""Portal pages of the accounts app (server-rendered)."""

from django.contrib.auth.decorators import login_required
from django.shortcuts import render


@login_required
def dashboard(request):
    return render(request, "portal/dashboard.html")


@login_required
def profile(request):
    return render(request, "portal/profile.html")
