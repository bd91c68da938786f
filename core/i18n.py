"""The user's chosen language (preferences["language"]) wins over the browser's.

LocaleMiddleware picks the language from the cookie, else Accept-Language. Once logged in,
the language saved in the profile applies on every device: this middleware (after the
authentication middleware) activates it and refreshes the cookie when it differs."""

from django.conf import settings
from django.utils import translation


class UserLanguageMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        user = getattr(request, "user", None)
        chosen = None
        if user is not None and user.is_authenticated:
            chosen = (user.preferences or {}).get("language")
            if chosen not in dict(settings.LANGUAGES):
                chosen = None
        if chosen and chosen != translation.get_language():
            translation.activate(chosen)
            request.LANGUAGE_CODE = chosen
        response = self.get_response(request)
        if chosen and request.COOKIES.get(settings.LANGUAGE_COOKIE_NAME) != chosen:
            response.set_cookie(settings.LANGUAGE_COOKIE_NAME, chosen, max_age=365 * 24 * 3600,
                                samesite="Lax")
        return response


def language_of(user) -> str:
    """The language to write to `user` in (emails, notifications): their saved choice, else
    the site's default."""
    chosen = (getattr(user, "preferences", None) or {}).get("language") if user is not None else None
    return chosen if chosen in dict(settings.LANGUAGES) else settings.LANGUAGE_CODE
