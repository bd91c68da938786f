"""The portal side of consent: a signed-in person who has not accepted the privacy policy in
force is sent to the privacy page (which then returns them where they were going).

The API answers 403 `ConsentRequired` instead (privacy.consent.PolicyAccepted). Left alone:
the API, the back office (staff accept on their own privacy page like everyone), the
account pages (log out, password), static files, health and metrics, and the privacy
page itself."""

from urllib.parse import urlencode

from django.shortcuts import redirect

from core.middleware import _BothModes

_OPEN = ("/api/", "/admin/", "/accounts/", "/static/", "/privacy/", "/i18n/", "/health", "/metrics",
         "/media/")


class ConsentMiddleware(_BothModes):
    def __call__(self, request):
        if self.is_async:
            return self._acall(request)
        return self._answer(request) or self.get_response(request)

    async def _acall(self, request):
        from asgiref.sync import sync_to_async

        answer = await sync_to_async(self._answer)(request)
        return answer or await self.get_response(request)

    def _answer(self, request):
        from privacy.consent import consent_missing

        if request.method != "GET" or request.path.startswith(_OPEN):
            return None
        user = getattr(request, "user", None)
        if user is None or not user.is_authenticated or not consent_missing(user):
            return None
        return redirect(f"/privacy/?{urlencode({'next': request.get_full_path()})}")
