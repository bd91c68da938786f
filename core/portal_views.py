"""Portal pages of core: the homes (member, referent) and the language switch."""

from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpResponseRedirect
from django.shortcuts import render
from django.utils import translation
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_POST

from core import home, home_cards


@login_required
def home_page(request):
    """A referent (or vendor, admin) who manages a community sees its home (`?community=`
    picks one); everyone else, and a manager with `?view=member`, the member home."""
    communities = list(home.managed_communities(request.user))
    raw = request.GET.get("community", "")
    if raw and not raw.isdigit():
        raise Http404
    if communities and request.GET.get("view") != "member":
        chosen = next((c for c in communities if str(c.pk) == raw), None) if raw else communities[0]
        if chosen is None:
            raise Http404
        ctx = home.referent_home(request.user, chosen)
        ctx.update(communities=communities, cards=home_cards.render_cards("referent", request))
        return render(request, "portal/home_referent.html", ctx)
    ctx = home.member_home(request.user)
    ctx.update(is_manager=bool(communities), cards=home_cards.render_cards("member", request))
    return render(request, "portal/home_member.html", ctx)


def language_save(user, language: str) -> None:
    """Service: the user's chosen portal language, in their `preferences` JSON."""
    prefs = dict(user.preferences or {})
    prefs["language"] = language
    user.preferences = prefs
    user.save(update_fields=["preferences"])


@require_POST
def set_language(request):
    """Switch it/en: Django's language cookie, and the user's preferences when logged in."""
    language = request.POST.get("language", "")
    if language not in dict(settings.LANGUAGES):
        raise Http404
    nxt = request.POST.get("next") or "/"
    if not url_has_allowed_host_and_scheme(nxt, allowed_hosts={request.get_host()},
                                           require_https=request.is_secure()):
        nxt = "/"
    if request.user.is_authenticated:
        language_save(request.user, language)
    translation.activate(language)
    response = HttpResponseRedirect(nxt)
    response.set_cookie(settings.LANGUAGE_COOKIE_NAME, language, max_age=365 * 24 * 3600,
                        samesite="Lax", secure=request.is_secure())
    return response
