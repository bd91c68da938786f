"""Portal pages of the accounts app (server-rendered)."""

from django import forms
from django.contrib import messages
from django.contrib.auth import login
from django.contrib.auth.decorators import login_required
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _

from accounts import services
from accounts.forms import ProfileForm
from accounts.throttles import AuthRateThrottle
from core.exceptions import Invalid


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
        except Invalid as exc:
            for field, errors in exc.details.items():
                form.add_error(field if field in form.fields else None, [str(e) for e in errors])
        else:
            messages.success(request, _("Profile saved."))
            return redirect("portal:profile")
    return render(request, "portal/profile.html", {"form": form},
                  status=400 if form.errors else 200)


class _EmailForm(forms.Form):
    email = forms.EmailField()


def login_link_request(request):
    """The web way past a lockout: ask for a one-time login link (same answer for any email)."""
    form = _EmailForm(request.POST if request.method == "POST" else None)
    sent = False
    if request.method == "POST":
        throttle = AuthRateThrottle()
        if not throttle.allow_request(request, None):
            return render(request, "error.html", {"status": 429, "message": "Too many requests; "
                          "try again later."}, status=429)
        if form.is_valid():
            services.login_link_request(email=form.cleaned_data["email"])
            sent, form = True, _EmailForm()
    return render(request, "portal/login_link.html", {"form": form, "sent": sent},
                  status=400 if form.errors else 200)


def login_link_confirm(request):
    """GET shows a button (mail scanners follow links), POST spends the link and logs in."""
    token = request.POST.get("token") or request.GET.get("token", "")
    if request.method == "POST":
        try:
            user = services.login_link_confirm(token=token)
        except Invalid as exc:
            return render(request, "portal/login_link.html", {"form": _EmailForm(), "error": exc.message},
                          status=400)
        login(request, user, backend="accounts.backends.LockoutModelBackend")
        return redirect("portal:dashboard")
    return render(request, "portal/login_link.html", {"token": token})
