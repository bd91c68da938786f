"""Portal pages of the accounts app (server-rendered)."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from rest_framework.exceptions import ValidationError

from accounts import services
from accounts.forms import ProfileForm


@login_required
def dashboard(request):
    from core.portal_views import home_page  # the homes (issue 11) live in core

    return home_page(request)


@login_required
def profile(request):
    form = ProfileForm.for_user(request.user, request.POST if request.method == "POST" else None)
    if request.method == "POST" and form.is_valid():
        try:
            services.user_profile_update(user=request.user, data=form.cleaned_data)
        except ValidationError as exc:
            for field, errors in exc.detail.items():
                form.add_error(field if field in form.fields else None, [str(e) for e in errors])
        else:
            messages.success(request, _("Profile saved."))
            return redirect("portal:profile")
    return render(request, "portal/profile.html", {"form": form},
                  status=400 if form.errors else 200)
