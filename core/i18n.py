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


def project_models():
    """The models of the project's own apps (not Django's or third parties', which carry their
    own translations)."""
    from django.apps import apps

    root = str(settings.BASE_DIR)
    for config in apps.get_app_configs():
        if config.path.startswith(root) and "/.venv/" not in config.path:
            yield from config.get_models()


# the names translate_model_names() made catalogue lookups of (for the translation test)
WRAPPED_NAMES: set[str] = set()


def translate_model_names() -> None:
    """The back office in the user's language (issue 11): the project's model and field
    names (Django derives them from the code, in English) become catalogue lookups made at
    display time. Only the display attributes change: migrations keep the original ones
    (`Field._verbose_name`, `Options.original_attrs`), so no migration follows from it.
    `core/tests/test_translations.py` fails on a name without its Italian translation."""
    from django.utils.functional import Promise
    from django.utils.translation import gettext_lazy

    def lazy(value):
        if isinstance(value, Promise) or not value:
            return value  # already translatable (Django's own fields), or nothing to show
        WRAPPED_NAMES.add(str(value))
        return gettext_lazy(str(value))

    for model in project_models():
        meta = model._meta
        meta.verbose_name = lazy(meta.verbose_name)
        # Django derives the plural lazily ("<name>s"): look the derived text up as it is
        plural = meta.verbose_name_plural
        explicit = "verbose_name_plural" in meta.original_attrs
        meta.verbose_name_plural = lazy(plural if explicit else str(plural))
        for f in meta.get_fields():
            if getattr(f, "verbose_name", None) and not f.auto_created:
                f.verbose_name = lazy(f.verbose_name)
