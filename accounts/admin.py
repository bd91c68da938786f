"""Back office for users and organizations, scoped by role (core.admin.ScopedAdmin)."""

from django import forms
from django.contrib import admin
from django.contrib.auth.admin import UserAdmin as DjangoUserAdmin
from django.contrib.auth.forms import AdminUserCreationForm, UserChangeForm

from accounts.models import Organization, User
from core.admin import ScopedAdmin

# Fields only a platform admin may change: the rest of the staff could escalate with them.
ADMIN_ONLY_FIELDS = ("role", "organization", "is_superuser", "groups", "user_permissions")


class UserCreationForm(AdminUserCreationForm):
    class Meta:
        model = User
        fields = ("email", "username", "full_name", "role", "member_type", "user_type")


class UserEditForm(UserChangeForm):
    class Meta:
        model = User
        fields = "__all__"


@admin.register(User)
class UserAdmin(ScopedAdmin, DjangoUserAdmin):
    form = UserEditForm
    add_form = UserCreationForm
    list_display = ("email", "full_name", "role", "member_type", "user_type", "status",
                    "organization", "is_verified", "is_active")
    list_filter = ("role", "member_type", "user_type", "status", "is_verified", "organization")
    search_fields = ("email", "full_name", "username", "fiscal_code")
    ordering = ("email",)
    readonly_fields = ("last_login", "date_joined", "created_at", "updated_at")
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
    # Vendors and referents view and edit people in their scope; creating people goes
    # through the users API / portal flows that also place them in a community.
    add_roles = ()
    delete_roles = ()

    def get_readonly_fields(self, request, obj=None):
        fields = super().get_readonly_fields(request, obj)
        if request.user.is_platform_admin:
            return fields
        return (*fields, *ADMIN_ONLY_FIELDS)

    def save_model(self, request, obj, form, change):
        if "status" in form.changed_data:
            obj.is_active = obj.status != "suspended"  # as accounts.services does
        super().save_model(request, obj, form, change)

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
    staff_roles = ("vendor",)
