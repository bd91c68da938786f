"""Back office for users and organizations, scoped by role (core.admin.ScopedAdmin).

The user forms enforce exactly the API's rules because they call the same services: the
change form validates through `accounts.services.user_update_check` and saves through
`user_update`; the password form saves through `user_set_password`; the add form through
`user_create`. Who may change whom is `User.objects.managed_by(actor)`: a user who is
visible but not manageable opens read-only, and their password form is a 403.
"""

from contextvars import ContextVar

from django import forms
from django.contrib import admin
from django.contrib.admin.utils import unquote
from django.contrib.auth.admin import UserAdmin as DjangoUserAdmin
from django.contrib.auth.forms import AdminPasswordChangeForm, AdminUserCreationForm, UserChangeForm
from django.core.exceptions import NON_FIELD_ERRORS, PermissionDenied
from django.http import Http404

from accounts import services
from accounts.models import Organization, Role, User
from core.admin import ScopedAdmin
from core.exceptions import DomainError, Forbidden, NotFound

# Fields only a platform admin may change: the rest of the staff could escalate with them.
ADMIN_ONLY_FIELDS = ("role", "organization", "is_superuser", "is_verified", "groups",
                     "user_permissions")
# What the change form hands to `user_update` (is_active follows status, as in the API).
FORM_SERVICE_FIELDS = (*services.STAFF_EDITABLE_FIELDS, *services.ADMIN_ONLY_FIELDS)

# The acting user of the password view, for its form's save (ModelAdmin instances are shared
# between requests, a context variable is not).
_actor: ContextVar = ContextVar("accounts_admin_actor")


def _form_errors(exc: DomainError, form) -> forms.ValidationError:
    if exc.details:
        return forms.ValidationError({
            (field if field in form.fields else NON_FIELD_ERRORS): messages
            for field, messages in exc.details.items()
        })
    return forms.ValidationError(exc.message)


class UserCreationForm(AdminUserCreationForm):
    class Meta:
        model = User
        fields = ("email", "username", "full_name", "role", "member_type", "user_type")


class UserEditForm(UserChangeForm):
    actor = None  # set per request by UserAdmin.get_form

    class Meta:
        model = User
        fields = "__all__"

    def service_data(self) -> dict:
        return {f: self.cleaned_data[f] for f in self.changed_data
                if f in FORM_SERVICE_FIELDS and f in self.cleaned_data}

    def clean(self):
        cleaned = super().clean()
        if self.actor is not None and self.instance.pk and not self.errors:
            original = User.objects.get(pk=self.instance.pk)
            try:
                services.user_update_check(actor=self.actor, user=original, data=self.service_data())
            except DomainError as exc:
                raise _form_errors(exc, self) from None
        return cleaned


class UserPasswordForm(AdminPasswordChangeForm):
    """Django's admin password form, saved through `accounts.services.user_set_password`."""

    def save(self, commit=True):
        password = self.cleaned_data["password1"] if self.cleaned_data["set_usable_password"] else None
        return services.user_set_password(actor=_actor.get(), user=self.user, password=password)


@admin.register(User)
class UserAdmin(ScopedAdmin, DjangoUserAdmin):
    form = UserEditForm
    add_form = UserCreationForm
    change_password_form = UserPasswordForm
    list_display = ("email", "full_name", "role", "member_type", "user_type", "status",
                    "organization", "is_verified", "is_active")
    list_filter = ("role", "member_type", "user_type", "status", "is_verified", "organization")
    search_fields = ("email", "full_name", "username", "fiscal_code")
    ordering = ("email",)
    readonly_fields = ("is_active", "last_login", "date_joined", "created_at", "updated_at")
    fieldsets = (
        (None, {"fields": ("email", "username", "password")}),
        ("Person", {"fields": ("full_name", "fiscal_code", "address", "preferences")}),
        ("Role and type", {"fields": ("role", "organization", "member_type", "user_type", "status",
                                      "is_verified", "is_active")}),
        ("Permissions", {"classes": ("collapse",),
                         "fields": ("is_superuser", "groups", "user_permissions")}),
        ("Dates", {"fields": ("last_login", "date_joined", "created_at", "updated_at")}),
    )
    add_fieldsets = (
        (None, {"classes": ("wide",),
                "fields": ("email", "username", "full_name", "role", "member_type", "user_type",
                           "password1", "password2")}),
    )
    # Vendors and referents view and edit people they manage; creating people goes
    # through the users API / portal flows that also place them in a community.
    add_roles = ()
    delete_roles = ()

    def get_readonly_fields(self, request, obj=None):
        fields = super().get_readonly_fields(request, obj)
        if request.user.is_platform_admin:
            return fields
        return (*fields, *ADMIN_ONLY_FIELDS)

    def get_form(self, request, obj=None, **kwargs):
        form = super().get_form(request, obj, **kwargs)
        if obj is not None:
            form = type(form.__name__, (form,), {"actor": request.user})
        return form

    def save_model(self, request, obj, form, change):
        if not change:
            user = services.user_create(
                actor=request.user, email=form.cleaned_data["email"],
                password=(form.cleaned_data.get("password1") or None)
                if form.cleaned_data.get("set_usable_password", True) else None,
                username=form.cleaned_data.get("username") or "",
                full_name=form.cleaned_data.get("full_name") or "",
                role=form.cleaned_data.get("role") or Role.USER,
                member_type=form.cleaned_data.get("member_type") or None,
                user_type=form.cleaned_data["user_type"],
            )
            obj.pk = user.pk
            obj.refresh_from_db()
            return
        original = User.objects.get(pk=obj.pk)
        updated = services.user_update(actor=request.user, user=original, data=form.service_data())
        obj.refresh_from_db()
        form.instance = obj
        return updated

    def user_change_password(self, request, id, form_url=""):
        user = self.get_object(request, unquote(id))
        if user is None:
            raise Http404("No such user.")
        if user.pk == request.user.pk and not request.user.is_platform_admin:
            # One's own password changes with the current one (/admin/password_change/).
            raise PermissionDenied
        if not self._manages(request, user):
            raise PermissionDenied
        token = _actor.set(request.user)
        try:
            return super().user_change_password(request, id, form_url)
        except (Forbidden, NotFound):
            raise PermissionDenied from None
        finally:
            _actor.reset(token)

    def formfield_for_dbfield(self, db_field, request, **kwargs):
        field = super().formfield_for_dbfield(db_field, request, **kwargs)
        if db_field.name == "preferences" and field is not None:
            field.widget = forms.Textarea(attrs={"rows": 3})
        return field


@admin.register(Organization)
class OrganizationAdmin(ScopedAdmin):
    list_display = ("name", "slug", "vat_number", "created_at")
    search_fields = ("name", "slug", "vat_number")
    prepopulated_fields = {"slug": ("name",)}
    staff_roles = (Role.VENDOR,)
