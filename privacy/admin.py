"""Back office of privacy: policy versions, consents, exports, erasure requests, API keys.

Every change goes through the services (STYLE.md habit 15): confirming an erasure, creating
or revoking a key. A new key's full text is shown once, in the confirmation message.
"""

from django import forms
from django.contrib import admin, messages
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from accounts.models import Role
from core.admin import ScopedAdmin
from core.exceptions import DomainError
from privacy import apikeys, erasure
from privacy.models import ApiKey, Consent, ErasureRequest, ErasureStatus, ExportJob, PolicyVersion


class _ReadOnly(ScopedAdmin):
    def get_readonly_fields(self, request, obj=None):
        return [f.name for f in self.model._meta.fields]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(PolicyVersion)
class PolicyVersionAdmin(ScopedAdmin):
    """Admins publish versions; a version takes effect at `effective_at` (then must be accepted)."""

    staff_roles = ()
    list_display = ("version", "effective_at", "url", "created_at")


@admin.register(Consent)
class ConsentAdmin(_ReadOnly):
    staff_roles = ()
    list_display = ("user", "policy", "accepted_at", "withdrawn_at")
    list_filter = ("policy",)


@admin.register(ExportJob)
class ExportJobAdmin(_ReadOnly):
    staff_roles = ()
    list_display = ("id", "subject", "requested_by", "status", "size_bytes", "created_at", "finished_at")
    list_filter = ("status",)


@admin.register(ErasureRequest)
class ErasureRequestAdmin(_ReadOnly):
    staff_roles = (Role.VENDOR, Role.REFERENT)
    list_display = ("id", "subject", "status", "requested_at", "decided_by", "decided_at")
    list_filter = ("status",)
    actions = ["confirm", "reject"]

    def get_queryset(self, request):
        return ErasureRequest.objects.managed_by(request.user).select_related("subject", "decided_by")

    @admin.action(description=gettext_lazy("Confirm: erase these people now"))
    def confirm(self, request, queryset):
        self._decide(request, queryset, erasure.erasure_confirm)

    @admin.action(description=gettext_lazy("Reject these requests"))
    def reject(self, request, queryset):
        self._decide(request, queryset, erasure.erasure_reject)

    def _decide(self, request, queryset, service):
        done = 0
        for item in queryset.filter(status=ErasureStatus.PENDING):
            try:
                service(actor=request.user, request_id=item.pk)
                done += 1
            except DomainError as exc:
                self.message_user(request, f"#{item.pk}: {exc.message}", messages.ERROR)
        self.message_user(request, _("%(count)d request(s) decided.") % {"count": done})

    def has_change_permission(self, request, obj=None):
        # Actions need the change permission; the form itself stays read-only.
        return obj is None and self._has_role(request, self.staff_roles)


class ApiKeyForm(forms.ModelForm):
    class Meta:
        model = ApiKey
        fields = ["name", "access", "organization", "expires_at"]


@admin.register(ApiKey)
class ApiKeyAdmin(ScopedAdmin):
    staff_roles = (Role.VENDOR, Role.REFERENT)
    add_roles = (Role.VENDOR, Role.REFERENT)
    form = ApiKeyForm
    list_display = ("name", "prefix", "access", "organization", "created_by", "expires_at",
                    "last_used_at", "revoked_at")
    list_filter = ("access",)
    actions = ["revoke"]

    def get_readonly_fields(self, request, obj=None):
        if obj is None:
            return ()
        return [f.name for f in self.model._meta.fields]

    def has_delete_permission(self, request, obj=None):
        return False

    def save_model(self, request, obj, form, change):
        if change:
            return
        try:
            key, full = apikeys.api_key_create(
                actor=request.user, name=form.cleaned_data["name"], access=form.cleaned_data["access"],
                organization_id=getattr(form.cleaned_data.get("organization"), "pk", None),
                expires_at=form.cleaned_data.get("expires_at"))
        except DomainError as exc:
            # The form was valid; the service said no: show it and keep nothing.
            self.message_user(request, exc.message, messages.ERROR)
            raise _Refused from exc
        obj.pk = key.pk
        obj.refresh_from_db()
        self.message_user(request, _("The key (copy it now, it is not shown again): %(key)s") % {"key": full},
                          messages.WARNING)

    def add_view(self, request, form_url="", extra_context=None):
        try:
            return super().add_view(request, form_url, extra_context)
        except _Refused:
            from django.http import HttpResponseRedirect

            return HttpResponseRedirect(request.path)

    @admin.action(description=gettext_lazy("Revoke the selected keys"))
    def revoke(self, request, queryset):
        for key in queryset:
            try:
                apikeys.api_key_revoke(actor=request.user, key_id=key.pk)
            except DomainError as exc:
                self.message_user(request, exc.message, messages.ERROR)


class _Refused(Exception):
    pass
